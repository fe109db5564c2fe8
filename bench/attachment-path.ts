// `npm run bench -- attachment-path [--runs N] [--size BYTES]`: where the time of one 1 MiB attachment
// goes, piece by piece, through a real relay process and the client's own code: encrypt, upload
// (PUT, durable store, 201), download (GET), verify + decrypt, and the receiver's hand-over (UTF-8
// decode of a long text, or saving a 0600 file). One transfer at a time, so each piece is timed alone;
// the relay's CPU per upload and per download is read from /proc (Linux). The end-to-end benchmark
// (`e2e`) measures the pieces together under load; this one says which of them costs what.
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { decryptAttachment, encryptAttachment } from "../src/client/attachments/attachment.ts";
import { LocalStore } from "../src/client/local-store/local-store.ts";
import { fetchAttachmentToFile } from "../src/client/messaging/attachment-files.ts";
import { type AttachmentLink, fetchAttachment, sendAttachment } from "../src/client/messaging/attachments.ts";
import {
  checkRawStatus,
  endpointFromUrl,
  type RelayEndpoint,
  requestRaw,
  requestStream,
} from "../src/client/transport/relay-http.ts";
import { randomBytes, toHex, utf8 } from "../src/crypto/index.ts";
import { nodePrimitives } from "../src/crypto/node-provider.ts";
import { tempDir, testConfig } from "../test/relay/fixtures/harness.ts";
import { RelayProcess, signUpOver } from "../test/relay/fixtures/processes.ts";
import { processCpuSeconds } from "./_e2e-workers.ts";

const MiB = 1024 * 1024;

