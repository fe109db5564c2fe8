// A child process of `npm run bench -- e2e` holding real SDK clients (NanoClient, each with its own
// home: keystore, sealed SQLite store, sessions): either the senders or the receivers. It runs in its own
// process so its CPU time (process.cpuUsage) is measured apart from the relay's and the other side's.
// Commands arrive over IPC from bench/e2e.ts; every answer carries the CPU used since the last answer.
import { join } from "node:path";
import { NanoClient } from "../src/client/index.ts";
import type { SuiteName } from "../src/crypto/index.ts";

export type WorkerCommand =
  | {
      readonly type: "setup";
      readonly dir: string;
      readonly mode: SuiteName;
      readonly names: readonly string[];
      readonly relay: string;
    }
  | { readonly type: "reopen"; readonly relay: string }
  | { readonly type: "listen" }
  | {
      readonly type: "load";
      readonly peers: readonly string[];
      readonly bytes: number;
      readonly durationMs: number;
      /** Messages per second per sender (open loop); null: as fast as each sender can (closed loop). */
      readonly ratePerSender: number | null;
      /** Sends in flight per sender (closed loop: concurrent loops; open loop: the most outstanding). */
      readonly window: number;
    }
  /** Returns what arrived since the last collect; `expectBytes` is the size of the next phase's messages. */
  | { readonly type: "collect"; readonly expectBytes: number }
  | { readonly type: "stop" };

export interface CpuReport {
  /** User + system CPU seconds of this process since its previous answer. */
  readonly cpuSeconds: number;
}

export type WorkerAnswer =
  | ({ readonly type: "ready" } & CpuReport)
  | ({ readonly type: "listening" } & CpuReport)
  | ({ readonly type: "loaded"; readonly sent: number; readonly failures: readonly string[] } & CpuReport)
  | ({
      readonly type: "collected";
      /** Send-to-decrypted-delivery latency of each message since the last collect, in ms. */
      readonly latenciesMs: readonly number[];
      readonly delivered: number;
      readonly bytes: number;
      /** Wall-clock (timeOrigin-based) ms of the first and last delivery since the last collect. */
      readonly firstAt: number | null;
      readonly lastAt: number | null;
      readonly wrong: number;
    } & CpuReport)
  | { readonly type: "failed"; readonly message: string };

const PASSPHRASE = "e2e benchmark passphrase";
/** The cheapest keystore work factor the bounds allow: the benchmark measures messaging, not unlock. */
const MIN_ARGON2ID = { memoryKiB: 19456, passes: 2, parallelism: 1 } as const;
/** Every message starts with the sender's clock reading, so the receiver can compute the latency. */
const STAMP_SEPARATOR = "|";

/** A wall clock with sub-millisecond resolution that two processes on one machine share. */
export function now(): number {
  return performance.timeOrigin + performance.now();
}

export function messageText(bytes: number, sentAt: number, filler: string): string {
  const stamp = `${sentAt.toFixed(3)}${STAMP_SEPARATOR}`;
  return stamp + filler.slice(0, Math.max(0, bytes - stamp.length));
}

/** The longest filler compared so far, kept to compare against (grows to the largest message). */
let fillerSeen = "";

/**
 * Whether `text` is all filler: compared with a string of "x" rather than tested with /^x*$/, which
 * cost 3.3 ms per 1 MiB message — about a tenth of the receiver CPU the benchmark reported for it
 * (the check is the benchmark's, not the client's).
 */
function isFiller(text: string): boolean {
  if (fillerSeen.length < text.length) fillerSeen = "x".repeat(text.length);
  return text === fillerSeen.slice(0, text.length);
}

/**
 * The stamp of a received text, or null unless it is exactly a benchmark message of the expected
 * length (stamp, separator, filler): a truncated, padded or altered delivery is counted as wrong.
 */
export function parseStamp(text: string, expectedBytes: number): number | null {
  const cut = text.indexOf(STAMP_SEPARATOR);
  if (cut <= 0 || text.length !== expectedBytes) return null;
  if (!isFiller(text.slice(cut + 1))) return null;
  const value = Number(text.slice(0, cut));
  return Number.isFinite(value) ? value : null;
}

let clients: NanoClient[] = [];
let homes: string[] = [];
let watches: AbortController | null = null;
let watchRuns: Promise<unknown>[] = [];
let lastCpu = process.cpuUsage();
let expectedBytes = 0;
let latencies: number[] = [];
let delivered = 0;
let deliveredBytes = 0;
let wrong = 0;
let firstAt: number | null = null;
let lastAt: number | null = null;

function cpu(): CpuReport {
  const used = process.cpuUsage(lastCpu);
  lastCpu = process.cpuUsage();
  return { cpuSeconds: (used.user + used.system) / 1e6 };
}

function answer(message: WorkerAnswer): void {
  process.send?.(message);
}

async function setup(command: Extract<WorkerCommand, { type: "setup" }>): Promise<void> {
  homes = command.names.map((name) => join(command.dir, name));
  clients = [];
  for (const [index, name] of command.names.entries()) {
    const client = await NanoClient.create({
      home: homes[index]!,
      mode: command.mode,
      passphrase: PASSPHRASE,
      relay: command.relay,
      argon2id: MIN_ARGON2ID,
    });
    await client.claimUsername(name);
    clients.push(client);
  }
}

