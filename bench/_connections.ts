// The measurement behind `npm run bench -- connections` (bench/connections.ts), on a relay process the
// caller started: push latency with a few sockets, then thousands of idle authenticated WebSockets
// (relay memory per socket, time to connect them), then push latency again with all of them open, and
// once more after they closed. Exported so test/bench/connections.test.ts runs it at a tiny size.

import { type ChildProcess, fork } from "node:child_process";
import type WebSocket from "ws";
import { toHex } from "../src/crypto/index.ts";
import { testEnvelope } from "../test/relay/fixtures/identities.ts";
import { type RelayProcess, signUpOver } from "../test/relay/fixtures/processes.ts";
import type { IdleAnswer, IdleRequest } from "./_idle-sockets.ts";
import { openReadySocket } from "./_ready-socket.ts";

export interface ConnectionsScenario {
  /** Idle sockets opened besides the probes and the pusher (the "10,000"). */
  readonly sockets: number;
  /** Accounts with one socket each that the pushes go to; also the small run's socket count. */
  readonly probes: number;
  /** Pushes per latency run. */
  readonly pushes: number;
  /** Light load: pushes per second, sent at a steady pace whatever the answers. */
  readonly pushesPerSecond: number;
  /** Connects in flight at once while the idle sockets open. */
  readonly connectConcurrency: number;
  /** Sockets per idle account: limits.websocket.max_connections_per_account of the relay's config. */
  readonly socketsPerAccount: number;
}

export interface LatencyRun {
  readonly label: string;
  readonly openSockets: number;
  readonly pushes: number;
  readonly p50ms: number;
  readonly p99ms: number;
}

export interface ConnectionsResult {
  readonly idleSockets: number;
  readonly idleAccounts: number;
  readonly connectSeconds: number;
  readonly connectsPerSecond: number;
  /** Relay memory after a full GC (IPC "memory" of test/relay/fixtures/relay-process.ts). */
  readonly rssBeforeBytes: number;
  readonly rssAfterBytes: number;
  readonly heapBeforeBytes: number;
  readonly heapAfterBytes: number;
  readonly rssPerSocketBytes: number;
  readonly heapPerSocketBytes: number;
  /** Few sockets before the idle ones, all of them, few sockets again after they closed. */
  readonly runs: readonly [LatencyRun, LatencyRun, LatencyRun];
}

interface MemoryAnswer {
  readonly rss: number;
  readonly heapUsed: number;
}

const KEY_BYTES = 24;
/** §9 layout: 4 bytes of version/suite/type, then the 12-byte header nonce (unique per marker). */
const nonceOf = (envelope: Buffer) => toHex(envelope.subarray(4, 16));

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const round2 = (value: number) => Math.round(value * 100) / 100;

async function relayMemory(relay: RelayProcess): Promise<MemoryAnswer> {
  return relay.request<MemoryAnswer>({ type: "memory" }, "memory");
}

/**
 * Pushes to random probes at a steady pace (one `send` from the pusher each 1/rate s, not waiting for
 * answers) and times send -> arrival at the probe: auth, validation, the durable group commit, the
 * hub's lookup and the push, on a relay holding `openSockets` connections.
 */
async function latencyRun(
  label: string,
  openSockets: number,
  pusher: WebSocket,
  probes: readonly { name: string; socket: WebSocket }[],
  scenario: ConnectionsScenario,
  round: number,
): Promise<LatencyRun> {
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  let finish!: () => void;
  let fail!: (error: Error) => void;
  const done = new Promise<void>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  const listeners = probes.map(({ socket }) => {
    const listener = (data: WebSocket.RawData) => {
      const frame = JSON.parse(data.toString()) as { type: string; id: number; envelope: string };
      if (frame.type !== "message") return;
      const key = nonceOf(Buffer.from(frame.envelope.slice(0, 24), "base64"));
      const started = sentAt.get(key);
      socket.send(JSON.stringify({ type: "ack", ids: [frame.id] }));
      if (started === undefined) return;
      latencies.push(performance.now() - started);
      sentAt.delete(key);
      if (latencies.length === scenario.pushes) finish();
    };
    socket.on("message", listener);
    return listener;
  });
  const onPusher = (data: WebSocket.RawData) => {
    const frame = JSON.parse(data.toString()) as { type: string; code?: string };
    if (frame.type === "error") fail(new Error(`${label}: send failed with ${frame.code}`));
  };
  pusher.on("message", onPusher);
  // Sealed before the clock starts: the pusher's work is not the relay's.
  const prepared = Array.from({ length: scenario.pushes }, (_, i) => {
    const envelope = Buffer.from(testEnvelope(`c${round}:${i}`.padEnd(KEY_BYTES, " ")));
    return { key: nonceOf(envelope), text: envelope.toString("base64") };
  });
  const gapMs = 1000 / scenario.pushesPerSecond;
  const start = performance.now();
  for (const [i, { key, text }] of prepared.entries()) {
    // Paced on the schedule, not on the previous send: a late timer is caught up, never shifted.
    const due = start + i * gapMs - performance.now();
    if (due > 0) await new Promise((resolve) => setTimeout(resolve, due));
    const to = probes[Math.floor(Math.random() * probes.length)]!.name;
    sentAt.set(key, performance.now());
    pusher.send(JSON.stringify({ type: "send", id: `c${round}-${i}`, to, envelope: text }));
  }
  try {
    await done;
  } finally {
    pusher.off("message", onPusher);
    for (const [index, { socket }] of probes.entries()) socket.off("message", listeners[index]!);
  }
  latencies.sort((a, b) => a - b);
  return {
    label,
    openSockets,
    pushes: latencies.length,
    p50ms: round2(percentile(latencies, 50)),
    p99ms: round2(percentile(latencies, 99)),
  };
}

