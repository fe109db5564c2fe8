// The 1 MiB scenario of `npm run bench -- relay`. nano v1 caps an envelope at 64 KiB (protocol.md §9),
// so 1 MiB of content travels as an attachment (docs/attachments.md): the sender uploads the encrypted
// blob (PUT /v1/attachments/:hash), sends a small envelope carrying the reference over WebSocket, the
// recipient downloads the blob once the envelope is pushed, decrypts and verifies it, and acks the
// envelope. Measured against a bare node:http server that stores the same bytes with the same fsync
// and serves them back (bench/_baseline-blob-server.ts), in the same run.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { Agent, type IncomingMessage, request } from "node:http";
import { join } from "node:path";
import type WebSocket from "ws";
import {
  type AttachmentReference,
  decodeAttachmentReferenceExact,
  decryptAttachment,
  encodeAttachmentReference,
  encryptAttachment,
} from "../src/client/attachments/attachment.ts";
import { randomBytes, toHex } from "../src/crypto/index.ts";
import { envelopeMarker, testEnvelope } from "../test/relay/fixtures/identities.ts";
import { type RelayProcess, signUpOver } from "../test/relay/fixtures/processes.ts";
import { openReadySocket } from "./_ready-socket.ts";

export interface AttachmentScenario {
  readonly pairs: number;
  /** Attachments each sender transfers to its receiver. */
  readonly perSender: number;
  readonly plaintextBytes: number;
  /** Transfers in flight per pair (closed loop: a slot frees when its transfer completed). */
  readonly window: number;
}

export interface AttachmentRow {
  readonly target: "relay" | "baseline";
  readonly scenario: string;
  readonly pairs: number;
  readonly transfers: number;
  /** Ciphertext bytes of one attachment: what is stored and delivered. */
  readonly blobBytes: number;
  readonly seconds: number;
  readonly transfersPerSecond: number;
  /** MiB of ciphertext stored and delivered per second (2^20 bytes, as the envelope rows). */
  readonly megabytesPerSecond: number;
  /** Upload start to verified (decrypted, hash-checked) download at the receiver. */
  readonly p50ms: number;
  readonly p99ms: number;
  /** Transfers/s relative to the mean of the two baseline runs (1 for the baseline itself). */
  readonly ratio: number;
}

interface Transfer {
  readonly hash: string;
  readonly ciphertext: Uint8Array;
  readonly reference: AttachmentReference;
  /** Base64 test envelope whose content is the base64 attachment reference. */
  readonly envelope: string;
}

interface Sample {
  readonly seconds: number;
  readonly latencies: number[];
}

type Pair = { readonly sender: string; readonly receiver: string };

/** A transfer that has not completed by then failed: a benchmark must end, never hang. */
const TRANSFER_TIMEOUT_MS = 120_000;
const CONTENT_TYPE = "application/octet-stream";

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Attachments are encrypted before any clock starts: the load generator's AEAD work is not the relay's. */
async function prepare(scenario: AttachmentScenario): Promise<Transfer[][]> {
  const plaintext = randomBytes(scenario.plaintextBytes);
  const all: Transfer[][] = [];
  for (let pair = 0; pair < scenario.pairs; pair++) {
    const transfers: Transfer[] = [];
    for (let index = 0; index < scenario.perSender; index++) {
      // A fresh file key per call, so every ciphertext and hash differs though the plaintext repeats.
      const { ciphertext, reference } = await encryptAttachment(plaintext, { contentType: CONTENT_TYPE });
      const marker = Buffer.from(encodeAttachmentReference(reference)).toString("base64");
      transfers.push({
        hash: toHex(reference.hash),
        ciphertext,
        reference,
        envelope: Buffer.from(testEnvelope(marker)).toString("base64"),
      });
    }
    all.push(transfers);
  }
  return all;
}

/** What the receiver does with the downloaded bytes: decrypt, which checks every chunk and the hash. */
async function verify(body: Uint8Array, reference: AttachmentReference): Promise<void> {
  const plaintext = await decryptAttachment(body, reference, { maxBytes: reference.size });
  if (plaintext.length !== reference.size) throw new Error("bench: attachment decrypted to a wrong size");
}

