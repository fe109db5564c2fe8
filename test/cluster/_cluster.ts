/**
 * A cluster of real relay processes for tests: N relays on one freshly created PostgreSQL database and
 * one Redis (a random key prefix), each on its own port, sharing one log key; migrated once with the
 * real `nano-relay migrate` first, as docs/cluster.md says.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "smol-toml";
import type { RelayConfig } from "../../src/relay/config/schema.ts";
import { tempDir, testConfig } from "../relay/fixtures/harness.ts";
import { http, RelayProcess } from "../relay/fixtures/processes.ts";
import {
  createTestDatabase,
  PrivateRedis,
  REDIS_URL,
  randomName,
  type TestDatabase,
} from "../support/services.ts";

const BIN = new URL("../../bin/nano-relay.js", import.meta.url).pathname;

export interface ClusterOptions {
  readonly relays: number;
  /** Redis URL (default: the machine's shared Redis); null for relays without Redis. */
  readonly redisUrl?: string | null;
  readonly overrides?: Parameters<typeof testConfig>[0];
  /**
   * The URL the relay processes use for the test database (default: its own; a proxy in front of it,
   * say). `migrate` and `cli` always use the database's own URL.
   */
  readonly postgresUrl?: (databaseUrl: string) => string;
}

export class TestCluster {
  readonly dir: string;
  readonly database: TestDatabase;
  readonly prefix: string;
  readonly relays: RelayProcess[];
  readonly config: RelayConfig;

  private constructor(
    dir: string,
    database: TestDatabase,
    prefix: string,
    config: RelayConfig,
    count: number,
    relayConfig: RelayConfig,
  ) {
    this.dir = dir;
    this.database = database;
    this.prefix = prefix;
    this.config = config;
    this.relays = Array.from({ length: count }, (_, i) => {
      const relayDir = join(dir, `relay${i}`);
      mkdirSync(relayDir, { recursive: true });
      return new RelayProcess(relayConfig, relayDir);
    });
  }

  static async create(options: ClusterOptions): Promise<TestCluster> {
    const dir = tempDir("cluster");
    const database = await createTestDatabase("nano_cluster");
    const prefix = randomName("t");
    const redisUrl = options.redisUrl === undefined ? REDIS_URL : options.redisUrl;
    const overrides = options.overrides ?? {};
    const config = testConfig(
      {
        ...overrides,
        storage: {
          backend: "postgres",
          postgres_url: database.url,
          ...(overrides.storage ?? {}),
        },
        cluster: {
          ...(redisUrl === null ? {} : { redis_url: redisUrl }),
          key_prefix: prefix,
          ...(overrides.cluster ?? {}),
        },
        compliance: { log_key_file: join(dir, "log-key.json"), ...(overrides.compliance ?? {}) },
      },
      dir,
    );
    // The relays may reach the database another way than the CLI (which runs synchronously, so it
    // could not go through a proxy living in the test's own process).
    const relayConfig =
      options.postgresUrl === undefined
        ? config
        : { ...config, storage: { ...config.storage, postgres_url: options.postgresUrl(database.url) } };
    const cluster = new TestCluster(dir, database, prefix, config, options.relays, relayConfig);
    cluster.migrate();
    return cluster;
  }

  /** `nano-relay migrate` with the cluster's configuration; returns its output. */
  migrate(...args: string[]): string {
    const result = this.cli("migrate", ...args);
    if (result.status !== 0)
      throw new Error(`migrate failed (${result.status}): ${result.stderr}${result.stdout}`);
    return result.stdout;
  }

  /** Runs `nano-relay COMMAND ... --config <the cluster's configuration>`. */
  cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
    const file = join(this.dir, "cluster.toml");
    writeFileSync(file, stringify(this.config as unknown as Record<string, unknown>));
    // Bounded: a command that hangs fails its test (status null) instead of the whole run.
    return spawnSync(process.execPath, [BIN, ...args, "--config", file], {
      encoding: "utf8",
      timeout: 60_000,
    });
  }

  async start(): Promise<void> {
    await Promise.all(this.relays.map((relay) => relay.start()));
  }

  /** Waits until every running relay reports ready (Redis subscribed, PostgreSQL answering). */
  async ready(timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (const relay of this.relays) {
      if (relay.exitCode !== null || relay.exitSignal !== null || relay.ports === null) continue;
      for (;;) {
        const answer = await http(relay.url, "GET", "/readyz").catch(() => null);
        if (answer?.status === 200) break;
        if (Date.now() > deadline) throw new Error(`relay not ready: ${JSON.stringify(answer?.json)}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.relays.map((relay) => relay.stop()));
    await this.database.drop();
  }
}

/**
 * Two started, ready relays on the test's own Redis (its faults touch no other test) with the safety
 * poll at an hour, so only Redis wake-ups and re-checks can deliver what a test waits for.
 */
export async function clusterOnPrivateRedis(): Promise<{ redis: PrivateRedis; cluster: TestCluster }> {
  const redis = await PrivateRedis.start();
  const cluster = await TestCluster.create({
    relays: 2,
    redisUrl: redis.url,
    overrides: { cluster: { safety_poll_seconds: 3600 } },
  });
  await cluster.start();
  await cluster.ready();
  return { redis, cluster };
}