/** The idle sockets' process (bench/_idle-sockets.ts), one request and its answer at a time. */
class IdleSockets {
  readonly #child: ChildProcess;
  readonly #exited: Promise<void>;

  constructor() {
    this.#child = fork(new URL("./_idle-sockets.ts", import.meta.url).pathname, [], {
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    this.#exited = new Promise((resolve) => this.#child.once("exit", () => resolve()));
  }

  ask<T extends IdleAnswer["type"]>(
    request: IdleRequest,
    expected: T,
  ): Promise<Extract<IdleAnswer, { type: T }>> {
    return new Promise((resolve, reject) => {
      const onExit = () => reject(new Error("the idle sockets' process exited"));
      const onMessage = (message: IdleAnswer) => {
        this.#child.off("exit", onExit);
        this.#child.off("message", onMessage);
        if (message.type === expected) resolve(message as Extract<IdleAnswer, { type: T }>);
        else reject(new Error(message.type === "failed" ? message.message : `unexpected ${message.type}`));
      };
      this.#child.once("exit", onExit);
      this.#child.on("message", onMessage);
      this.#child.send(request);
    });
  }

  /**
   * A socket the relay closed (an account cap lower than the scenario's sockets per account closes
   * the oldest with 4409) would make the memory and latency figures those of fewer sockets: the run fails.
   */
  async stillOpen(total: number, when: string): Promise<void> {
    const { closed } = await this.ask({ type: "check" }, "checked");
    if (closed > 0) throw new Error(`${closed} of ${total} idle sockets were closed by the relay ${when}`);
  }

  async stop(): Promise<void> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) {
      await this.ask({ type: "close" }, "closed").catch(() => undefined);
      this.#child.disconnect();
    }
    await this.#exited;
  }
}

function closeAll(sockets: readonly WebSocket[]): Promise<void> {
  return Promise.all(
    sockets.map(
      (socket) =>
        new Promise<void>((resolve) => {
          if (socket.readyState === socket.CLOSED) return resolve();
          socket.once("close", () => resolve());
          socket.close();
        }),
    ),
  ).then(() => undefined);
}

export async function runConnections(
  relay: RelayProcess,
  scenario: ConnectionsScenario,
  prefix = "c",
): Promise<ConnectionsResult> {
  const idleAccounts = Math.ceil(scenario.sockets / scenario.socketsPerAccount);
  const tokens = new Map<string, string>();
  const names = [
    `${prefix}pusher`,
    ...Array.from({ length: scenario.probes }, (_, i) => `${prefix}probe${i}`),
    ...Array.from({ length: idleAccounts }, (_, i) => `${prefix}idle${i}`),
  ];
  for (const name of names) tokens.set(name, (await signUpOver(relay.url, name)).token);
  const open = (name: string) =>
    openReadySocket(relay.wsUrl, { authorization: `Bearer ${tokens.get(name)}` });
  const pusher = await open(`${prefix}pusher`);
  const probes = await Promise.all(
    Array.from({ length: scenario.probes }, async (_, i) => ({
      name: `${prefix}probe${i}`,
      socket: await open(`${prefix}probe${i}`),
    })),
  );
  const few = scenario.probes + 1;
  const idle = new IdleSockets();
  try {
    // Unreported warm-up: the relay's first sends compile the hot paths (JIT), which is not latency.
    const warmup = { ...scenario, pushes: Math.min(50, scenario.pushes) };
    await latencyRun("warm-up", few, pusher, probes, warmup, 9);
    const before = await latencyRun("few sockets (before)", few, pusher, probes, scenario, 0);
    const memoryBefore = await relayMemory(relay);
    const opened = await idle.ask(
      {
        type: "open",
        url: relay.wsUrl,
        tokens: Array.from({ length: idleAccounts }, (_, i) => tokens.get(`${prefix}idle${i}`)!),
        sockets: scenario.sockets,
        perAccount: scenario.socketsPerAccount,
        concurrency: scenario.connectConcurrency,
      },
      "opened",
    );
    const memoryAfter = await relayMemory(relay);
    await idle.stillOpen(scenario.sockets, "after connecting");
    const all = await latencyRun("all sockets", few + scenario.sockets, pusher, probes, scenario, 1);
    await idle.stillOpen(scenario.sockets, "after the pushes");
    await idle.ask({ type: "close" }, "closed");
    const afterwards = await latencyRun("few sockets (after)", few, pusher, probes, scenario, 2);
    return {
      idleSockets: scenario.sockets,
      idleAccounts,
      connectSeconds: Math.round(opened.seconds * 1000) / 1000,
      connectsPerSecond: Math.round(scenario.sockets / opened.seconds),
      rssBeforeBytes: memoryBefore.rss,
      rssAfterBytes: memoryAfter.rss,
      heapBeforeBytes: memoryBefore.heapUsed,
      heapAfterBytes: memoryAfter.heapUsed,
      rssPerSocketBytes: Math.round((memoryAfter.rss - memoryBefore.rss) / scenario.sockets),
      heapPerSocketBytes: Math.round((memoryAfter.heapUsed - memoryBefore.heapUsed) / scenario.sockets),
      runs: [before, all, afterwards],
    };
  } finally {
    await idle.stop();
    await closeAll([pusher, ...probes.map((p) => p.socket)]);
  }
}
