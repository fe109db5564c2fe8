import { type ChildProcess, fork } from "node:child_process";
import { ChallengeBook } from "../auth.ts";
import { systemClock } from "../clock.ts";
import { loadConfigFile } from "../config/load.ts";
import type { Environment, RelayConfig } from "../config/schema.ts";
import { type FromWorker, fromWorker, type ToWorker } from "./_ipc.ts";

/**
 * `nano-relay serve --instances N`: a small supervisor and N relay workers sharing the listening ports
 * with SO_REUSEPORT (the kernel spreads new connections over the workers' sockets; a worker that stops
 * listening drops out of the spread at once). The supervisor does not listen on the relay's ports; it
 * starts workers, forwards wake-ups between them (a send committed by one worker for a recipient
 * connected to another), restarts a worker that crashed (with backoff), and replaces workers in a
 * deploy (rolling or blue-green, each new worker gated on its readiness). docs/deploy.md.
 */

export type Strategy = "rolling" | "blue-green";
export type WorkerState = "starting" | "serving" | "draining" | "exited";

export interface WorkerView {
  readonly id: number;
  readonly generation: number;
  readonly pid: number | null;
  readonly state: WorkerState;
  readonly ready: boolean | null;
  readonly connections: number | null;
  readonly restarts: number;
}

export interface DeployOutcome {
  readonly ok: boolean;
  readonly strategy: Strategy;
  readonly from_generation: number;
  readonly to_generation: number;
  /** Why the deploy did not happen or was rolled back. */
  readonly reason?: string;
  /** config_invalid (nothing was started), health_check_failed (rolled back), busy, port_changed. */
  readonly code?: string;
}

export interface SupervisorOptions {
  readonly configFile: string;
  /** The environment a configuration of config/ was chosen by (only without --config). */
  readonly environment?: Environment;
  readonly instances: number;
  /** The nano-relay entry and arguments that make a process a worker (its hidden `worker` command). */
  readonly workerModule: string;
  readonly workerArgs: readonly string[];
  readonly healthCheckTimeoutMs: number;
  /** One line about what the supervisor did (to stderr, next to the workers' JSON logs). */
  readonly say: (line: string) => void;
}

/** Restart backoff of a crashed worker: 0.5 s, 1 s, 2 s ... 30 s; reset once it served a minute. */
const RESTART_BASE_MS = 500;
const RESTART_MAX_MS = 30_000;
const RESTART_RESET_AFTER_MS = 60_000;
/** How often a gate asks a starting worker whether it is ready. */
const GATE_POLL_MS = 200;
/** A worker that does not answer a health question within this is "not answering". */
const HEALTH_ANSWER_MS = 5_000;
/**
 * How long `status` waits for each worker's answer: a status view must keep coming during a deploy,
 * while a draining worker may answer late or not at all (it is shown as not answering, ready null).
 */
const STATUS_HEALTH_ANSWER_MS = 1_000;
/** Lines of a worker's stderr kept to explain why it failed. */
const TAIL_LINES = 20;

class Worker {
  readonly id: number;
  readonly generation: number;
  readonly config: RelayConfig;
  readonly child: ChildProcess;
  readonly startedAt = Date.now();
  state: WorkerState = "starting";
  /** Restarted by the supervisor when it exits unasked (after it passed its gate). */
  supervised = false;
  restarts: number;
  listening: Extract<FromWorker, { type: "listening" }> | null = null;
  failure: string | null = null;
  readonly tail: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly #answers = new Map<number, (answer: { ready: boolean; body: Record<string, unknown> }) => void>();
  #ref = 0;

  constructor(id: number, generation: number, config: RelayConfig, child: ChildProcess, restarts: number) {
    this.id = id;
    this.generation = generation;
    this.config = config;
    this.child = child;
    this.restarts = restarts;
    this.exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  }

  send(message: ToWorker): void {
    if (this.child.connected) this.child.send(message);
  }

  answer(ref: number, ready: boolean, body: Record<string, unknown>): void {
    this.#answers.get(ref)?.({ ready, body });
    this.#answers.delete(ref);
  }

