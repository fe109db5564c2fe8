// `npm run bench -- attachments [--runs N]`: attachment encryption and decryption throughput at 1 MiB
// and 64 MiB, against one-shot ChaCha20-Poly1305 over the same bytes in the same run. The ratio is the
// cost of chunking, key derivation and the ciphertext hash (attachment MB/s ÷ baseline MB/s).
import { mkdirSync, writeFileSync } from "node:fs";
import { decryptAttachment, encryptAttachment } from "../src/client/attachments/attachment.ts";
import { aeadOpen, aeadSeal, blake2b, randomBytes } from "../src/crypto/index.ts";

interface Row {
  size: string;
  operation: "encrypt" | "decrypt";
  attachmentMBps: number;
  baselineMBps: number;
  ratio: number;
  /** BLAKE2b-512 alone over the same bytes: the part of the gap the ciphertext hash explains. */
  hashMBps: number;
}

const MiB = 1024 * 1024;

/**
 * Median MB/s of `runs` timed calls (after one warm-up call). Awaited: the attachment codec seals and
 * opens through the provider's asynchronous AEAD, and its cost is part of what is measured.
 */
async function throughput(bytes: number, runs: number, call: () => unknown): Promise<number> {
  await call();
  const rates: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    await call();
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    rates.push(bytes / MiB / seconds);
  }
  rates.sort((a, b) => a - b);
  return rates[Math.floor(rates.length / 2)]!;
}

async function measure(size: number, runs: number): Promise<Row[]> {
  const plaintext = randomBytes(size);
  const key = randomBytes(32);
  const nonce = randomBytes(12);
  const ad = new Uint8Array(0);
  const options = { contentType: "application/octet-stream" };
  const { ciphertext, reference } = await encryptAttachment(plaintext, options);
  const sealed = aeadSeal(key, nonce, plaintext, ad);
  const label = size >= MiB ? `${size / MiB} MiB` : `${size} B`;

  // Interleaved so that noise from other processes hits both sides of each ratio alike.
  const encrypt = await throughput(size, runs, () => encryptAttachment(plaintext, options));
  const encryptBase = await throughput(size, runs, () => aeadSeal(key, nonce, plaintext, ad));
  const decrypt = await throughput(size, runs, () =>
    decryptAttachment(ciphertext, reference, { maxBytes: size }),
  );
  const decryptBase = await throughput(size, runs, () => aeadOpen(key, nonce, sealed, ad));
  const hashMBps = await throughput(size, runs, () => blake2b(ciphertext));
  return [
    {
      size: label,
      operation: "encrypt",
      attachmentMBps: encrypt,
      baselineMBps: encryptBase,
      ratio: encrypt / encryptBase,
      hashMBps,
    },
    {
      size: label,
      operation: "decrypt",
      attachmentMBps: decrypt,
      baselineMBps: decryptBase,
      ratio: decrypt / decryptBase,
      hashMBps,
    },
  ];
}

function table(rows: Row[]): string {
  const header = ["size", "operation", "attachment MB/s", "ChaCha20-Poly1305 MB/s", "ratio", "BLAKE2b MB/s"];
  const cells = rows.map((row) => [
    row.size,
    row.operation,
    row.attachmentMBps.toFixed(0),
    row.baselineMBps.toFixed(0),
    row.ratio.toFixed(2),
    row.hashMBps.toFixed(0),
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...cells.map((line) => line[column]!.length)),
  );
  const format = (line: string[]) =>
    line
      .map((cell, column) => (column < 2 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!)))
      .join("  ");
  return [format(header), widths.map((width) => "-".repeat(width)).join("  "), ...cells.map(format)].join(
    "\n",
  );
}

export async function run(args: string[]): Promise<void> {
  const runsIndex = args.indexOf("--runs");
  const runs = runsIndex >= 0 ? Number(args[runsIndex + 1]) : 0;
  if (runsIndex >= 0 && (!Number.isInteger(runs) || runs < 1))
    throw new RangeError("--runs takes a positive integer");
  const rows = [...(await measure(MiB, runs || 30)), ...(await measure(64 * MiB, runs || 3))];
  process.stdout.write(`attachments: throughput (MB = MiB), median of runs, Node ${process.version}\n`);
  process.stdout.write(`${table(rows)}\n`);
  const results = new URL("results/", import.meta.url);
  mkdirSync(results, { recursive: true });
  writeFileSync(
    new URL("attachments-latest.json", results),
    `${JSON.stringify({ benchmark: "attachments", date: new Date().toISOString(), node: process.version, rows }, null, 2)}\n`,
  );
}
