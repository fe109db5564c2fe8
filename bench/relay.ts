// `npm run bench -- relay [--quick] [--pairs N]`: messages/s, MB/s and send-to-delivery latency through one relay
// process (durable acks, WebSocket both ways), for real nano v1 hybrid envelopes (docs/protocol.md §9) in
// the 1 KiB padding bucket and in the largest (32 KiB) bucket, checked by the protocol's relayVerifier,
// against a baseline in the same run: a bare ws server with the same SQLite group commit
// (bench/_baseline-server.ts).
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type WebSocket from "ws";
import { randomBytes, toHex } from "../src/crypto/index.ts";
import { tempDir, testConfig } from "../test/relay/fixtures/harness.ts";
import { testEnvelope } from "../test/relay/fixtures/identities.ts";
import { RelayProcess, signUpOver } from "../test/relay/fixtures/processes.ts";
import { openReadySocket } from "./_ready-socket.ts";
import {
  type AttachmentRow,
  attachmentScenario,
  formatAttachmentRows,
  runRelayAttachments,
} from "./_relay-attachments.ts";

interface Scenario {
  readonly name: string;
  /** Padded content size: the envelope is this bucket plus the suite's fixed header and tags. */
  readonly contentBytes: number;
  readonly pairs: number;
  readonly perSender: number;
  readonly window: number;
}

interface Result {
  readonly target: string;
  readonly scenario: string;
  readonly messages: number;
  readonly seconds: number;
  readonly messagesPerSecond: number;
  readonly megabytesPerSecond: number;
  readonly p50ms: number;
  readonly p99ms: number;
}

interface Endpoint {
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

async function runLoad(
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
  const started = performance.now();
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
            id: `b${next}`,
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
  };
}

async function startBaseline(dir: string): Promise<{ child: ChildProcess; port: number }> {
  const portFile = join(dir, "baseline-port.json");
  const child = spawn(
    process.execPath,
    [new URL("./_baseline-server.ts", import.meta.url).pathname, join(dir, "baseline.sqlite"), portFile],
    {
      stdio: ["ignore", "ignore", "inherit"],
    },
  );
  for (let i = 0; i < 400 && !existsSync(portFile); i++)
    await new Promise((resolve) => setTimeout(resolve, 25));
  return { child, port: (JSON.parse(readFileSync(portFile, "utf8")) as { port: number }).port };
}

export async function run(args: string[]): Promise<void> {
  const quick = args.includes("--quick");
  const pairsIndex = args.indexOf("--pairs");
  const pairs = pairsIndex >= 0 ? Number(args[pairsIndex + 1]) : undefined;
  if (pairs !== undefined && !(Number.isInteger(pairs) && pairs >= 1 && pairs <= 64)) {
    process.stderr.write("bench relay: --pairs needs a whole number of sender/receiver pairs, 1-64\n");
    process.exitCode = 64;
    return;
  }
  const scenarios: Scenario[] = [
    {
      name: "1 KiB bucket",
      contentBytes: 1024,
      pairs: pairs ?? 4,
      perSender: quick ? 500 : 2500,
      window: 64,
    },
    {
      name: "32 KiB bucket",
      contentBytes: 32_768,
      pairs: pairs ?? 2,
      perSender: quick ? 100 : 500,
      window: 16,
    },
  ];
  const dir = tempDir("bench-relay");
  const relay = new RelayProcess(
    testConfig(
      {
        monitoring: { log_level: "warn" },
        limits: { mailbox_max_bytes: 4 * 1024 * 1_048_576 },
      },
      dir,
    ),
    dir,
  );
  await relay.start();
  const baseline = await startBaseline(dir);
  // Never leave the child processes behind, even when the run fails.
  process.on("exit", () => {
    baseline.child.kill("SIGKILL");
    relay.kill("SIGKILL");
  });
  const results: Result[] = [];
  let attachments: AttachmentRow[] = [];
  try {
    for (const [index, scenario] of scenarios.entries()) {
      const names = Array.from({ length: scenario.pairs }, (_, i) => [`s${index}x${i}`, `r${index}x${i}`]);
      const tokens = new Map<string, string>();
      for (const name of names.flat()) tokens.set(name, (await signUpOver(relay.url, name)).token);
      const relayEndpoint: Endpoint = {
        connect: (name) => ({ url: relay.wsUrl, headers: { authorization: `Bearer ${tokens.get(name)}` } }),
      };
      const baselineEndpoint: Endpoint = {
        connect: (name) => ({ url: `ws://127.0.0.1:${baseline.port}/?name=${name}`, headers: {} }),
      };
      // Baseline first, then the relay, then the baseline again: the mean of the two baseline runs
      // cancels drift on a shared machine.
      const b1 = await runLoad("baseline", baselineEndpoint, scenario, names);
      const r = await runLoad("relay", relayEndpoint, scenario, names);
      const b2 = await runLoad("baseline", baselineEndpoint, scenario, names);
      const base: Result = {
        ...b1,
        messagesPerSecond: Math.round((b1.messagesPerSecond + b2.messagesPerSecond) / 2),
        megabytesPerSecond: Math.round(((b1.megabytesPerSecond + b2.megabytesPerSecond) / 2) * 10) / 10,
        p50ms: Math.round(((b1.p50ms + b2.p50ms) / 2) * 100) / 100,
        p99ms: Math.round(((b1.p99ms + b2.p99ms) / 2) * 100) / 100,
      };
      results.push(base, r);
    }
    // 1 MiB content is an attachment in nano v1 (envelopes stop at 64 KiB): bench/_relay-attachments.ts.
    attachments = await runRelayAttachments(relay, dir, attachmentScenario(quick, pairs));
  } finally {
    await relay.stop();
    baseline.child.kill("SIGTERM");
  }
  const rows = results.map((result) => {
    const base = results.find((b) => b.target === "baseline" && b.scenario === result.scenario)!;
    return {
      ...result,
      ratio:
        result.target === "relay"
          ? Math.round((result.messagesPerSecond / base.messagesPerSecond) * 100) / 100
          : 1,
    };
  });
  const header = ["scenario", "pairs", "target", "msgs", "msg/s", "MB/s", "p50 ms", "p99 ms", "vs baseline"];
  const table = [
    header,
    ...rows.map((row) => [
      row.scenario,
      String(scenarios.find((scenario) => scenario.name === row.scenario)!.pairs),
      row.target,
      String(row.messages),
      String(row.messagesPerSecond),
      String(row.megabytesPerSecond),
      String(row.p50ms),
      String(row.p99ms),
      row.target === "relay" ? `${row.ratio}x` : "1x",
    ]),
  ];
  const widths = header.map((_, column) => Math.max(...table.map((row) => row[column]!.length)));
  for (const row of table)
    process.stdout.write(`${row.map((cell, column) => cell.padEnd(widths[column]!)).join("  ")}\n`);
  process.stdout.write(
    "relay = durable ack after group commit, auth, validation, idempotency, quotas, metrics; " +
      "baseline = ws + the same SQLite group commit only. Latency is send -> delivery at the receiver.\n",
  );
  process.stdout.write(formatAttachmentRows(attachments));
  const resultsDir = new URL("./results/", import.meta.url).pathname;
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, `relay-${new Date().toISOString().replaceAll(":", "-")}.json`);
  writeFileSync(file, `${JSON.stringify({ node: process.version, quick, rows, attachments }, null, 2)}\n`);
  process.stdout.write(`wrote ${file}\n`);
}
