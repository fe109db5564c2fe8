// The envelope load of `npm run bench -- relay` and the bare relay baseline it is held against, shared
// with `npm run bench -- e2e` (which runs the same baseline with its own pairs and window): N sender
// and N receiver WebSockets, real-size nano v1 envelopes sealed before the clock starts, a closed loop
// of `window` sends in flight per sender, each delivery acknowledged. The baseline
// (bench/_baseline-server.ts) is ws + the relay's SQLite group commit and nothing else.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import type WebSocket from "ws";
import { randomBytes, toHex } from "../src/crypto/index.ts";
import { testEnvelope } from "../test/relay/fixtures/identities.ts";
import { openReadySocket } from "./_ready-socket.ts";

export interface Scenario {
  readonly name: string;
  /** Padded content size: the envelope is this bucket plus the suite's fixed header and tags. */
  readonly contentBytes: number;
  readonly pairs: number;
  readonly perSender: number;
  readonly window: number;
}

export interface Result {
  readonly target: string;
  readonly scenario: string;
  readonly messages: number;
  readonly seconds: number;
  readonly messagesPerSecond: number;
  readonly megabytesPerSecond: number;
  readonly p50ms: number;
  readonly p99ms: number;
  /** CPU of this (load-generating) process per message: when it nears 1 core / msg/s, the load is the limit. */
  readonly loadCpuMsPerMessage: number;
}

export interface Endpoint {
  /** WebSocket URL and headers for a named participant. */
  connect(name: string): { url: string; headers: Record<string, string> };
}

const KEY_BYTES = 30;
/** §9 layout: version, suite, type (4 bytes), then the 12-byte header nonce; 24 base64 chars = 18 bytes. */
const NONCE_B64 = 24;
/** Matches sends to deliveries without opening the body: the test envelope's header nonce is unique per key. */
const nonceKey = (base64: string) => toHex(Buffer.from(base64.slice(0, NONCE_B64), "base64").subarray(4, 16));
/** pad() adds a 4-byte length: content of bucket - 4 bytes fills the bucket exactly. */
const LENGTH_PREFIX = 4;

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function open(endpoint: Endpoint, name: string): Promise<WebSocket> {
  const { url, headers } = endpoint.connect(name);
  return openReadySocket(url, headers);
}

export async function runLoad(
  target: string,
  endpoint: Endpoint,
  scenario: Scenario,
  names: string[][],
): Promise<Result> {
  const filler = randomBytes(Math.max(0, scenario.contentBytes - LENGTH_PREFIX - KEY_BYTES));
  const envelopeBytes = testEnvelope(Buffer.concat([Buffer.alloc(KEY_BYTES), filler])).length;
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  const total = scenario.pairs * scenario.perSender;
  let delivered = 0;
  let bytes = 0;
  let finish!: () => void;
  let fail!: (error: Error) => void;
  const done = new Promise<void>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  const receivers = await Promise.all(names.map(([, receiver]) => open(endpoint, receiver!)));
  const senders = await Promise.all(names.map(([sender]) => open(endpoint, sender!)));
  for (const socket of receivers) {
    socket.on("message", (data) => {
      const text = data.toString();
      const frame = JSON.parse(text) as { type: string; id: number; envelope: string };
      if (frame.type !== "message") return;
      const key = nonceKey(frame.envelope);
      const started = sentAt.get(key);
      if (started !== undefined) {
        latencies.push(performance.now() - started);
        sentAt.delete(key);
        delivered++;
        bytes += envelopeBytes;
      }
      socket.send(JSON.stringify({ type: "ack", ids: [frame.id] }));
      if (delivered === total) finish();
    });
  }
  // Envelopes are sealed before the clock starts: the load generator's AEAD work is not the relay's.
  const prepared = senders.map((_, s) =>
    Array.from({ length: scenario.perSender }, (_, i) => {
      const key = `${s}:${i}`.padEnd(KEY_BYTES, " ");
      return Buffer.from(testEnvelope(Buffer.concat([Buffer.from(key), filler]))).toString("base64");
    }),
  );
  // Client message ids unique per call: the relay refuses an id reused with another envelope.
  const run = toHex(randomBytes(4));
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  senders.forEach((socket, s) => {
    const to = names[s]![1]!;
    let next = 0;
    let inflight = 0;
    const pump = () => {
      while (inflight < scenario.window && next < scenario.perSender) {
        const envelope = prepared[s]![next]!;
        sentAt.set(nonceKey(envelope), performance.now());
        socket.send(
          JSON.stringify({
            type: "send",
            id: `b${run}x${next}`,
            to,
            envelope,
          }),
        );
        inflight++;
        next++;
      }
    };
    socket.on("message", (data) => {
      const frame = JSON.parse(data.toString()) as { type: string; code?: string };
      if (frame.type === "sent") {
        inflight--;
        pump();
      } else if (frame.type === "error") {
        fail(new Error(`${target}: send failed with ${frame.code}`));
      }
    });
    pump();
  });
  await done;
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  for (const socket of [...senders, ...receivers]) socket.close();
  latencies.sort((a, b) => a - b);
  return {
    target,
    scenario: scenario.name,
    messages: total,
    seconds: Math.round(seconds * 1000) / 1000,
    messagesPerSecond: Math.round(total / seconds),
    megabytesPerSecond: Math.round((bytes / 1_048_576 / seconds) * 10) / 10,
    p50ms: Math.round(percentile(latencies, 50) * 100) / 100,
    p99ms: Math.round(percentile(latencies, 99) * 100) / 100,
    loadCpuMsPerMessage: Math.round(((cpu.user + cpu.system) / 1000 / total) * 1000) / 1000,
  };
}

export async function startBaseline(dir: string): Promise<{ child: ChildProcess; port: number }> {
  const portFile = join(dir, "baseline-port.json");
  // A port file left by an earlier call would name a server that is gone.
  rmSync(portFile, { force: true });
  const child = spawn(
    process.execPath,
    [new URL("./_baseline-server.ts", import.meta.url).pathname, join(dir, "baseline.sqlite"), portFile],
    {
      stdio: ["ignore", "ignore", "inherit"],
    },
  );
  for (let i = 0; i < 400 && !existsSync(portFile); i++)
    await new Promise((resolve) => setTimeout(resolve, 25));
  if (!existsSync(portFile)) {
    child.kill("SIGKILL");
    throw new Error("bench: the baseline server did not start");
  }
  return { child, port: (JSON.parse(readFileSync(portFile, "utf8")) as { port: number }).port };
}

/** The bare baseline's sockets: no token, the name in the query. */
export function bareEndpoint(port: number): Endpoint {
  return { connect: (name) => ({ url: `ws://127.0.0.1:${port}/?name=${name}`, headers: {} }) };
}
