// Property tests: every proof the log produces verifies, and every single-bit flip in a proof element,
// a root, the leaf hash or the index makes it fail. Roots agree with the O(n) reference definition.
import assert from "node:assert/strict";
import { before, test } from "node:test";
import fc from "fast-check";
import type { MerkleLogStore } from "../../src/audit/log-store.ts";
import { MemoryLogStore } from "../../src/audit/memory-log-store.ts";
import { hashLeaf, rootFromLeafHashes } from "../../src/audit/merkle-hash.ts";
import { MerkleLog } from "../../src/audit/merkle-log.ts";
import { rootFromInclusionProof, verifyConsistency, verifyInclusion } from "../../src/audit/merkle-verify.ts";
import { utf8 } from "../../src/crypto/bytes.ts";
import { sha256 } from "../../src/crypto/hash.ts";
import { NanoError } from "../../src/errors/index.ts";

const MAX = 3000;
const log = new MerkleLog(new MemoryLogStore());
const leafHashes: Uint8Array[] = [];

before(async () => {
  const entries = Array.from({ length: MAX }, (_, i) => utf8(`entry ${i}`));
  // Uneven batches so the stored subtrees come from many append shapes.
  for (let start = 0; start < MAX; ) {
    const count = Math.min(MAX - start, 1 + (start % 97));
    await log.append(entries.slice(start, start + count));
    start += count;
  }
  leafHashes.push(...entries.map((item) => hashLeaf(sha256, item)));
});

function flipped(bytes: Uint8Array, bit: number): Uint8Array {
  const copy = bytes.slice();
  copy[bit >> 3]! ^= 1 << (bit & 7);
  return copy;
}

function fails(action: () => void): boolean {
  try {
    action();
  } catch (error) {
    assert.ok(error instanceof NanoError, `expected a NanoError, got ${String(error)}`);
    return true;
  }
  return false;
}

const sizeAndIndex = fc
  .integer({ min: 1, max: MAX })
  .chain((size) => fc.tuple(fc.constant(size), fc.integer({ min: 0, max: size - 1 })));

test("roots at random sizes equal the reference MTH", async () => {
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 0, max: MAX }), async (size) => {
      assert.deepEqual(await log.rootHash(size), rootFromLeafHashes(sha256, leafHashes.slice(0, size)));
    }),
    { numRuns: 40 },
  );
});

test("inclusion proofs verify; any bit flip in proof, root, leaf or index fails", async () => {
  await fc.assert(
    fc.asyncProperty(sizeAndIndex, async ([treeSize, index]) => {
      const rootHash = await log.rootHash(treeSize);
      const proof = await log.inclusionProof(index, treeSize);
      const leafHash = leafHashes[index]!;
      const claim = { leafHash, index, treeSize, proof, rootHash };
      verifyInclusion(sha256, claim);
      for (let bit = 0; bit < 256; bit++) {
        assert.ok(
          fails(() => verifyInclusion(sha256, { ...claim, rootHash: flipped(rootHash, bit) })),
          `root bit ${bit}`,
        );
        assert.ok(
          fails(() => verifyInclusion(sha256, { ...claim, leafHash: flipped(leafHash, bit) })),
          `leaf bit ${bit}`,
        );
      }
      for (const [position, element] of proof.entries())
        for (let bit = 0; bit < 256; bit++) {
          const bad = proof.map((p, i) => (i === position ? flipped(element, bit) : p));
          assert.ok(
            fails(() => verifyInclusion(sha256, { ...claim, proof: bad })),
            `proof[${position}] bit ${bit}`,
          );
        }
      for (let bit = 0; 2 ** bit <= 2 * MAX; bit++) {
        const other = index ^ (2 ** bit);
        assert.ok(
          fails(() => verifyInclusion(sha256, { ...claim, index: other })),
          `index bit ${bit}`,
        );
      }
    }),
    { numRuns: 25 },
  );
});

