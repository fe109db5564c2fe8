import { NanoError } from "../errors/index.ts";
import { ALG_NAMES, type AlgId, isAlgId } from "./algorithms.ts";
import { concatBytes, u8 } from "./bytes.ts";

/**
 * Tagged keys: `alg (1 byte) || raw key`. Every public key on the wire and every seed at rest carries
 * its algorithm, so a key of one algorithm (or role) can never be parsed as another.
 */
export interface TaggedKey {
  readonly alg: AlgId;
  readonly key: Uint8Array;
}

/** Offsets come from the caller's own cursor: a bad one is a bug there, not hostile input. */
export function checkOffset(offset: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0) throw new RangeError(`offset out of range: ${offset}`);
}

export function encodeTaggedKey(alg: AlgId, key: Uint8Array): Uint8Array {
  return concatBytes(u8(alg), key);
}

/**
 * Decodes a tagged key at `offset`, requiring algorithm `expected` and its exact `length`.
 * Returns the key (a copy) and the number of bytes read.
 */
export function decodeTaggedKey(
  bytes: Uint8Array,
  offset: number,
  expected: AlgId,
  length: number,
): [Uint8Array, number] {
  checkOffset(offset);
  if (!Number.isSafeInteger(length) || length < 0) throw new RangeError(`key length out of range: ${length}`);
  if (offset >= bytes.length) throw new NanoError("truncated", `expected a ${ALG_NAMES[expected]} key`);
  const alg = bytes[offset]!;
  if (!isAlgId(alg)) throw new NanoError("unknown_algorithm", `unknown key algorithm 0x${alg.toString(16)}`);
  if (alg !== expected) {
    throw new NanoError("algorithm_mismatch", `expected a ${ALG_NAMES[expected]} key, got ${ALG_NAMES[alg]}`);
  }
  const end = offset + 1 + length;
  if (end > bytes.length) throw new NanoError("truncated", `${ALG_NAMES[expected]} key is truncated`);
  return [bytes.slice(offset + 1, end), 1 + length];
}

/** Decodes a buffer that must hold exactly one tagged key of algorithm `expected`. */
export function decodeTaggedKeyExact(bytes: Uint8Array, expected: AlgId, length: number): Uint8Array {
  const [key, read] = decodeTaggedKey(bytes, 0, expected, length);
  if (read !== bytes.length)
    throw new NanoError("trailing_bytes", `bytes after the ${ALG_NAMES[expected]} key`);
  return key;
}