  /** What the worker's /readyz would say; null when it does not answer. */
  async health(
    answerWithinMs = HEALTH_ANSWER_MS,
  ): Promise<{ ready: boolean; body: Record<string, unknown> } | null> {
    if (!this.child.connected) return null;
    const ref = ++this.#ref;
    let timer: NodeJS.Timeout | undefined;
    const answer = await Promise.race([
      new Promise<{ ready: boolean; body: Record<string, unknown> }>((resolve) => {
        this.#answers.set(ref, resolve);
        this.send({ type: "health", ref });
      }),
      new Promise<null>((resolve) => {
        timer = setTimeout(() => resolve(null), answerWithinMs);
      }),
      this.exited.then(() => null),
    ]);
    clearTimeout(timer);
    this.#answers.delete(ref);
    return answer;
  }

  why(): string {
    if (this.failure !== null) return this.failure;
    const last = this.tail.filter((line) => line.trim() !== "").at(-1);
    return last ?? "no reason given";
  }
}

export class Supervisor {
  readonly #options: SupervisorOptions;
  #config: RelayConfig;
  readonly #workers: Worker[] = [];
  #nextId = 1;
  #generation = 1;
  #ports: { api: number; websocket: number } | null = null;
  #stopping = false;
  #deploy: { strategy: Strategy; from: number; to: number; phase: string } | null = null;
  #lastDeploy: DeployOutcome | null = null;
  readonly #crashes = new Map<number, number>();
  /** Workers a deploy replaced: a restart of one (after a crash) that was still pending is dropped. */
  readonly #retired = new Set<number>();
  /** Every worker's challenges (src/relay/instances/shared-challenges.ts). */
  readonly #challenges: ChallengeBook;
  readonly #sweeper: NodeJS.Timeout;

  constructor(config: RelayConfig, options: SupervisorOptions) {
    this.#config = config;
    this.#options = options;
    this.#challenges = new ChallengeBook(systemClock, config.security.challenge_lifetime_seconds);
    this.#sweeper = setInterval(() => this.#challenges.sweep(), 60_000);
    this.#sweeper.unref();
  }

  get ports(): { api: number; websocket: number } | null {
    return this.#ports;
  }

  /** URLs of the shared listeners (the first worker's, which every worker shares). */
  get urls(): { api_url: string; websocket_url: string } | null {
    const first = this.#workers.find((worker) => worker.listening !== null)?.listening;
    return first === undefined || first === null
      ? null
      : { api_url: first.api_url, websocket_url: first.websocket_url };
  }

