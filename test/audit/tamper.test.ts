// Tampering with the SQLite store behind the relay's back: verifyLog (the future `nano-relay audit
// verify`) must find every edit and name the first bad index; a client tracker holding an older
// checkpoint must detect the rewritten history as a fork.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { after, test } from "node:test";
import type { Checkpoint, TreeHead } from "../../src/audit/checkpoint.ts";
import { CheckpointTracker } from "../../src/audit/checkpoint-tracker.ts";
import { generateLogKey, signCheckpoint } from "../../src/audit/log-signer.ts";
import { MerkleLog } from "../../src/audit/merkle-log.ts";
import { SqliteLogStore } from "../../src/audit/sqlite-log-store.ts";
import { assertLogIntact, type LogFaultKind, verifyLog } from "../../src/audit/verify-log.ts";
import { utf8 } from "../../src/crypto/bytes.ts";
import { sha256 } from "../../src/crypto/hash.ts";
import { nodeProvider } from "../../src/crypto/node-provider.ts";
import { NanoError } from "../../src/errors/index.ts";

const dir = mkdtempSync(join(tmpdir(), "nano-audit-tamper-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let counter = 0;

const SIZE = 40;
const NAME = "relay.example.com/audit";
const key = generateLogKey(NAME);

function entry(i: number, tag = "event"): Uint8Array {
  return utf8(`${tag} ${i}`);
}

/** A log of SIZE entries appended one by one, with a tree head recorded after every append. */
async function buildLog(): Promise<{
  path: string;
  store: SqliteLogStore;
  log: MerkleLog;
  heads: TreeHead[];
}> {
  const path = join(dir, `log-${counter++}.db`);
  const store = new SqliteLogStore(path);
  const log = new MerkleLog(store);
  const heads: TreeHead[] = [];
  for (let i = 0; i < SIZE; i++) {
    await log.append([entry(i)]);
    heads.push({ size: i + 1, rootHash: await log.rootHash() });
  }
  return { path, store, log, heads };
}

function tamper(path: string, ...statements: [string, ...(string | number | Uint8Array)[]][]): void {
  const db = new DatabaseSync(path);
  for (const [sql, ...params] of statements) db.prepare(sql).run(...params);
  db.close();
}

async function expectFault(
  store: SqliteLogStore,
  heads: readonly TreeHead[],
  kind: LogFaultKind,
  firstBadIndex: number,
  exact: boolean,
): Promise<void> {
  const result = await verifyLog(store, heads, { chunk: 16 });
  assert.equal(result.ok, false, "tampering went unnoticed");
  if (result.ok) return;
  assert.equal(result.fault.kind, kind, result.fault.message);
  assert.equal(result.fault.firstBadIndex, firstBadIndex, result.fault.message);
  assert.equal(result.fault.exact, exact);
  await assert.rejects(assertLogIntact(store, heads), (error: unknown) => {
    assert.ok(NanoError.is(error, "log_tampered"));
    assert.match(error.message, new RegExp(`first bad index ${firstBadIndex}\\b`));
    return true;
  });
}

test("an untouched log verifies against every checkpoint, in any chunk size", async () => {
  const { store, log, heads } = await buildLog();
  for (const chunk of [1, 3, 16, 4096]) {
    const result = await verifyLog(store, heads, { chunk });
    assert.ok(result.ok);
    if (result.ok) {
      assert.equal(result.size, SIZE);
      assert.deepEqual(result.rootHash, await log.rootHash());
      assert.equal(result.checkpointsChecked, SIZE);
    }
  }
  assert.ok((await verifyLog(store, [])).ok, "no checkpoints: internal consistency only");
  store.close();
});

test("a changed entry is named exactly", async () => {
  const { path, store, heads } = await buildLog();
  tamper(path, ["UPDATE merkle_log_entries SET data = ? WHERE idx = 17", utf8("event 17 (edited)")]);
  await expectFault(store, heads, "leaf_hash_mismatch", 17, true);
  store.close();
});

test("a changed entry with its leaf hash rewritten is caught by the subtree hashes", async () => {
  const { path, store, heads } = await buildLog();
  const { hashLeaf } = await import("../../src/audit/merkle-hash.ts");
  const forged = utf8("event 17 (edited)");
  tamper(
    path,
    ["UPDATE merkle_log_entries SET data = ? WHERE idx = 17", forged],
    ["UPDATE merkle_log_nodes SET hash = ? WHERE level = 0 AND idx = 17", hashLeaf(sha256, forged)],
  );
  // The pair [16, 18) no longer hashes to its stored parent: the edit is at 16 or later.
  await expectFault(store, heads, "subtree_hash_mismatch", 16, false);
  store.close();
});

test("a deleted entry is named exactly, with or without renumbering the rest", async () => {
  const first = await buildLog();
  tamper(first.path, ["DELETE FROM merkle_log_entries WHERE idx = 9"]);
  await expectFault(first.store, first.heads, "entry_missing", 9, true);
  first.store.close();
  const second = await buildLog();
  tamper(
    second.path,
    ["DELETE FROM merkle_log_entries WHERE idx = 9"],
    ["UPDATE merkle_log_entries SET idx = idx + 999999 WHERE idx > 9"],
    ["UPDATE merkle_log_entries SET idx = idx - 1000000 WHERE idx >= 1000000"],
    ["UPDATE merkle_log_head SET tree_size = tree_size - 1"],
  );
  await expectFault(second.store, second.heads, "leaf_hash_mismatch", 9, true);
  second.store.close();
});

test("two reordered entries are named at the first of them", async () => {
  const { path, store, heads } = await buildLog();
  tamper(
    path,
    ["UPDATE merkle_log_entries SET idx = 1000000 WHERE idx = 5"],
    ["UPDATE merkle_log_entries SET idx = 5 WHERE idx = 30"],
    ["UPDATE merkle_log_entries SET idx = 30 WHERE idx = 1000000"],
  );
  await expectFault(store, heads, "leaf_hash_mismatch", 5, true);
  store.close();
});

test("an inserted entry is named exactly", async () => {
  const { path, store, heads } = await buildLog();
  tamper(
    path,
    ["UPDATE merkle_log_entries SET idx = idx + 1000001 WHERE idx >= 12"],
    ["UPDATE merkle_log_entries SET idx = idx - 1000000 WHERE idx >= 1000000"],
    ["INSERT INTO merkle_log_entries (log_id, idx, data) VALUES ('audit', 12, ?)", utf8("inserted")],
    ["UPDATE merkle_log_head SET tree_size = tree_size + 1"],
  );
  await expectFault(store, heads, "leaf_hash_mismatch", 12, true);
  store.close();
});

test("truncation alone: the checkpoints beyond the store name the first missing index", async () => {
  const { path, store, heads } = await buildLog();
  tamper(
    path,
    ["DELETE FROM merkle_log_entries WHERE idx >= 33"],
    ["DELETE FROM merkle_log_nodes WHERE (idx + 1) * (1 << level) > 33"],
    ["UPDATE merkle_log_head SET tree_size = 33"],
  );
  await expectFault(store, heads, "checkpoint_beyond_log", 33, true);
  assert.ok((await verifyLog(store, heads.slice(0, 33))).ok, "the remaining prefix is intact");
  store.close();
});

test("truncate and regrow with different entries: only the checkpoints know, and they say where", async () => {
  const { path, store, log, heads } = await buildLog();
  const held = signedCheckpoint(heads[29]!);
  tamper(
    path,
    ["DELETE FROM merkle_log_entries WHERE idx >= 23"],
    ["DELETE FROM merkle_log_nodes WHERE (idx + 1) * (1 << level) > 23"],
    ["UPDATE merkle_log_head SET tree_size = 23"],
  );
  for (let i = 23; i < SIZE + 5; i++) await log.append([entry(i, "rewritten")]);
  assert.ok((await verifyLog(store, [])).ok, "internally the regrown store is consistent");
  // A checkpoint after every append pins the first bad index exactly.
  await expectFault(store, heads, "checkpoint_root_mismatch", 23, true);
  // Coarser checkpoints (every 10 entries) bound it: at or after 20.
  const everyTen = heads.filter((head) => head.size % 10 === 0);
  await expectFault(store, everyTen, "checkpoint_root_mismatch", 20, false);

  // A client holding the old checkpoint at 30 meets the rewritten log's new checkpoint.
  const tracker = await CheckpointTracker.open(nodeProvider, key.verifier, { trusted: held });
  const newSize = await log.size();
  const forged = signedCheckpoint({ size: newSize, rootHash: await log.rootHash() });
  const proof = await log.consistencyProof(30, newSize);
  await assert.rejects(
    async () => await tracker.advance(forged, proof),
    (error: unknown) => {
      assert.ok(NanoError.is(error, "log_fork_detected"));
      assert.match(error.message, /size 30/);
      assert.match(error.message, new RegExp(`size ${newSize}`));
      return true;
    },
  );
  assert.equal(tracker.current?.checkpoint.size, 30, "the tracker keeps the checkpoint it trusted");
  store.close();
});

function signedCheckpoint(head: TreeHead): string {
  const checkpoint: Checkpoint = { origin: NAME, size: head.size, rootHash: head.rootHash, extensions: [] };
  return signCheckpoint(checkpoint, key.signing);
}

test("conflicting or malformed checkpoints given to verifyLog", async () => {
  const { store, heads } = await buildLog();
  const { EMPTY_ROOT, hashLeaf } = await import("../../src/audit/merkle-hash.ts");
  // Two signed roots for size 20: the store matches one; the other is a fork of the log itself.
  const fork = { size: 20, rootHash: hashLeaf(sha256, utf8("fork")) };
  const result = await verifyLog(store, [heads[9]!, heads[19]!, fork]);
  assert.ok(!result.ok);
  if (!result.ok) {
    assert.equal(result.fault.kind, "checkpoint_root_mismatch");
    assert.equal(result.fault.firstBadIndex, 10);
    assert.match(result.fault.message, /forked/);
  }
  await expectFault(
    store,
    [{ size: 0, rootHash: hashLeaf(sha256, utf8("x")) }],
    "checkpoint_root_mismatch",
    0,
    false,
  );
  assert.ok((await verifyLog(store, [{ size: 0, rootHash: EMPTY_ROOT }])).ok);
  await assert.rejects(verifyLog(store, [{ size: -1, rootHash: EMPTY_ROOT }]), (e: unknown) =>
    NanoError.is(e, "tree_size_invalid"),
  );
  store.close();
});
