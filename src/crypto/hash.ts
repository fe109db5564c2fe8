import { createHash } from "node:crypto";
import { copyBytes } from "./bytes.ts";
import type { IncrementalHash } from "./provider/types.ts";

export type { IncrementalHash } from "./provider/types.ts";

export const BLAKE2B_LENGTH = 64;

function digest(algorithm: string, parts: readonly Uint8Array[], outputLength?: number): Uint8Array {
  const hash = outputLength === undefined ? createHash(algorithm) : createHash(algorithm, { outputLength });
  for (const part of parts) hash.update(part);
  return copyBytes(hash.digest());
}

/** BLAKE2b-512 (RFC 7693, unkeyed) over the concatenation of `parts`. The protocol's hash. */
export function blake2b(...parts: readonly Uint8Array[]): Uint8Array {
  return digest("blake2b512", parts);
}

/** SHA3-256 (FIPS 202): the X-Wing combiner. */
export function sha3_256(...parts: readonly Uint8Array[]): Uint8Array {
  return digest("sha3-256", parts);
}

/** SHAKE256 (FIPS 202) with `length` bytes of output: X-Wing key expansion. */
export function shake256(data: Uint8Array, length: number): Uint8Array {
  if (!Number.isSafeInteger(length) || length < 0)
    throw new RangeError(`SHAKE256 length out of range: ${length}`);
  return digest("shake256", [data], length);
}

/** SHA-512 (FIPS 180-4): the composite signature's message pre-hash. */
export function sha512(...parts: readonly Uint8Array[]): Uint8Array {
  return digest("sha512", parts);
}

/** SHA-256: only for RFC 9162 Merkle trees, whose standard fixes it. */
export function sha256(...parts: readonly Uint8Array[]): Uint8Array {
  return digest("sha256", parts);
}

/**
 * Incremental BLAKE2b-512 for data too large to hold at once (attachment ciphertexts are hashed while
 * they stream). Same output as `blake2b` over the concatenation of every `update`.
 */
export function blake2bIncremental(): IncrementalHash {
  const hash = createHash("blake2b512");
  return {
    update(data: Uint8Array): void {
      hash.update(data);
    },
    digest(): Uint8Array {
      return copyBytes(hash.digest());
    },
  };
}