  /**
   * Starts the first worker alone (it creates what the others then share: the ports when the
   * configuration says 0, the database schema and the log key), then the rest. Rejects with the reason
   * when one fails its gate.
   */
  async start(): Promise<void> {
    const first = this.#spawn(this.#generation, this.#config, 0);
    const failure = await this.#gate(first, this.#options.healthCheckTimeoutMs);
    if (failure !== null) {
      await this.#stop(first, "SIGKILL");
      throw new Error(`worker ${first.id} did not become ready: ${failure}`);
    }
    const rest = Array.from({ length: this.#options.instances - 1 }, () =>
      this.#spawn(this.#generation, this.#config, 0),
    );
    const failures = await Promise.all(
      rest.map((worker) => this.#gate(worker, this.#options.healthCheckTimeoutMs)),
    );
    const failed = failures.findIndex((reason) => reason !== null);
    if (failed >= 0) {
      await Promise.all([first, ...rest].map((worker) => this.#stop(worker, "SIGKILL")));
      throw new Error(`worker ${rest[failed]!.id} did not become ready: ${failures[failed]}`);
    }
    for (const worker of [first, ...rest]) worker.supervised = true;
  }

  #withPorts(config: RelayConfig): RelayConfig {
    if (this.#ports === null) return config;
    return {
      ...config,
      server: { ...config.server, api_port: this.#ports.api, websocket_port: this.#ports.websocket },
    };
  }

  #spawn(generation: number, config: RelayConfig, restarts: number, id = this.#nextId++): Worker {
    const child = fork(this.#options.workerModule, [...this.#options.workerArgs], {
      // Workers log JSON to stdout, which goes straight to the supervisor's (journald, docker logs);
      // stderr is read to name the reason when a worker fails.
      stdio: ["ignore", "inherit", "pipe", "ipc"],
      // Its own process group: a Ctrl-C on the terminal reaches the supervisor only, which drains the
      // workers itself (a worker hit by the terminal's SIGINT and then the supervisor's SIGTERM would
      // take the second signal as "exit now, no drain").
      detached: true,
    });
    const worker = new Worker(id, generation, config, child, restarts);
    this.#workers.push(worker);
    child.stderr?.setEncoding("utf8");
    child.stderr?.on("data", (chunk: string) => {
      process.stderr.write(chunk);
      worker.tail.push(...chunk.split("\n"));
      worker.tail.splice(0, Math.max(0, worker.tail.length - TAIL_LINES));
    });
    child.on("message", (raw: unknown) => this.#onMessage(worker, fromWorker(raw)));
    child.on("error", () => {});
    void worker.exited.then(({ code, signal }) => this.#onExit(worker, code, signal));
    worker.send({ type: "start", config: this.#withPorts(config), worker: id, generation });
    this.#options.say(`worker ${id} (generation ${generation}) started, pid ${child.pid}`);
    return worker;
  }

  #onMessage(worker: Worker, message: FromWorker | null): void {
    if (message === null) return;
    switch (message.type) {
      case "listening":
        worker.listening = message;
        this.#ports ??= { api: message.api_port, websocket: message.websocket_port };
        return;
      case "failed":
        worker.failure = message.message;
        return;
      case "wake":
        // Every other worker that may hold a connection of the recipient, draining ones included
        // (they serve until their sockets are closed).
        for (const other of this.#workers)
          if (other !== worker && other.state !== "exited")
            other.send({ type: "wake", recipient: message.recipient });
        return;
      case "health":
        worker.answer(message.ref, message.ready, message.body);
        return;
      case "challenge.issue": {
        const { challenge, expiresAt } = this.#challenges.issue(message.purpose, message.username);
        worker.send({
          type: "challenge",
          ref: message.ref,
          ok: true,
          challenge: Buffer.from(challenge).toString("base64"),
          expires_at: expiresAt,
        });
        return;
      }
      case "challenge.take": {
        let ok = true;
        try {
          this.#challenges.take(
            new Uint8Array(Buffer.from(message.challenge, "base64")),
            message.purpose,
            message.username,
          );
        } catch {
          ok = false;
        }
        worker.send({ type: "challenge", ref: message.ref, ok });
        return;
      }
    }
  }

  #onExit(worker: Worker, code: number | null, signal: NodeJS.Signals | null): void {
    const asked = worker.state === "draining";
    worker.state = "exited";
    this.#workers.splice(this.#workers.indexOf(worker), 1);
    if (asked || !worker.supervised || this.#stopping) return;
    // A crash: the same worker (id, generation, configuration) again, after a backoff that grows
    // while it keeps crashing soon after starting.
    const lived = Date.now() - worker.startedAt;
    const crashes = lived > RESTART_RESET_AFTER_MS ? 1 : (this.#crashes.get(worker.id) ?? 0) + 1;
    this.#crashes.set(worker.id, crashes);
    const delay = Math.min(RESTART_MAX_MS, RESTART_BASE_MS * 2 ** (crashes - 1));
    this.#options.say(
      `worker ${worker.id} exited unasked (${signal ?? `code ${code}`}); restarting in ${delay} ms`,
    );
    setTimeout(() => {
      if (this.#stopping || this.#retired.has(worker.id)) return;
      const again = this.#spawn(worker.generation, worker.config, worker.restarts + 1, worker.id);
      again.supervised = true;
      void this.#gate(again, this.#options.healthCheckTimeoutMs).then((failure) => {
        if (failure !== null) this.#options.say(`worker ${again.id} restarted but is not ready: ${failure}`);
      });
    }, delay);
  }

  /** Null once the worker's readiness says ready; else why not, by `timeoutMs`. */
  async #gate(worker: Worker, timeoutMs: number): Promise<string | null> {
    const deadline = Date.now() + timeoutMs;
    let last = "it did not answer";
    while (Date.now() < deadline) {
      if (worker.state === "exited" || worker.child.exitCode !== null || worker.child.signalCode !== null)
        return `it exited before it was ready: ${worker.why()}`;
      if (worker.listening !== null) {
        const health = await worker.health();
        if (health?.ready === true) {
          worker.state = "serving";
          return null;
        }
        if (health !== null) last = `/readyz says ${JSON.stringify(health.body)}`;
      }
      await Promise.race([new Promise((resolve) => setTimeout(resolve, GATE_POLL_MS)), worker.exited]);
    }
    if (worker.failure !== null) return worker.failure;
    return `not ready within ${Math.round(timeoutMs / 1000)} s (${worker.listening === null ? "not listening yet" : last})`;
  }

  /**
   * A deploy's replacement of `victim`: the worker of that id running now (a crashed one may have been
   * restarted since the deploy looked) is drained, and a restart still pending is dropped.
   */
  async #retire(victim: Worker): Promise<void> {
    this.#retired.add(victim.id);
    const current = this.#workers.find((worker) => worker.id === victim.id) ?? victim;
    await this.#stop(current);
  }

  /** SIGTERM: the worker drains (docs/relay.md "Shutdown"); SIGKILL if it outlives its own grace. */
  async #stop(worker: Worker, signal: "SIGTERM" | "SIGKILL" = "SIGTERM"): Promise<void> {
    if (worker.state === "exited") return;
    worker.supervised = false;
    worker.state = "draining";
    worker.child.kill(signal);
    const { drain_delay_seconds, shutdown_grace_seconds } = worker.config.server;
    const boundMs = (drain_delay_seconds + 2 * shutdown_grace_seconds + 10) * 1000;
    const timer = setTimeout(() => worker.child.kill("SIGKILL"), boundMs);
    await worker.exited;
    clearTimeout(timer);
  }

  /**
   * Replaces every serving worker by one running the code and the configuration now on disk. Nothing
   * is started when the configuration does not validate; a new worker that fails its gate is stopped
   * and the old ones keep serving (rolling: any old worker already replaced is started again first).
   */
  async deploy(
    strategy: Strategy,
    healthCheckTimeoutMs: number,
    progress: (line: string) => void,
  ): Promise<DeployOutcome> {
    const from = this.#generation;
    const to = from + 1;
    const outcome = (fields: Partial<DeployOutcome>): DeployOutcome => {
      const done = { ok: false, strategy, from_generation: from, to_generation: to, ...fields };
      return done;
    };
    if (this.#deploy !== null)
      return outcome({ code: "busy", reason: `a ${this.#deploy.strategy} deploy is already running` });
    if (this.#stopping) return outcome({ code: "busy", reason: "the supervisor is stopping" });
    const loaded = await loadConfigFile(this.#options.configFile, this.#options.environment);
    if (!loaded.ok)
      return outcome({
        code: "config_invalid",
        reason: `${this.#options.configFile} is not valid, nothing was started:\n${loaded.problems.map((problem) => `  ${problem.path}: ${problem.message}`).join("\n")}`,
      });
    const config = loaded.config;
    progress(`${this.#options.configFile}: valid (${config.environment})`);
    const moved = this.#portMoved(config);
    if (moved !== null) return outcome({ code: "port_changed", reason: moved });
    this.#deploy = { strategy, from, to, phase: "starting" };
    this.#lastDeploy = null;
    try {
      const result =
        strategy === "rolling"
          ? await this.#rolling(config, to, healthCheckTimeoutMs, progress)
          : await this.#blueGreen(config, to, healthCheckTimeoutMs, progress);
      if (result === null) {
        this.#generation = to;
        this.#config = config;
        this.#lastDeploy = outcome({ ok: true });
      } else {
        this.#lastDeploy = outcome({ code: "health_check_failed", reason: result });
      }
      return this.#lastDeploy;
    } finally {
      this.#deploy = null;
    }
  }

  #portMoved(config: RelayConfig): string | null {
    const was = this.#config.server;
    const now = config.server;
    if (
      now.api_port !== was.api_port ||
      now.websocket_port !== was.websocket_port ||
      now.bind_address !== was.bind_address
    )
      return "server.api_port, server.websocket_port or server.bind_address changed: a deploy keeps the listeners; restart nano-relay serve to move them";
    return null;
  }

  #serving(): Worker[] {
    return this.#workers.filter((worker) => worker.supervised && worker.state !== "draining");
  }

  async #rolling(
    config: RelayConfig,
    to: number,
    timeoutMs: number,
    progress: (line: string) => void,
  ): Promise<string | null> {
    const old = this.#serving();
    const replaced: Worker[] = [];
    const fresh: Worker[] = [];
    for (const victim of old) {
      this.#deploy!.phase = `replacing worker ${victim.id}`;
      const worker = this.#spawn(to, config, 0);
      fresh.push(worker);
      progress(`worker ${worker.id} (generation ${to}) starting`);
      const failure = await this.#gate(worker, timeoutMs);
      if (failure !== null) {
        const reason = `worker ${worker.id} (generation ${to}) failed its health check: ${failure}`;
        progress(`${reason}; rolling back`);
        await this.#stop(worker, "SIGKILL");
        fresh.pop();
        await this.#rollBack(replaced, fresh, timeoutMs, progress);
        return reason;
      }
      worker.supervised = true;
      progress(
        `worker ${worker.id} (generation ${to}) ready; draining worker ${victim.id} (generation ${victim.generation})`,
      );
      await this.#retire(victim);
      replaced.push(victim);
      progress(`worker ${victim.id} drained and stopped`);
    }
    return null;
  }

  /** Rolling: every old worker already replaced comes back (its configuration) before the new ones go. */
  async #rollBack(
    replaced: readonly Worker[],
    fresh: readonly Worker[],
    timeoutMs: number,
    progress: (line: string) => void,
  ): Promise<void> {
    for (const [index, old] of replaced.entries()) {
      const again = this.#spawn(old.generation, old.config, 0);
      const failure = await this.#gate(again, timeoutMs);
      if (failure !== null) {
        // Keep the new worker rather than leave the service with fewer workers.
        progress(
          `worker ${again.id} (generation ${old.generation}) did not come back (${failure}); keeping worker ${fresh[index]!.id}`,
        );
        await this.#stop(again, "SIGKILL");
        continue;
      }
      again.supervised = true;
      await this.#retire(fresh[index]!);
      progress(
        `worker ${again.id} (generation ${old.generation}) back in place of worker ${fresh[index]!.id}`,
      );
    }
  }

  async #blueGreen(
    config: RelayConfig,
    to: number,
    timeoutMs: number,
    progress: (line: string) => void,
  ): Promise<string | null> {
    const old = this.#serving();
    this.#deploy!.phase = `starting ${old.length} workers`;
    const fresh = old.map(() => this.#spawn(to, config, 0));
    progress(`workers ${fresh.map((worker) => worker.id).join(", ")} (generation ${to}) starting`);
    const failures = await Promise.all(fresh.map((worker) => this.#gate(worker, timeoutMs)));
    const failed = failures.findIndex((failure) => failure !== null);
    if (failed >= 0) {
      const reason = `worker ${fresh[failed]!.id} (generation ${to}) failed its health check: ${failures[failed]}`;
      progress(`${reason}; stopping the new workers, the old ones keep serving`);
      await Promise.all(fresh.map((worker) => this.#stop(worker, "SIGKILL")));
      return reason;
    }
    for (const worker of fresh) worker.supervised = true;
    this.#deploy!.phase = `draining ${old.length} workers`;
    progress(`generation ${to} ready; draining workers ${old.map((worker) => worker.id).join(", ")}`);
    await Promise.all(old.map((worker) => this.#retire(worker)));
    progress("old workers drained and stopped");
    return null;
  }

  async status(): Promise<Record<string, unknown>> {
    const workers: WorkerView[] = await Promise.all(
      this.#workers.map(async (worker) => {
        const health = worker.state === "exited" ? null : await worker.health(STATUS_HEALTH_ANSWER_MS);
        const connections = health?.body.websocket_connections;
        return {
          id: worker.id,
          generation: worker.generation,
          pid: worker.child.pid ?? null,
          state: worker.state,
          ready: health === null ? null : health.ready,
          connections: typeof connections === "number" ? connections : null,
          restarts: worker.restarts,
        };
      }),
    );
    return {
      ok: true,
      pid: process.pid,
      instances: this.#options.instances,
      generation: this.#generation,
      ports: this.#ports,
      deploy: this.#deploy,
      last_deploy: this.#lastDeploy,
      workers,
    };
  }

  /** Drains every worker (in parallel); resolves once all exited, true when every drain ended in exit 0. */
  async stop(): Promise<boolean> {
    this.#stopping = true;
    const exits = await Promise.all(
      [...this.#workers].map(async (worker) => {
        await this.#stop(worker);
        return worker.exited;
      }),
    );
    return exits.every((exit) => exit.code === 0);
  }

  /** A second signal: no drain. */
  kill(): void {
    this.#stopping = true;
    for (const worker of this.#workers) worker.child.kill("SIGKILL");
  }
}
