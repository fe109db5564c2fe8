// The one conformance suite every MerkleLogStore adapter must pass (memory, SQLite, and later the
// relay's PostgreSQL store). Call it from an adapter's *.test.ts with a factory for empty stores.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { MerkleLogStore } from "../../src/audit/log-store.ts";
import { EMPTY_ROOT, hashLeaf, rootFromLeafHashes } from "../../src/audit/merkle-hash.ts";
import { MerkleLog } from "../../src/audit/merkle-log.ts";
import { verifyConsistency, verifyInclusion } from "../../src/audit/merkle-verify.ts";
import { toHex, utf8 } from "../../src/crypto/bytes.ts";
import { sha256 } from "../../src/crypto/hash.ts";
import { NanoError } from "../../src/errors/index.ts";

export interface StoreFactory {
  /** A fresh, empty store. */
  create(): Promise<MerkleLogStore>;
  /** Releases what create() opened; called once per created store. */
  dispose(store: MerkleLogStore): Promise<void>;
}

function entries(count: number, from = 0): Uint8Array[] {
  return Array.from({ length: count }, (_, i) => utf8(`entry ${from + i}`));
}

export function runStoreConformance(name: string, factory: StoreFactory): void {
  async function withStore(body: (store: MerkleLogStore) => Promise<void>): Promise<void> {
    const store = await factory.create();
    try {
      await body(store);
    } finally {
      await factory.dispose(store);
    }
  }

  test(`${name}: an empty store has size 0, no entries, no nodes, the empty root`, () =>
    withStore(async (store) => {
      assert.equal(await store.size(), 0);
      assert.equal(await store.entry(0), undefined);
      assert.deepEqual(await store.entries(0, 10), []);
      assert.equal(await store.node(0, 0), undefined);
      assert.deepEqual(await store.nodes(0, 0, 10), []);
      assert.equal(toHex(await new MerkleLog(store).rootHash()), toHex(EMPTY_ROOT));
    }));

  test(`${name}: appends in batches of any size give the reference root at every size`, () =>
    withStore(async (store) => {
      const log = new MerkleLog(store);
      const all: Uint8Array[] = [];
      for (const batch of [1, 2, 1, 5, 8, 3, 17]) {
        const next = entries(batch, all.length);
        const result = await log.append(next);
        assert.deepEqual(result, { start: all.length, size: all.length + batch });
        all.push(...next);
      }
      assert.equal(await store.size(), all.length);
      const leafHashes = all.map((item) => hashLeaf(sha256, item));
      for (let size = 0; size <= all.length; size++)
        assert.equal(
          toHex(await log.rootHash(size)),
          toHex(rootFromLeafHashes(sha256, leafHashes.slice(0, size))),
        );
      for (const [i, data] of all.entries()) {
        assert.deepEqual(await store.entry(i), data);
        assert.equal(toHex((await store.node(0, i))!), toHex(leafHashes[i]!));
      }
    }));

  test(`${name}: range reads are ascending, bounded and copy-safe`, () =>
    withStore(async (store) => {
      const log = new MerkleLog(store);
      await log.append(entries(20));
      const read = await store.entries(5, 9);
      assert.deepEqual(
        read.map((e) => e.index),
        [5, 6, 7, 8],
      );
      assert.deepEqual(read[0]!.data, utf8("entry 5"));
      read[0]!.data.fill(0);
      assert.deepEqual(await store.entry(5), utf8("entry 5"), "mutating a returned buffer changes nothing");
      const level2 = await store.nodes(2, 0, 100);
      assert.deepEqual(
        level2.map((n) => n.index),
        [0, 1, 2, 3, 4],
      );
      assert.ok(level2.every((n) => n.level === 2 && n.hash.length === 32));
      assert.deepEqual(await store.nodes(5, 0, 100), [], "no complete subtree of 32 leaves yet");
      assert.deepEqual(await store.entries(18, 100).then((r) => r.map((e) => e.index)), [18, 19]);
    }));

  test(`${name}: an append with a stale start is rejected and changes nothing`, () =>
    withStore(async (store) => {
      const log = new MerkleLog(store);
      await log.append(entries(3));
      const before = toHex(await log.rootHash());
      await assert.rejects(
        store.append({
          start: 2,
          entries: [utf8("x")],
          nodes: [{ level: 0, index: 2, hash: hashLeaf(sha256, utf8("x")) }],
        }),
        (error: unknown) => NanoError.is(error, "log_append_conflict"),
      );
      assert.equal(await store.size(), 3);
      assert.equal(toHex(await log.rootHash()), before);
      assert.deepEqual(await store.entry(2), utf8("entry 2"));
    }));

  test(`${name}: concurrent appends through one log are serialized`, () =>
    withStore(async (store) => {
      const log = new MerkleLog(store);
      const results = await Promise.all([
        log.append(entries(3)),
        log.append(entries(4, 3)),
        log.append(entries(1, 7)),
      ]);
      assert.deepEqual(
        results.map((r) => r.start),
        [0, 3, 7],
      );
      assert.equal(await store.size(), 8);
      assert.equal(
        toHex(await log.rootHash()),
        toHex(
          rootFromLeafHashes(
            sha256,
            entries(8).map((item) => hashLeaf(sha256, item)),
          ),
        ),
      );
    }));

  test(`${name}: proofs from the stored log verify at every index and size pair`, () =>
    withStore(async (store) => {
      const log = new MerkleLog(store);
      await log.append(entries(13));
      for (let size = 1; size <= 13; size++) {
        const rootHash = await log.rootHash(size);
        for (let index = 0; index < size; index++) {
          const proof = await log.inclusionProof(index, size);
          verifyInclusion(sha256, {
            leafHash: await log.leafHash(index),
            index,
            treeSize: size,
            proof,
            rootHash,
          });
        }
        for (let size1 = 1; size1 <= size; size1++) {
          const proof = await log.consistencyProof(size1, size);
          verifyConsistency(sha256, {
            size1,
            size2: size,
            root1: await log.rootHash(size1),
            root2: rootHash,
            proof,
          });
        }
      }
    }));

  test(`${name}: reads past the size are out of range, never guessed`, () =>
    withStore(async (store) => {
      const log = new MerkleLog(store);
      await log.append(entries(4));
      const outOfRange = (error: unknown) => NanoError.is(error, "log_index_out_of_range");
      await assert.rejects(log.rootHash(5), outOfRange);
      await assert.rejects(log.inclusionProof(4), outOfRange);
      await assert.rejects(log.inclusionProof(0, 5), outOfRange);
      await assert.rejects(log.consistencyProof(2, 5), outOfRange);
      await assert.rejects(log.leafHash(4), outOfRange);
      await assert.rejects(log.entry(4), outOfRange);
      await assert.rejects(log.consistencyProof(3, 2), (e: unknown) => NanoError.is(e, "tree_size_invalid"));
      await assert.rejects(log.rootHash(-1), (e: unknown) => NanoError.is(e, "tree_size_invalid"));
      await assert.rejects(log.inclusionProof(0.5, 2), (e: unknown) => NanoError.is(e, "tree_size_invalid"));
    }));

  test(`${name}: empty and oversized entries`, () =>
    withStore(async (store) => {
      const log = new MerkleLog(store);
      assert.deepEqual(await log.append([]), { start: 0, size: 0 });
      await log.append([new Uint8Array(0)]);
      assert.deepEqual(await log.entry(0), new Uint8Array(0));
      await assert.rejects(log.append([new Uint8Array(64 * 1024 + 1)]), (e: unknown) =>
        NanoError.is(e, "log_entry_too_large"),
      );
      assert.equal(await store.size(), 1);
    }));
}