export interface Piece {
  readonly piece: string;
  readonly p50ms: number;
  readonly meanMs: number;
  /** This process's CPU per call (user + system): the client's side of the piece. */
  readonly clientCpuMs: number;
  /** Relay CPU per call (user + system), where the piece runs on the relay. */
  readonly relayCpuMs: number | null;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function option(args: string[], name: string, fallback: number): number {
  const index = args.indexOf(name);
  if (index < 0) return fallback;
  const value = Number(args[index + 1]);
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} takes a positive integer`);
  return value;
}

/** Times `runs` calls of `call`; with `pid`, also the CPU that process spent over all of them. */
async function timed(
  name: string,
  runs: number,
  call: (index: number) => Promise<unknown> | unknown,
  pid?: number,
): Promise<Piece> {
  await call(-1);
  const times: number[] = [];
  const cpuBefore = processCpuSeconds(pid);
  const ownBefore = process.cpuUsage();
  for (let index = 0; index < runs; index++) {
    const started = performance.now();
    await call(index);
    times.push(performance.now() - started);
  }
  const own = process.cpuUsage(ownBefore);
  const cpuAfter = processCpuSeconds(pid);
  return {
    piece: name,
    p50ms: median(times),
    meanMs: times.reduce((a, b) => a + b, 0) / runs,
    clientCpuMs: (own.user + own.system) / 1000 / runs,
    relayCpuMs: cpuBefore === null || cpuAfter === null ? null : ((cpuAfter - cpuBefore) * 1000) / runs,
  };
}

export async function run(args: string[]): Promise<void> {
  const runs = option(args, "--runs", 30);
  const size = option(args, "--size", MiB);
  report(await measureAttachmentPath(runs, size), size, runs);
}

/** Every piece, `runs` timed calls each (after one warm-up), for attachments of `size` bytes. */
export async function measureAttachmentPath(runs: number, size: number): Promise<Piece[]> {
  const dir = tempDir("bench-attachment-path");
  const relayDir = join(dir, "relay");
  mkdirSync(relayDir);
  const relay = new RelayProcess(
    testConfig(
      { monitoring: { log_level: "warn" }, limits: { attachment_quota_bytes: 64 * 1024 * MiB } },
      relayDir,
    ),
    relayDir,
  );
  await relay.start();
  process.on("exit", () => relay.kill("SIGKILL"));
  try {
    const sender = await signUpOver(relay.url, "pathsender");
    const receiver = await signUpOver(relay.url, "pathreceiver");
    const endpoint: RelayEndpoint = endpointFromUrl(relay.url, null);
    const pid = relay.ports!.pid;
    const plaintext = new Uint8Array(size).fill(0x78);
    const meta = { contentType: "application/octet-stream", maxBytes: size };
    const senderLink = tokenLink(endpoint, sender.token);
    const receiverLink = tokenLink(endpoint, receiver.token);
    // Each recipient download deletes the blob (its last fetch), so every piece gets fresh uploads,
    // encrypted and uploaded outside the timed calls.
    const prepare = async () => {
      const blobs: Awaited<ReturnType<typeof encryptAttachment>>[] = [];
      for (let i = 0; i <= runs; i++) blobs.push(await encryptAttachment(plaintext, meta));
      return blobs;
    };
    const uploadAll = async (blobs: Awaited<ReturnType<typeof prepare>>) => {
      for (const { ciphertext, reference } of blobs) {
        await senderLink.api.uploadAttachment(toHex(reference.hash), ["pathreceiver"], ciphertext);
      }
    };
    const at = <T>(list: T[], index: number) => list[index + 1]!;
    const saveDir = join(dir, "downloads");
    const pieces: Piece[] = [];
    pieces.push(
      await timed("sender: seal + upload (sendAttachment)", runs, async () => {
        await sendAttachment(nodePrimitives, senderLink, "pathreceiver", plaintext, meta);
      }),
    );
    pieces.push(await timed("encrypt alone, in memory", runs, () => encryptAttachment(plaintext, meta)));
    const uploads = await prepare();
    pieces.push(
      await timed(
        "upload alone: PUT -> durable store -> 201",
        runs,
        (index) =>
          senderLink.api.uploadAttachment(
            toHex(at(uploads, index).reference.hash),
            ["pathreceiver"],
            at(uploads, index).ciphertext,
          ),
        pid,
      ),
    );
    pieces.push(
      await timed(
        "download alone: GET, whole body in memory",
        runs,
        (index) =>
          requestRaw(endpoint, {
            method: "GET",
            path: `/v1/attachments/${toHex(at(uploads, index).reference.hash)}`,
            token: receiver.token,
            maxResponseBytes: 2 * size + MiB,
          }).then(checkRawStatus),
        pid,
      ),
    );
    pieces.push(
      await timed("verify + decrypt alone, in memory", runs, (index) =>
        decryptAttachment(at(uploads, index).ciphertext, at(uploads, index).reference, { maxBytes: size }),
      ),
    );
    pieces.push(
      await timed("UTF-8 decode of the plaintext (long text)", runs, () =>
        new TextDecoder("utf-8", { fatal: true }).decode(plaintext),
      ),
    );
    const whole = await prepare();
    await uploadAll(whole);
    pieces.push(
      await timed("receiver, unstreamed: GET whole, then decrypt", runs, async (index) => {
        const body = checkRawStatus(
          await requestRaw(endpoint, {
            method: "GET",
            path: `/v1/attachments/${toHex(at(whole, index).reference.hash)}`,
            token: receiver.token,
            maxResponseBytes: 2 * size + MiB,
          }),
        );
        await decryptAttachment(body, at(whole, index).reference, { maxBytes: size });
      }),
    );
    const streamed = await prepare();
    await uploadAll(streamed);
    pieces.push(
      await timed("receiver: streamed into memory (fetchAttachment)", runs, (index) =>
        fetchAttachment(nodePrimitives, receiverLink, at(streamed, index).reference),
      ),
    );
    const files = await prepare();
    await uploadAll(files);
    pieces.push(
      await timed("receiver: streamed to a 0600 file (fetchAttachmentToFile)", runs, (index) =>
        fetchAttachmentToFile(receiverLink, at(files, index).reference, saveDir, "file.bin"),
      ),
    );
    // What the receiver does with a long text once it verified: one transaction that stores it (the
    // session update that shares it is left out), sealed into the local SQLite store.
    const store = await LocalStore.open(join(dir, "local.db"), randomBytes(32));
    const text = new TextDecoder().decode(plaintext);
    pieces.push(
      await timed("receiver: commit the text to the local store", runs, (index) =>
        store.transaction((tables) =>
          tables.insertReceived({
            messageId: `m${index}`,
            sender: "pathsender",
            contentType: "text",
            body: utf8(text),
            receivedAt: Date.now(),
          }),
        ),
      ),
    );
    await store.close();
    return pieces;
  } finally {
    await relay.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The client's attachment calls over a bearer token, without a keystore (the same transport). */
function tokenLink(endpoint: RelayEndpoint, token: string): AttachmentLink {
  return {
    api: {
      async uploadAttachment(hashHex, recipients, ciphertext, onProgress) {
        checkRawStatus(
          await requestRaw(endpoint, {
            method: "PUT",
            path: `/v1/attachments/${hashHex}?recipients=${recipients.join(",")}`,
            token,
            body: ciphertext,
            ...(onProgress === undefined ? {} : { onUpload: onProgress }),
          }),
        );
      },
      downloadAttachment: (hashHex, onProgress) =>
        requestStream(endpoint, {
          method: "GET",
          path: `/v1/attachments/${hashHex}`,
          token,
          ...(onProgress === undefined ? {} : { onDownload: onProgress }),
        }),
    },
  };
}

function report(pieces: Piece[], size: number, runs: number): void {
  const header = ["piece", "p50 ms", "mean ms", "client CPU ms", "relay CPU ms"];
  const cells = pieces.map((row) => [
    row.piece,
    row.p50ms.toFixed(2),
    row.meanMs.toFixed(2),
    row.clientCpuMs.toFixed(2),
    row.relayCpuMs === null ? "-" : row.relayCpuMs.toFixed(1),
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...cells.map((line) => line[column]!.length)),
  );
  const format = (line: string[]) =>
    line
      .map((cell, column) => (column === 0 ? cell.padEnd(widths[0]!) : cell.padStart(widths[column]!)))
      .join("  ");
  process.stdout.write(
    `attachment path: ${size} bytes, ${runs} runs each, one at a time, Node ${process.version}\n`,
  );
  process.stdout.write(
    `${[format(header), widths.map((width) => "-".repeat(width)).join("  "), ...cells.map(format)].join("\n")}\n`,
  );
  const results = new URL("results/", import.meta.url);
  mkdirSync(results, { recursive: true });
  writeFileSync(
    new URL("attachment-path-latest.json", results),
    `${JSON.stringify({ benchmark: "attachment-path", date: new Date().toISOString(), node: process.version, size, runs, pieces }, null, 2)}\n`,
  );
}