async function readAll(response: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of response) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function call(
  agent: Agent,
  url: string,
  method: "PUT" | "GET",
  headers: Record<string, string>,
  body?: Uint8Array,
): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        agent,
        method,
        headers: {
          ...headers,
          ...(body === undefined
            ? {}
            : { "content-type": CONTENT_TYPE, "content-length": String(body.length) }),
        },
      },
      (response) => {
        readAll(response).then((bytes) => resolve({ status: response.statusCode ?? 0, body: bytes }), reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

async function expectStatus(
  target: string,
  what: string,
  pending: Promise<{ status: number; body: Buffer }>,
  status: number,
): Promise<Buffer> {
  const answer = await pending;
  if (answer.status !== status) {
    const detail = answer.body.toString("utf8").slice(0, 300);
    throw new Error(`${target}: ${what} answered ${answer.status} ${detail}`);
  }
  return answer.body;
}

/** Runs `window` closed-loop workers per pair over its transfers; rejects on the first failure. */
async function drive(
  scenario: AttachmentScenario,
  prepared: Transfer[][],
  transfer: (pair: number, item: Transfer) => Promise<number>,
): Promise<Sample> {
  const latencies: number[] = [];
  const started = performance.now();
  await Promise.all(
    prepared.map(async (items, pair) => {
      let next = 0;
      const worker = async () => {
        while (next < items.length) {
          const item = items[next++]!;
          latencies.push(await transfer(pair, item));
        }
      };
      await Promise.all(Array.from({ length: scenario.window }, worker));
    }),
  );
  return { seconds: (performance.now() - started) / 1000, latencies };
}

async function baselineLoad(
  port: number,
  scenario: AttachmentScenario,
  prepared: Transfer[][],
): Promise<Sample> {
  const agent = new Agent({ keepAlive: true });
  try {
    return await drive(scenario, prepared, async (_pair, item) => {
      const started = performance.now();
      const url = `http://127.0.0.1:${port}/blobs/${item.hash}`;
      await expectStatus("baseline", "upload", call(agent, url, "PUT", {}, item.ciphertext), 201);
      await verify(
        await expectStatus("baseline", "download", call(agent, url, "GET", {}), 200),
        item.reference,
      );
      return performance.now() - started;
    });
  } finally {
    agent.destroy();
  }
}

function openSocket(url: string, token: string): Promise<WebSocket> {
  return openReadySocket(url, { authorization: `Bearer ${token}` });
}

async function relayLoad(
  relay: RelayProcess,
  tokens: ReadonlyMap<string, string>,
  pairs: readonly Pair[],
  scenario: AttachmentScenario,
  prepared: Transfer[][],
): Promise<Sample> {
  const agent = new Agent({ keepAlive: true });
  const auth = (name: string) => ({ authorization: `Bearer ${tokens.get(name)}` });
  /** Per attachment hash: the sender's worker, waiting for the receiver's durable ack. */
  const waiting = new Map<string, { started: number; latency?: number; settle: (error?: Error) => void }>();
  let failure: Error | undefined;
  const fail = (error: Error) => {
    failure ??= error;
    for (const entry of waiting.values()) entry.settle(failure);
  };
  const receivers = await Promise.all(
    pairs.map(({ receiver }) => openSocket(relay.wsUrl, tokens.get(receiver)!)),
  );
  const senders = await Promise.all(pairs.map(({ sender }) => openSocket(relay.wsUrl, tokens.get(sender)!)));
  receivers.forEach((socket, index) => {
    const receiver = pairs[index]!.receiver;
    socket.on("message", (data) => {
      const frame = JSON.parse(data.toString()) as {
        type: string;
        id: number;
        envelope: string;
        ref?: string;
      };
      if (frame.type === "acked") {
        waiting.get(frame.ref ?? "")?.settle();
        return;
      }
      if (frame.type !== "message") return;
      // The receiver learns what to fetch only from the envelope, as a client does.
      const reference = decodeAttachmentReferenceExact(
        Buffer.from(envelopeMarker(Buffer.from(frame.envelope, "base64")), "base64"),
      );
      const hash = toHex(reference.hash);
      expectStatus(
        "relay",
        "download",
        call(agent, `${relay.url}/v1/attachments/${hash}`, "GET", auth(receiver)),
        200,
      )
        .then(async (body) => {
          await verify(body, reference);
          const entry = waiting.get(hash);
          if (entry !== undefined) entry.latency = performance.now() - entry.started;
          socket.send(JSON.stringify({ type: "ack", ids: [frame.id], ref: hash }));
        })
        .catch((error: unknown) => fail(error instanceof Error ? error : new Error(String(error))));
    });
  });
  for (const socket of senders) {
    socket.on("message", (data) => {
      const frame = JSON.parse(data.toString()) as { type: string; code?: string };
      if (frame.type === "error") fail(new Error(`relay: envelope send failed with ${frame.code}`));
    });
  }
  try {
    return await drive(scenario, prepared, async (pair, item) => {
      if (failure !== undefined) throw failure;
      const { sender, receiver } = pairs[pair]!;
      const started = performance.now();
      const acked = new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => fail(new Error("relay: a transfer timed out")), TRANSFER_TIMEOUT_MS);
        const entry = {
          started,
          settle: (error?: Error) => {
            clearTimeout(timer);
            waiting.delete(item.hash);
            if (error === undefined) resolve(entry.latency ?? Number.NaN);
            else reject(error);
          },
        } as { started: number; latency?: number; settle: (error?: Error) => void };
        waiting.set(item.hash, entry);
      });
      // Suppress the unhandled rejection if the upload fails first; the upload's error is the one reported.
      acked.catch(() => {});
      try {
        const url = `${relay.url}/v1/attachments/${item.hash}?recipients=${receiver}`;
        await expectStatus("relay", "upload", call(agent, url, "PUT", auth(sender), item.ciphertext), 201);
      } catch (error) {
        fail(error instanceof Error ? error : new Error(String(error)));
        throw error;
      }
      senders[pair]!.send(
        JSON.stringify({
          type: "send",
          id: `a${item.hash.slice(0, 32)}`,
          to: receiver,
          envelope: item.envelope,
        }),
      );
      return await acked;
    });
  } finally {
    for (const socket of [...senders, ...receivers]) socket.close();
    agent.destroy();
  }
}

