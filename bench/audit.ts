// `npm run bench -- audit [--quick]`: the Merkle log's appends, proof generation and verification at
// 10^3, 10^5 and 10^6 entries (memory and SQLite stores; --quick skips 10^6), and checkpoint signing and
// verification. Every rate is also given as a cost in SHA-256 node hashes measured in the same run,
// because the machine is shared and absolute rates drift.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openCheckpoint } from "../src/audit/checkpoint.ts";
import { generateLogKey, signCheckpoint } from "../src/audit/log-signer.ts";
import type { MerkleLogStore } from "../src/audit/log-store.ts";
import { MemoryLogStore } from "../src/audit/memory-log-store.ts";
import { hashChildren, hashLeaf } from "../src/audit/merkle-hash.ts";
import { MerkleLog } from "../src/audit/merkle-log.ts";
import { verifyConsistency, verifyInclusion } from "../src/audit/merkle-verify.ts";
import { SqliteLogStore } from "../src/audit/sqlite-log-store.ts";
import { sha256 } from "../src/crypto/hash.ts";
import { nodeProvider } from "../src/crypto/node-provider.ts";
import { createWebProvider } from "../src/crypto/web/index.ts";
import { type BenchRow, measure, printTable, writeResults } from "./_audit-table.ts";

const BATCH = 10_000;

function entryBytes(i: number): Uint8Array {
  // A typical audit record: ~100 bytes.
  return new TextEncoder().encode(
    `{"t":"event","i":${i},"at":1700000000,"actor":"${"a".repeat(40)}","c":"${"c".repeat(20)}"}`,
  );
}

/** Deterministic pseudo-random indices so runs are comparable. */
function* indices(bound: number): Generator<number> {
  let x = 0x9e3779b9;
  for (;;) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    yield (x >>> 0) % bound;
  }
}

export async function run(args: string[]): Promise<void> {
  const quick = args.includes("--quick");
  const sizes = quick ? [1_000, 100_000] : [1_000, 100_000, 1_000_000];
  const dir = mkdtempSync(join(tmpdir(), "nano-bench-audit-"));
  const rows: BenchRow[] = [];
  const a = hashLeaf(sha256, new Uint8Array(8));
  const b = hashLeaf(sha256, new Uint8Array(9));
  const baseline = await measure(() => hashChildren(sha256, a, b), 500, 1000);
  const add = (operation: string, store: string, size: number, opsPerSecond: number): void => {
    rows.push({ operation, store, size, opsPerSecond, baselineRatio: baseline / opsPerSecond });
  };
  add("baseline: SHA-256 node hash", "-", 0, baseline);
  try {
    for (const [storeName, open] of [
      ["memory", (): MerkleLogStore => new MemoryLogStore()],
      ["sqlite", (n: number): MerkleLogStore => new SqliteLogStore(join(dir, `bench-${n}.db`))],
    ] as const) {
      for (const n of sizes) {
        const store = open(n);
        const log = new MerkleLog(store);
        const started = performance.now();
        for (let start = 0; start < n; start += BATCH) {
          const count = Math.min(BATCH, n - start);
          await log.append(Array.from({ length: count }, (_, i) => entryBytes(start + i)));
        }
        const seconds = (performance.now() - started) / 1000;
        add(`append (batches of ${BATCH})`, storeName, n, n / seconds);
        process.stderr.write(`built ${storeName} log of ${n} in ${seconds.toFixed(1)} s\n`);
        let next = n;
        add(
          "append (one entry per commit)",
          storeName,
          n,
          await measure(() => log.append([entryBytes(next++)]), 300),
        );
        const size = await log.size();
        const root = await log.rootHash(size);
        const pick = indices(size);
        add(
          "inclusion proof: generate",
          storeName,
          n,
          await measure(() => log.inclusionProof(pick.next().value!, size)),
        );
        const index = pick.next().value!;
        const proof = await log.inclusionProof(index, size);
        const leafHash = await log.leafHash(index);
        add(
          "inclusion proof: verify",
          storeName,
          n,
          await measure(() =>
            verifyInclusion(sha256, { leafHash, index, treeSize: size, proof, rootHash: root }),
          ),
        );
        const old = Math.max(1, Math.floor(size / 3) + 7);
        add(
          "consistency proof: generate",
          storeName,
          n,
          await measure(() => log.consistencyProof(pick.next().value! + 1, size)),
        );
        const consistency = await log.consistencyProof(old, size);
        const oldRoot = await log.rootHash(old);
        add(
          "consistency proof: verify",
          storeName,
          n,
          await measure(() =>
            verifyConsistency(sha256, {
              size1: old,
              size2: size,
              root1: oldRoot,
              root2: root,
              proof: consistency,
            }),
          ),
        );
        add("root at the current size", storeName, n, await measure(() => log.rootHash(size)));
        if (store instanceof SqliteLogStore) store.close();
      }
    }
    const key = generateLogKey("bench.example.com/log");
    const checkpoint = {
      origin: "bench.example.com/log",
      size: 1_000_000,
      rootHash: hashLeaf(sha256, new Uint8Array(1)),
      extensions: [],
    };
    add(
      "checkpoint: sign (Ed25519 + ML-DSA-65)",
      "-",
      0,
      await measure(() => signCheckpoint(checkpoint, key.signing)),
    );
    const note = signCheckpoint(checkpoint, key.signing);
    add(
      "checkpoint: parse + verify both",
      "-",
      0,
      await measure(() => openCheckpoint(nodeProvider, note, key.verifier)),
    );
    // What a browser client pays (WebCrypto where Node 24 has it, else @noble), and @noble alone.
    for (const use of ["detect", "noble"] as const) {
      const web = await createWebProvider({ use });
      add(
        `checkpoint: parse + verify both (${web.name})`,
        "-",
        0,
        await measure(() => openCheckpoint(web, note, key.verifier)),
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  printTable(`audit log (${quick ? "quick: no 10^6" : "full"}; node ${process.version})`, rows);
  const file = writeResults("audit", { date: new Date().toISOString(), node: process.version, quick, rows });
  process.stdout.write(`\nwrote ${file}\n`);
}
