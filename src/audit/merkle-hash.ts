/**
 * RFC 9162 section 2.1.1 Merkle Tree Hash with SHA-256. The 0x00 / 0x01 prefixes separate leaves from
 * interior nodes, so no interior node can be passed off as a leaf (second-preimage attack on unprefixed
 * trees).
 *
 * SHA-256 comes from the caller, so the same code runs in every runtime: the relay passes node:crypto's
 * (src/crypto/hash.ts), a client its provider's (`provider.primitives.sha256`, @noble in the browser).
 */
import { fromHex } from "../crypto/bytes.ts";
import { NanoError } from "../errors/index.ts";

export const HASH_SIZE = 32;

/** SHA-256 over the concatenation of `parts`: CryptoPrimitives.sha256 has this shape. */
export type Sha256 = (...parts: readonly Uint8Array[]) => Uint8Array;

const LEAF_PREFIX = Uint8Array.of(0x00);
const NODE_PREFIX = Uint8Array.of(0x01);

/**
 * MTH({}) = SHA-256 of the empty string: the root of the empty tree. Written out, since no hash is at
 * hand when modules load; every provider's SHA-256 of "" is checked against it (test/crypto-provider).
 */
export const EMPTY_ROOT: Uint8Array = fromHex(
  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
);

/** MTH({d}) = SHA-256(0x00 || d). */
export function hashLeaf(sha256: Sha256, data: Uint8Array): Uint8Array {
  return sha256(LEAF_PREFIX, data);
}

/** SHA-256(0x01 || left || right). */
export function hashChildren(sha256: Sha256, left: Uint8Array, right: Uint8Array): Uint8Array {
  return sha256(NODE_PREFIX, left, right);
}

/**
 * Tree sizes and indices are JavaScript numbers; RFC 9162 allows 64-bit sizes, we stop at 2^53 - 1
 * (about 9 * 10^15 entries), which no log of this project can reach, rather than pay for bigint math.
 */
export function checkTreeSize(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0)
    throw new NanoError("tree_size_invalid", `${what} must be an integer in [0, 2^53): got ${String(value)}`);
}

/** The largest power of two strictly smaller than n (n >= 2): RFC 9162's split point k. */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

export function isPowerOfTwo(n: number): boolean {
  if (!Number.isSafeInteger(n) || n < 1) return false;
  let value = n;
  while (value % 2 === 0) value /= 2;
  return value === 1;
}

/** floor(log2(n)) for a power of two n: the level of a complete subtree of n leaves. */
export function levelOf(width: number): number {
  return Math.round(Math.log2(width));
}

/**
 * MTH(D[n]) over an array of leaf hashes, by the recursive definition. O(n): the reference the stored
 * log is checked against in tests and in full verification; the log itself reads cached subtrees.
 */
export function rootFromLeafHashes(sha256: Sha256, leafHashes: readonly Uint8Array[]): Uint8Array {
  if (leafHashes.length === 0) return EMPTY_ROOT;
  // Bottom-up with RFC 9162's shape: an odd node at the right edge is promoted unchanged, which yields
  // exactly the split at the largest power of two below n at every level.
  let level: Uint8Array[] = [...leafHashes];
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i + 1 < level.length; i += 2) next.push(hashChildren(sha256, level[i]!, level[i + 1]!));
    if (level.length % 2 === 1) next.push(level[level.length - 1]!);
    level = next;
  }
  return level[0]!;
}