async function startBlobBaseline(dir: string): Promise<{ child: ChildProcess; port: number }> {
  const portFile = join(dir, "baseline-blob-port.json");
  // A port file left by an earlier call would name a server that is gone.
  rmSync(portFile, { force: true });
  const child = spawn(
    process.execPath,
    [new URL("./_baseline-blob-server.ts", import.meta.url).pathname, join(dir, "baseline-blobs"), portFile],
    { stdio: ["ignore", "ignore", "inherit"] },
  );
  for (let i = 0; i < 400 && !existsSync(portFile); i++)
    await new Promise((resolve) => setTimeout(resolve, 25));
  if (!existsSync(portFile)) {
    child.kill("SIGKILL");
    throw new Error("bench: the baseline blob server did not start");
  }
  return { child, port: (JSON.parse(readFileSync(portFile, "utf8")) as { port: number }).port };
}

function row(
  target: "relay" | "baseline",
  scenario: AttachmentScenario,
  blobBytes: number,
  samples: readonly Sample[],
  ratio: number,
): AttachmentRow {
  const transfers = scenario.pairs * scenario.perSender;
  // Two baseline runs (before and after the relay's) are averaged: that cancels drift on a shared machine.
  const mean = (pick: (sample: Sample) => number) =>
    samples.reduce((sum, sample) => sum + pick(sample), 0) / samples.length;
  const seconds = mean((sample) => sample.seconds);
  const at = (p: number) =>
    mean((sample) =>
      percentile(
        [...sample.latencies].sort((a, b) => a - b),
        p,
      ),
    );
  return {
    target,
    scenario: `${scenario.plaintextBytes / 1_048_576 >= 1 ? `${scenario.plaintextBytes / 1_048_576} MiB` : `${scenario.plaintextBytes / 1024} KiB`} attachment`,
    pairs: scenario.pairs,
    transfers,
    blobBytes,
    seconds: Math.round(seconds * 1000) / 1000,
    transfersPerSecond: Math.round(mean((sample) => transfers / sample.seconds) * 10) / 10,
    megabytesPerSecond:
      Math.round(mean((sample) => (transfers * blobBytes) / 1_048_576 / sample.seconds) * 10) / 10,
    p50ms: Math.round(at(50) * 100) / 100,
    p99ms: Math.round(at(99) * 100) / 100,
    ratio,
  };
}

let runs = 0;

