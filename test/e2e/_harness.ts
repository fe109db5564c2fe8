import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * End-to-end harness: a real `nano-relay` process (bin/nano-relay.js, the production start path
 * with the protocol's real verifier) on loopback with SQLite in a temp folder, and real `nano-client`
 * processes (bin/nano-client.js) run by this same Node binary. Every wait is bounded.
 */
export const REPO_ROOT = new URL("../../", import.meta.url).pathname;
const RELAY_BIN = join(REPO_ROOT, "bin/nano-relay.js");
const CLIENT_BIN = join(REPO_ROOT, "bin/nano-client.js");
export const PASSPHRASE = "e2e correct horse battery";
export const MIN_KDF = ["--kdf-memory", "19456", "--kdf-passes", "2"] as const;

export async function withTempDir<T>(run: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), "nano-e2e-"));
  try {
    return await run(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export interface RelayTls {
  readonly cert: string;
  readonly key: string;
}

function relayConfig(
  dir: string,
  port: number,
  tls: RelayTls | null,
  extra: string,
  security: string,
): string {
  // Classical is allowed here so all three modes can be exercised; production relays default higher.
  return `environment = "testing"
[server]
bind_address = "127.0.0.1"
api_port = ${port}
websocket_port = ${port}
shutdown_grace_seconds = 2
[server.tls]
${tls === null ? "enabled = false" : `enabled = true\ncert_file = "${tls.cert}"\nkey_file = "${tls.key}"`}
[security]
${security.includes("minimum_crypto_mode") ? "" : 'minimum_crypto_mode = "classical"\n'}require_post_quantum = false
${security}
[storage]
backend = "sqlite"
path = "${join(dir, "relay.sqlite")}"
blob_dir = "${join(dir, "blobs")}"
[limits.rate]
# Every CLI run logs in once, all from loopback: a scenario with several users needs more than 30/min.
auth_per_minute = 1000
[monitoring]
log_level = "silent"
metrics_enabled = true
${extra}`;
}

/** How long a relay process gets to write its port file (as test/relay/fixtures/processes.ts). */
const START_TIMEOUT_MS = 120_000;

export class Relay {
  readonly dir: string;
  readonly tls: RelayTls | null;
  /** More TOML for the relay's config (e.g. a `[limits]` table), appended as is. */
  readonly extraConfig: string;
  /** More keys for the relay's `[security]` table (e.g. `minimum_crypto_mode = "hybrid"`). */
  readonly security: string;
  port = 0;
  #child: ChildProcess | null = null;
  #exited: Promise<void> = Promise.resolve();
  output = "";

  constructor(dir: string, tls: RelayTls | null = null, extraConfig = "", security = "") {
    this.dir = dir;
    this.tls = tls;
    this.extraConfig = extraConfig;
    this.security = security;
  }

  get url(): string {
    return `${this.tls === null ? "http" : "https"}://127.0.0.1:${this.port}`;
  }

  /** Starts (or restarts, on the same port and data) and waits for the port file. */
  async start(): Promise<void> {
    const configFile = join(this.dir, "relay.toml");
    const portFile = join(this.dir, "ports.json");
    writeFileSync(configFile, relayConfig(this.dir, this.port, this.tls, this.extraConfig, this.security));
    rmSync(portFile, { force: true });
    const child = spawn(
      process.execPath,
      [RELAY_BIN, "start", "--config", configFile, "--port-file", portFile],
      {
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    this.#child = child;
    let exited = false;
    this.#exited = new Promise((resolve) =>
      child.on("exit", () => {
        exited = true;
        resolve();
      }),
    );
    child.stdout?.on("data", (chunk: Buffer) => {
      this.output += chunk.toString();
    });
    child.stderr?.on("data", (chunk: Buffer) => {
      this.output += chunk.toString();
    });
    // Bounded by time, not by polls: on a loaded machine (load 15) a start took more than 10 s.
    for (const deadline = Date.now() + START_TIMEOUT_MS; Date.now() < deadline && !exited; ) {
      if (existsSync(portFile)) {
        this.port = (JSON.parse(readFileSync(portFile, "utf8")) as { api_port: number }).api_port;
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    // A relay that did not start in time must not outlive the test (it held the test process open).
    child.kill("SIGKILL");
    await this.#exited;
    this.#child = null;
    throw new Error(`relay did not start:\n${this.output}`);
  }

  /** SIGKILL: no drain, no goodbye; `start()` restarts it on the same port and data. */
  async kill(): Promise<void> {
    const child = this.#child;
    if (child === null || child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGKILL");
    await this.#exited;
    this.#child = null;
  }

  /** The relay's Prometheus counters: `name{labels}` -> value. */
  async metrics(): Promise<Map<string, number>> {
    const text = await (await fetch(`${this.url}/metrics`)).text();
    const values = new Map<string, number>();
    for (const line of text.split("\n")) {
      if (line.startsWith("#") || line.trim() === "") continue;
      const space = line.lastIndexOf(" ");
      values.set(line.slice(0, space), Number(line.slice(space + 1)));
    }
    return values;
  }

  async stop(): Promise<void> {
    const child = this.#child;
    if (child === null || child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    await this.#exited;
    clearTimeout(timer);
    this.#child = null;
  }
}

export async function withRelay<T>(
  run: (relay: Relay, dir: string) => Promise<T>,
  extraConfig = "",
  security = "",
): Promise<T> {
  return withTempDir(async (dir) => {
    const relay = new Relay(dir, null, extraConfig, security);
    await relay.start();
    try {
      return await run(relay, dir);
    } finally {
      await relay.stop();
    }
  });
}

export interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliOptions {
  readonly input?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly timeoutMs?: number;
}

/** Runs `nano-client ARGS` to completion (killed after timeoutMs) with the test passphrase. */
export function cli(args: readonly string[], options: CliOptions = {}): Promise<Run> {
  const env: NodeJS.ProcessEnv = { ...process.env, NANO_PASSPHRASE: PASSPHRASE, ...options.env };
  delete env.NANO_CLIENT_HOME;
  for (const [key, value] of Object.entries(options.env ?? {})) if (value === undefined) delete env[key];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLIENT_BIN, ...args], { env, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 60_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.input ?? "");
  });
}

/** Runs and requires exit 0; returns stdout parsed as JSON lines (use with --json). */
export async function ok(args: readonly string[], options: CliOptions = {}): Promise<unknown[]> {
  const run = await cli(args, options);
  if (run.code !== 0) {
    throw new Error(`nano-client ${args.join(" ")} exited ${run.code}\n${run.stdout}\n${run.stderr}`);
  }
  return run.stdout
    .split("\n")
    .filter((line) => line.trim().startsWith("{"))
    .map((line) => JSON.parse(line) as unknown);
}

/** A user: a home directory and the commands run in it with --json. */
export class User {
  readonly home: string;
  readonly name: string;

  constructor(dir: string, name: string) {
    this.home = join(dir, name);
    this.name = name;
  }

  run(args: readonly string[], options: CliOptions = {}): Promise<Run> {
    return cli(["--home", this.home, "--json", ...args], options);
  }

  json(args: readonly string[], options: CliOptions = {}): Promise<unknown[]> {
    return ok(["--home", this.home, "--json", ...args], options);
  }

  async setUp(relay: Relay, mode: string): Promise<void> {
    // The cheapest keystore work factor the bounds allow: the tests exercise behaviour, not argon2id.
    await this.json(["--relay", relay.url, "init", "--crypto-mode", mode, ...MIN_KDF]);
    await this.json(["claim-username", this.name]);
  }

  async send(to: string, text: string, extra: readonly string[] = []): Promise<SendLine> {
    const [line] = await this.json(["send", to, text, ...extra]);
    return line as SendLine;
  }

  async receive(): Promise<MessageLine[]> {
    // Message lines only (a held-back message from a changed identity prints a notice line instead).
    return ((await this.json(["receive"])) as Partial<MessageLine>[]).filter(
      (line): line is MessageLine => typeof line.text === "string",
    );
  }

  async safetyNumber(peer: string): Promise<string> {
    const [line] = await this.json(["verify", peer]);
    return (line as { safetyNumber: string }).safetyNumber;
  }
}

export interface SendLine {
  readonly clientMessageId: string;
  readonly suite: string;
  readonly queued: boolean;
  readonly newSession: boolean;
  readonly envelopeBytes: number;
}

export interface MessageLine {
  readonly sender: string;
  readonly suite: string;
  readonly text: string;
  readonly messageId: string;
}

export function errorOf(run: Run): { code: string; message: string; hint: string } {
  const line = run.stdout.split("\n").find((l) => l.includes('"error"'));
  if (line === undefined) throw new Error(`no JSON error in: ${run.stdout}${run.stderr}`);
  return (JSON.parse(line) as { error: { code: string; message: string; hint: string } }).error;
}

/**
 * Runs `receive --watch --json` for `user` until a message with `untilText` arrived (bounded), then
 * stops it with SIGTERM; `during` runs while it watches. Returns the texts and the exit code.
 */
export async function watchUntil(
  user: User,
  untilText: string,
  during: () => Promise<void>,
): Promise<{ texts: string[]; code: number | null }> {
  const watcher = spawn(process.execPath, [CLIENT_BIN, "--home", user.home, "--json", "receive", "--watch"], {
    env: { ...process.env, NANO_PASSPHRASE: PASSPHRASE },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  watcher.stdout.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  const closed = new Promise<number | null>((resolve) => watcher.on("close", resolve));
  try {
    await during();
    for (let i = 0; i < 400 && !output.includes(untilText); i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    watcher.kill("SIGTERM");
  }
  const code = await closed;
  // Message lines only: delivery receipts for what `user` sent earlier arrive as `{"receipt"}` lines.
  const texts = output
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as { text?: string })
    .flatMap((line) => (line.text === undefined ? [] : [line.text]));
  return { texts, code };
}

/** Users named `names`, each initialised in `mode` and claimed at `relay`, set up concurrently. */
export async function setUpUsers(
  relay: Relay,
  dir: string,
  mode: string,
  ...names: readonly string[]
): Promise<User[]> {
  const users = names.map((name) => new User(dir, name));
  await Promise.all(users.map((user) => user.setUp(relay, mode)));
  return users;
}