async function stopWatching(): Promise<void> {
  watches?.abort();
  await Promise.allSettled(watchRuns);
  watches = null;
  watchRuns = [];
}

async function reopen(relay: string): Promise<void> {
  const listening = watches !== null;
  await stopWatching();
  await Promise.all(clients.map((client) => client.close()));
  clients = [];
  for (const home of homes) clients.push(await NanoClient.open({ home, passphrase: PASSPHRASE, relay }));
  if (listening) listen();
}

function listen(): void {
  watches = new AbortController();
  const signal = watches.signal;
  watchRuns = clients.map((client) =>
    client
      .receive({
        watch: true,
        saveDir: null,
        signal,
        onMessage: (message) => {
          const at = now();
          const sentAt = parseStamp(message.text, expectedBytes);
          if (sentAt === null) {
            wrong++;
            return;
          }
          latencies.push(at - sentAt);
          delivered++;
          deliveredBytes += message.text.length;
          firstAt ??= at;
          lastAt = at;
        },
      })
      .catch((error: unknown) => {
        if (!signal.aborted) process.stderr.write(`e2e receiver: ${String(error)}\n`);
      }),
  );
}

async function load(
  command: Extract<WorkerCommand, { type: "load" }>,
): Promise<{ sent: number; failures: string[] }> {
  const filler = "x".repeat(command.bytes);
  const started = now();
  const deadline = started + command.durationMs;
  let sent = 0;
  const failures: string[] = [];
  const sendOne = async (client: NanoClient, peer: string, sentAt: number) => {
    try {
      const result = await client.send({
        recipient: peer,
        text: messageText(command.bytes, sentAt, filler),
        file: null,
        cryptoMode: null,
      });
      if (result.queued) failures.push("queued (relay unreachable)");
      sent++;
    } catch (error) {
      failures.push(error instanceof Error ? error.message : String(error));
    }
  };
  await Promise.all(
    clients.map(async (client, index) => {
      const peer = command.peers[index]!;
      if (command.ratePerSender === null) {
        // Closed loop: `window` sends in flight per sender, each starting when one finishes.
        const loops = Array.from({ length: command.window }, async () => {
          while (now() < deadline && failures.length <= 20) await sendOne(client, peer, now());
        });
        await Promise.all(loops);
        return;
      }
      // Open loop: sends start on schedule whether or not earlier ones finished (at most `window` in
      // flight; beyond that the sender queues). The latency counts from the scheduled time, so a
      // sender that falls behind shows its queueing delay instead of hiding it (coordinated omission).
      const interval = 1000 / command.ratePerSender;
      // Senders start spread over one interval so the load does not arrive in bursts.
      let next = started + (interval * index) / clients.length;
      const inFlight = new Set<Promise<void>>();
      while (next < deadline && failures.length <= 20) {
        const wait = next - now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        while (inFlight.size >= command.window) await Promise.race(inFlight);
        const running: Promise<void> = sendOne(client, peer, Math.min(next, now())).finally(() =>
          inFlight.delete(running),
        );
        inFlight.add(running);
        next += interval;
      }
      await Promise.all(inFlight);
    }),
  );
  return { sent, failures: failures.slice(0, 5) };
}

function collect(): WorkerAnswer {
  const report: WorkerAnswer = {
    type: "collected",
    latenciesMs: latencies,
    delivered,
    bytes: deliveredBytes,
    firstAt,
    lastAt,
    wrong,
    ...cpu(),
  };
  latencies = [];
  delivered = 0;
  deliveredBytes = 0;
  wrong = 0;
  firstAt = null;
  lastAt = null;
  return report;
}

async function handle(command: WorkerCommand): Promise<void> {
  switch (command.type) {
    case "setup":
      await setup(command);
      return answer({ type: "ready", ...cpu() });
    case "reopen":
      await reopen(command.relay);
      return answer({ type: "ready", ...cpu() });
    case "listen":
      listen();
      return answer({ type: "listening", ...cpu() });
    case "load": {
      const { sent, failures } = await load(command);
      return answer({ type: "loaded", sent, failures, ...cpu() });
    }
    case "collect": {
      const report = collect();
      expectedBytes = command.expectBytes;
      return answer(report);
    }
    case "stop":
      await stopWatching();
      await Promise.all(clients.map((client) => client.close()));
      process.disconnect?.();
      return;
  }
}

// Messages are handled one at a time, in order: the parent waits for each answer anyway.
let chain: Promise<void> = Promise.resolve();
process.on("message", (raw: WorkerCommand) => {
  chain = chain.then(() =>
    handle(raw).catch((error: unknown) =>
      answer({
        type: "failed",
        message: error instanceof Error ? (error.stack ?? error.message) : String(error),
      }),
    ),
  );
});
// The parent going away ends this process: no orphans holding ports or temp folders.
process.on("disconnect", () => process.exit(0));