test("consistency proofs verify for m <= n; any bit flip in proof or either root fails", async () => {
  const sizes = fc
    .integer({ min: 1, max: MAX })
    .chain((size2) => fc.tuple(fc.integer({ min: 1, max: size2 }), fc.constant(size2)));
  await fc.assert(
    fc.asyncProperty(sizes, async ([size1, size2]) => {
      const root1 = await log.rootHash(size1);
      const root2 = await log.rootHash(size2);
      const proof = await log.consistencyProof(size1, size2);
      const claim = { size1, size2, root1, root2, proof };
      verifyConsistency(sha256, claim);
      for (let bit = 0; bit < 256; bit++) {
        assert.ok(
          fails(() => verifyConsistency(sha256, { ...claim, root1: flipped(root1, bit) })),
          `root1 bit ${bit}`,
        );
        assert.ok(
          fails(() => verifyConsistency(sha256, { ...claim, root2: flipped(root2, bit) })),
          `root2 bit ${bit}`,
        );
      }
      for (const [position, element] of proof.entries())
        for (let bit = 0; bit < 256; bit++) {
          const bad = proof.map((p, i) => (i === position ? flipped(element, bit) : p));
          assert.ok(
            fails(() => verifyConsistency(sha256, { ...claim, proof: bad })),
            `proof[${position}] bit ${bit}`,
          );
        }
      if (proof.length > 0) {
        assert.ok(
          fails(() => verifyConsistency(sha256, { ...claim, proof: proof.slice(1) })),
          "dropped first element",
        );
        assert.ok(
          fails(() => verifyConsistency(sha256, { ...claim, proof: proof.slice(0, -1) })),
          "dropped last element",
        );
        assert.ok(
          fails(() => verifyConsistency(sha256, { ...claim, proof: [...proof, proof[0]!] })),
          "appended element",
        );
      }
    }),
    { numRuns: 40 },
  );
});

test("the empty tree: root, and no proofs from it", async () => {
  const empty = new MerkleLog(new MemoryLogStore());
  assert.deepEqual(await empty.rootHash(), rootFromLeafHashes(sha256, []));
  assert.deepEqual(await log.consistencyProof(0, 10), []);
});

/** Counts store reads to show proofs cost O(log n) reads, not O(n) (a complexity check, not timing). */
class CountingStore extends MemoryLogStore {
  reads = 0;
  override async node(level: number, index: number): Promise<Uint8Array | undefined> {
    this.reads++;
    return super.node(level, index);
  }
  override async entry(index: number): Promise<Uint8Array | undefined> {
    this.reads++;
    return super.entry(index);
  }
}

test("roots and proofs read O(log n) stored hashes", async () => {
  const store = new CountingStore();
  const counted = new MerkleLog(store as MerkleLogStore);
  const n = 5000;
  await counted.append(Array.from({ length: n }, (_, i) => utf8(`e${i}`)));
  const limit = 2 * Math.ceil(Math.log2(n)) + 2;
  for (const [what, action] of [
    ["root", () => counted.rootHash()],
    ["inclusion proof", () => counted.inclusionProof(4321)],
    ["inclusion proof at an old size", () => counted.inclusionProof(17, 3999)],
    ["consistency proof", () => counted.consistencyProof(1234, n)],
  ] as const) {
    store.reads = 0;
    await action();
    assert.ok(store.reads <= limit, `${what}: ${store.reads} reads for n=${n}, limit ${limit}`);
  }
  // One append reads at most one stored left sibling per level.
  store.reads = 0;
  await counted.append([utf8("next")]);
  assert.ok(store.reads <= Math.ceil(Math.log2(n)) + 1, `append: ${store.reads} reads`);
});

test("mutating returned proofs and roots never changes later answers (cached subtrees are copied out)", async () => {
  const small = new MerkleLog(new MemoryLogStore());
  await small.append(Array.from({ length: 300 }, (_, i) => utf8(`m${i}`)));
  const expected = await small.inclusionProof(3, 256);
  for (let round = 0; round < 2; round++) {
    const proof = await small.inclusionProof(3, 256);
    assert.deepEqual(proof, expected);
    for (const element of proof) element.fill(0);
    (await small.rootHash(256)).fill(0);
  }
  assert.deepEqual(await small.inclusionProof(3, 256), expected);
  assert.deepEqual(
    await small.rootHash(256),
    rootFromLeafHashes(
      sha256,
      Array.from({ length: 256 }, (_, i) => hashLeaf(sha256, utf8(`m${i}`))),
    ),
  );
});

test("rootFromInclusionProof gives no root for an index outside the tree", async () => {
  const proof = await log.inclusionProof(2, 3);
  assert.deepEqual(rootFromInclusionProof(sha256, leafHashes[2]!, 2, 3, proof), await log.rootHash(3));
  for (const [index, size] of [
    [3, 3],
    [5, 3],
    [-1, 3],
    [0, 0],
    [1.5, 3],
  ] as const)
    assert.equal(
      rootFromInclusionProof(sha256, leafHashes[2]!, index, size, proof),
      undefined,
      `${index}/${size}`,
    );
});