/**
 * Runs the attachment scenario against `relay` (already started) and a baseline blob server it starts
 * and stops itself, in the order baseline, relay, baseline. Signs up its own users (fresh names per
 * call, so it can run more than once against one relay). Rejects on any failed or timed-out transfer.
 */
export async function runRelayAttachments(
  relay: RelayProcess,
  dir: string,
  scenario: AttachmentScenario,
): Promise<AttachmentRow[]> {
  const tag = `${runs++}${toHex(randomBytes(3))}`;
  const pairs: Pair[] = Array.from({ length: scenario.pairs }, (_, i) => ({
    sender: `att${tag}s${i}`,
    receiver: `att${tag}r${i}`,
  }));
  const tokens = new Map<string, string>();
  for (const { sender, receiver } of pairs) {
    for (const name of [sender, receiver]) tokens.set(name, (await signUpOver(relay.url, name)).token);
  }
  const prepared = await prepare(scenario);
  const blobBytes = prepared[0]![0]!.ciphertext.length;
  const baseline = await startBlobBaseline(dir);
  const cleanup = () => baseline.child.kill("SIGKILL");
  process.once("exit", cleanup);
  try {
    const b1 = await baselineLoad(baseline.port, scenario, prepared);
    const r = await relayLoad(relay, tokens, pairs, scenario, prepared);
    const b2 = await baselineLoad(baseline.port, scenario, prepared);
    const base = row("baseline", scenario, blobBytes, [b1, b2], 1);
    const relayRow = row("relay", scenario, blobBytes, [r], 0);
    return [
      base,
      { ...relayRow, ratio: Math.round((relayRow.transfersPerSecond / base.transfersPerSecond) * 100) / 100 },
    ];
  } finally {
    process.off("exit", cleanup);
    baseline.child.kill("SIGTERM");
  }
}

/**
 * The bare attachment baseline alone (bench/_baseline-blob-server.ts), for `npm run bench -- e2e`:
 * transfers/s of `scenario` through a baseline server it starts in `dir` and stops.
 */
export async function runBareAttachments(dir: string, scenario: AttachmentScenario): Promise<AttachmentRow> {
  const prepared = await prepare(scenario);
  const blobBytes = prepared[0]![0]!.ciphertext.length;
  const baseline = await startBlobBaseline(dir);
  const cleanup = () => baseline.child.kill("SIGKILL");
  process.once("exit", cleanup);
  try {
    return row("baseline", scenario, blobBytes, [await baselineLoad(baseline.port, scenario, prepared)], 1);
  } finally {
    process.off("exit", cleanup);
    // Killed outright: its blobs are thrown away, and nothing may keep this process waiting on it.
    baseline.child.kill("SIGKILL");
  }
}

/** The default scenario: 1 MiB attachments, 2 pairs unless `--pairs` says otherwise. */
export function attachmentScenario(quick: boolean, pairs: number | undefined): AttachmentScenario {
  return { pairs: pairs ?? 2, perSender: quick ? 12 : 40, plaintextBytes: 1_048_576, window: 2 };
}

/** The rows as an aligned table, in the shape of the envelope table above it. */
export function formatAttachmentRows(rows: readonly AttachmentRow[]): string {
  const header = [
    "scenario",
    "pairs",
    "target",
    "transfers",
    "xfer/s",
    "MB/s",
    "p50 ms",
    "p99 ms",
    "vs baseline",
  ];
  const table = [
    header,
    ...rows.map((r) => [
      r.scenario,
      String(r.pairs),
      r.target,
      String(r.transfers),
      String(r.transfersPerSecond),
      String(r.megabytesPerSecond),
      String(r.p50ms),
      String(r.p99ms),
      `${r.ratio}x`,
    ]),
  ];
  const widths = header.map((_, column) => Math.max(...table.map((cells) => cells[column]!.length)));
  const lines = table.map((cells) => cells.map((cell, column) => cell.padEnd(widths[column]!)).join("  "));
  lines.push(
    "relay = PUT (auth, BLAKE2b-512 while streaming, fsync, metadata + quota commit), envelope over WebSocket, " +
      "push, GET, durable ack; baseline = PUT to a file + fsync, GET, nothing else. Latency is upload start -> " +
      "verified download (decrypted, hash checked) at the receiver.",
  );
  return `${lines.join("\n")}\n`;
}
