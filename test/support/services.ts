/**
 * The machine's real PostgreSQL and Redis for tests (README "Testing"; .ci/run starts them). Every test
 * file isolates itself: a database of its own with a random name, dropped at the end, and random Redis
 * key and channel prefixes. Nothing here ever drops or flushes what it did not create.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";

export const POSTGRES_URL = process.env.NANO_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test";
export const REDIS_URL = process.env.NANO_TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

export function randomName(prefix: string): string {
  return `${prefix}_${randomBytes(6).toString("hex")}`;
}

/** `url` with its database replaced. */
export function databaseUrl(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

export interface TestDatabase {
  readonly name: string;
  readonly url: string;
  drop(): Promise<void>;
}

/** A freshly created, empty database; `drop()` removes it (and ends its leftover connections). */
export async function createTestDatabase(prefix = "nano_test"): Promise<TestDatabase> {
  const name = randomName(prefix);
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  let dropped = false;
  return {
    name,
    url: databaseUrl(POSTGRES_URL, name),
    async drop() {
      if (dropped) return;
      dropped = true;
      const client = new pg.Client({ connectionString: POSTGRES_URL });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

/**
 * A redis-server of the test's own on a free loopback port, for tests that kill or restart Redis: the
 * shared one serves every engineer's tests at once and must never be disturbed.
 */
export class PrivateRedis {
  readonly port: number;
  #child: import("node:child_process").ChildProcess | null = null;

  private constructor(port: number) {
    this.port = port;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(): Promise<PrivateRedis> {
    const { createServer } = await import("node:net");
    const port = await new Promise<number>((resolve, reject) => {
      const probe = createServer();
      probe.once("error", reject);
      probe.listen(0, "127.0.0.1", () => {
        const address = probe.address() as import("node:net").AddressInfo;
        probe.close(() => resolve(address.port));
      });
    });
    const redis = new PrivateRedis(port);
    await redis.restart();
    return redis;
  }

  /** Starts the server (again, on the same port) and waits until it answers PING. */
  async restart(): Promise<void> {
    const { spawn } = await import("node:child_process");
    this.#child = spawn(
      "redis-server",
      ["--port", String(this.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
      { stdio: "ignore" },
    );
    const { createConnection } = await import("node:net");
    for (let i = 0; i < 200; i++) {
      const pong = await new Promise<boolean>((resolve) => {
        const socket = createConnection(this.port, "127.0.0.1");
        socket.once("error", () => resolve(false));
        socket.once("data", (data) => {
          socket.destroy();
          resolve(data.toString().startsWith("+PONG"));
        });
        socket.write("PING\r\n");
      });
      if (pong) return;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    throw new Error(`redis-server did not start on port ${this.port}`);
  }

  /** Kills the server (SIGKILL: nothing flushed, every connection cut). */
  async kill(): Promise<void> {
    const child = this.#child;
    if (child === null || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGKILL");
    await exited;
    this.#child = null;
  }

  /**
   * Freezes the server (SIGSTOP): connections stay open and commands get no answer, as with a hung
   * host or a network that drops packets. `resume` thaws it.
   */
  pause(): void {
    this.#child?.kill("SIGSTOP");
  }

  resume(): void {
    this.#child?.kill("SIGCONT");
  }

  /** Sends one command (inline protocol) and returns the raw reply. */
  async command(line: string): Promise<string> {
    const { createConnection } = await import("node:net");
    return new Promise((resolve, reject) => {
      const socket = createConnection(this.port, "127.0.0.1");
      socket.once("error", reject);
      socket.once("data", (data) => {
        socket.destroy();
        resolve(data.toString());
      });
      socket.write(`${line}\r\n`);
    });
  }
}
