/**
 * Proof verification exactly as RFC 9162 sections 2.1.3.2 (inclusion) and 2.1.4.2 (consistency).
 *
 * Failure is reported by throwing a NanoError, never by returning false: callers are security checks
 * (key transparency, `nano-relay audit verify`) where a forgotten `if` would silently accept a forged
 * view, and the code tells them why (index out of range vs. a proof that does not verify). Success
 * returns nothing. SHA-256 is the caller's (merkle-hash.ts): the verifiers run in the relay and the page.
 */
import { NanoError } from "../errors/index.ts";
import { constantTimeEqual } from "../protocol/_constant-time.ts";
import {
  checkTreeSize,
  EMPTY_ROOT,
  HASH_SIZE,
  hashChildren,
  isPowerOfTwo,
  type Sha256,
} from "./merkle-hash.ts";

export interface InclusionClaim {
  /** The leaf hash, SHA-256(0x00 || entry). */
  readonly leafHash: Uint8Array;
  readonly index: number;
  readonly treeSize: number;
  /** The audit path, leaf to root, as produced by PATH(m, D[n]). */
  readonly proof: readonly Uint8Array[];
  readonly rootHash: Uint8Array;
}

export interface ConsistencyClaim {
  readonly size1: number;
  readonly size2: number;
  readonly root1: Uint8Array;
  readonly root2: Uint8Array;
  /** PROOF(size1, D[size2]). */
  readonly proof: readonly Uint8Array[];
}

function isHash(value: Uint8Array): boolean {
  return value.length === HASH_SIZE;
}

function half(value: number): number {
  return Math.floor(value / 2);
}

function lsb(value: number): boolean {
  return value % 2 === 1;
}

/**
 * RFC 9162 2.1.3.2 steps 2-5, returning the computed root instead of comparing it, or undefined when
 * the index is out of range or the path has the wrong length for (index, size). Exported for callers
 * that hold roots by size; hash lengths are the caller's to check (verifyInclusion does).
 */
export function rootFromInclusionProof(
  sha256: Sha256,
  leafHash: Uint8Array,
  index: number,
  treeSize: number,
  proof: readonly Uint8Array[],
): Uint8Array | undefined {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(treeSize) || index < 0 || index >= treeSize)
    return undefined;
  let fn = index;
  let sn = treeSize - 1;
  let r = leafHash;
  for (const p of proof) {
    if (sn === 0) return undefined;
    if (lsb(fn) || fn === sn) {
      r = hashChildren(sha256, p, r);
      while (!lsb(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      r = hashChildren(sha256, r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 ? r : undefined;
}

/** Throws `log_index_out_of_range`, `tree_size_invalid` or `inclusion_proof_invalid`. */
export function verifyInclusion(sha256: Sha256, claim: InclusionClaim): void {
  const { leafHash, index, treeSize, proof, rootHash } = claim;
  checkTreeSize(treeSize, "tree size");
  checkTreeSize(index, "leaf index");
  // Step 1.
  if (index >= treeSize)
    throw new NanoError("log_index_out_of_range", `leaf index ${index} is not below tree size ${treeSize}`);
  // Wrong-sized hashes cannot be outputs of SHA-256; reject them before hashing so a truncated or
  // padded proof element can never be absorbed.
  if (!isHash(leafHash) || !isHash(rootHash) || !proof.every(isHash))
    throw new NanoError("inclusion_proof_invalid", "a hash in the inclusion claim is not 32 bytes");
  const computed = rootFromInclusionProof(sha256, leafHash, index, treeSize, proof);
  if (computed === undefined)
    throw new NanoError(
      "inclusion_proof_invalid",
      `inclusion proof has the wrong length for index ${index} in a tree of ${treeSize}`,
    );
  if (!constantTimeEqual(computed, rootHash))
    throw new NanoError(
      "inclusion_proof_invalid",
      `inclusion proof for index ${index} does not lead to the root of tree size ${treeSize}`,
    );
}

/**
 * Throws `tree_size_invalid` or `consistency_proof_invalid`.
 *
 * RFC 9162 2.1.4.2 covers 0 < size1 < size2. The edges follow transparency-dev/merkle (whose probes are
 * our vectors): equal sizes need an empty proof and equal roots (the empty tree's root must be
 * SHA-256("")); a proof from size 0 is rejected as meaningless — a tracker that starts from the empty
 * tree needs no proof and checks that case itself.
 */
export function verifyConsistency(sha256: Sha256, claim: ConsistencyClaim): void {
  const { size1, size2, root1, root2, proof } = claim;
  checkTreeSize(size1, "first tree size");
  checkTreeSize(size2, "second tree size");
  if (size1 > size2)
    throw new NanoError("tree_size_invalid", `first tree size ${size1} exceeds second tree size ${size2}`);
  if (size1 === size2) {
    if (proof.length !== 0)
      throw new NanoError("consistency_proof_invalid", "trees of equal size need an empty consistency proof");
    if (!constantTimeEqual(root1, root2))
      throw new NanoError("consistency_proof_invalid", `two different roots for tree size ${size1}`);
    if (size1 === 0 && !constantTimeEqual(root1, EMPTY_ROOT))
      throw new NanoError(
        "consistency_proof_invalid",
        "the empty tree's root is not SHA-256 of the empty string",
      );
    return;
  }
  if (size1 === 0)
    throw new NanoError(
      "consistency_proof_invalid",
      "a consistency proof from the empty tree is meaningless",
    );
  // Step 1.
  if (proof.length === 0) throw new NanoError("consistency_proof_invalid", "empty consistency proof");
  if (!isHash(root1) || !isHash(root2) || !proof.every(isHash))
    throw new NanoError("consistency_proof_invalid", "a hash in the consistency claim is not 32 bytes");
  // Step 2: when size1 is a power of two, the old root is itself a node of the new tree.
  const path = isPowerOfTwo(size1) ? [root1, ...proof] : proof;
  // Step 3.
  let fn = size1 - 1;
  let sn = size2 - 1;
  // Step 4.
  while (lsb(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  // Step 5.
  let fr = path[0]!;
  let sr = path[0]!;
  // Step 6.
  for (const c of path.slice(1)) {
    if (sn === 0) throw new NanoError("consistency_proof_invalid", "consistency proof is too long");
    if (lsb(fn) || fn === sn) {
      fr = hashChildren(sha256, c, fr);
      sr = hashChildren(sha256, c, sr);
      while (!lsb(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      sr = hashChildren(sha256, sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  // Step 7.
  if (sn !== 0) throw new NanoError("consistency_proof_invalid", "consistency proof is too short");
  if (!constantTimeEqual(fr, root1) || !constantTimeEqual(sr, root2))
    throw new NanoError(
      "consistency_proof_invalid",
      `tree of size ${size1} is not shown to be a prefix of the tree of size ${size2}`,
    );
}
