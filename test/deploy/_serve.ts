import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "smol-toml";
import type { RelayConfig } from "../../src/relay/config/schema.ts";

const BIN = new URL("../../bin/nano-relay.js", import.meta.url).pathname;

export interface ServePorts {
  readonly api_port: number;
  readonly websocket_port: number;
  readonly api_url: string;
  readonly websocket_url: string;
  readonly pid: number;
  readonly control: string;
}

export interface CommandResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `nano-relay ARGS` to completion (the project's Node 24, the real entry point). */
export function nanoRelay(
  args: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<CommandResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

/** `nano-relay serve --instances N` in its own process, on a configuration written to `dir`. */
export class ServeProcess {
  readonly dir: string;
  readonly configFile: string;
  readonly portFile: string;
  readonly control: string;
  child: ChildProcess | null = null;
  ports: ServePorts | null = null;
  output = "";
  exitCode: number | null = null;
  #exited: Promise<void> = Promise.resolve();

  constructor(config: RelayConfig, dir: string) {
    this.dir = dir;
    this.configFile = join(dir, "relay.toml");
    this.portFile = join(dir, "serve.json");
    this.control = join(dir, "control.sock");
    this.writeConfig(config);
  }

  /** What the next deploy reads ("the configuration now on disk"). */
  writeConfig(config: RelayConfig): void {
    writeFileSync(this.configFile, stringify(config as unknown as Record<string, unknown>));
  }

  get url(): string {
    return this.ports!.api_url;
  }

  get wsUrl(): string {
    return this.ports!.websocket_url;
  }

  /** `detached`: in a process group of its own (as under a terminal), for signals to the group. */
  async start(
    instances: number,
    env: NodeJS.ProcessEnv = process.env,
    options: { detached?: boolean } = {},
  ): Promise<ServePorts> {
    rmSync(this.portFile, { force: true });
    const child = spawn(
      process.execPath,
      [
        BIN,
        "serve",
        "--instances",
        String(instances),
        "--config",
        this.configFile,
        "--control",
        this.control,
        "--port-file",
        this.portFile,
      ],
      { env, stdio: ["ignore", "pipe", "pipe"], detached: options.detached === true },
    );
    this.child = child;
    child.stdout?.on("data", (chunk: Buffer) => {
      this.output += chunk.toString();
    });
    child.stderr?.on("data", (chunk: Buffer) => {
      this.output += chunk.toString();
    });
    this.#exited = new Promise((resolve) =>
      child.on("exit", (code) => {
        this.exitCode = code;
        resolve();
      }),
    );
    // Generous: three relays starting one after another on a loaded 2-core machine.
    const deadline = Date.now() + 180_000;
    while (Date.now() < deadline) {
      if (existsSync(this.portFile)) {
        this.ports = JSON.parse(readFileSync(this.portFile, "utf8")) as ServePorts;
        return this.ports;
      }
      if (this.exitCode !== null) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`serve did not start:\n${this.output}`);
  }

  /** The supervisor's state (status --control --json). */
  async status(): Promise<{
    generation: number;
    workers: {
      id: number;
      generation: number;
      pid: number;
      state: string;
      ready: boolean | null;
      connections: number | null;
      restarts: number;
    }[];
    last_deploy: { ok: boolean; reason?: string } | null;
  }> {
    const result = await nanoRelay(["status", "--control", this.control, "--json"]);
    return JSON.parse(result.stdout);
  }

  /** `status --control --watch --json` in the background; `stop()` ends it and returns what it printed. */
  /**
   * `status --watch --json` beside what the test does next. `started` resolves at its first report (or
   * its exit): a deploy begun before the watch is up (a loaded machine takes seconds to start it) could
   * finish unseen.
   */
  watchStatus(): {
    readonly started: Promise<void>;
    stop(): Promise<{ deploy: unknown; workers: { generation: number }[] }[]>;
  } {
    const child = spawn(
      process.execPath,
      [BIN, "status", "--control", this.control, "--watch", "--interval", "0.5", "--json"],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let text = "";
    let reported: () => void = () => {};
    const started = new Promise<void>((resolve) => {
      reported = resolve;
    });
    child.stdout.on("data", (chunk: Buffer) => {
      text += chunk.toString();
      if (text.includes("\n")) reported();
    });
    const exited = new Promise((resolve) => child.on("exit", resolve));
    void exited.then(() => reported());
    return {
      started,
      async stop() {
        child.kill("SIGTERM");
        await exited;
        // Every complete line; the one being written when the watch was stopped may be cut short.
        return text
          .split("\n")
          .slice(0, -1)
          .map((line) => JSON.parse(line));
      },
    };
  }

  deploy(strategy: "rolling" | "blue-green", extra: readonly string[] = []): Promise<CommandResult> {
    return nanoRelay(["deploy", "--control", this.control, "--strategy", strategy, ...extra]);
  }

  async exited(): Promise<void> {
    await this.#exited;
  }

  async stop(): Promise<void> {
    if (this.child === null || this.exitCode !== null) return;
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child?.kill("SIGKILL"), 60_000);
    await this.exited();
    clearTimeout(timer);
  }
}
