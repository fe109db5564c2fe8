import { blake2b } from "@noble/hashes/blake2.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256, sha512 } from "@noble/hashes/sha2.js";
import { sha3_256, shake256 } from "@noble/hashes/sha3.js";
import { checkHkdfRequest } from "../kdf-limits.ts";
import type { IncrementalHash } from "../provider/types.ts";

/**
 * The hashes and the KDF in the browser, from @noble/hashes: WebCrypto has no BLAKE2b, SHA-3 or SHAKE,
 * and its SHA-512 and SHA-256 are asynchronous where the provider's hashes are synchronous (docs/web.md).
 */
const BLAKE2B_LENGTH = 64;

function digestOf(
  hash: typeof blake2b | typeof sha512 | typeof sha256 | typeof sha3_256,
  parts: readonly Uint8Array[],
): Uint8Array {
  const state = hash.create();
  for (const part of parts) state.update(part);
  return state.digest();
}

export const nobleHashes = Object.freeze({
  blake2b: (...parts: readonly Uint8Array[]): Uint8Array => digestOf(blake2b, parts),
  blake2bIncremental(): IncrementalHash {
    const state = blake2b.create();
    return {
      update(data: Uint8Array): void {
        state.update(data);
      },
      digest: (): Uint8Array => state.digest(),
    };
  },
  sha512: (...parts: readonly Uint8Array[]): Uint8Array => digestOf(sha512, parts),
  sha256: (...parts: readonly Uint8Array[]): Uint8Array => digestOf(sha256, parts),
  sha3_256: (...parts: readonly Uint8Array[]): Uint8Array => digestOf(sha3_256, parts),
  shake256(data: Uint8Array, length: number): Uint8Array {
    if (!Number.isSafeInteger(length) || length < 0)
      throw new RangeError(`SHAKE256 length out of range: ${length}`);
    return shake256(data, { dkLen: length });
  },
  /** HKDF over HMAC-BLAKE2b-512, with node's limits (src/crypto/kdf-limits.ts). */
  hkdf(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array {
    checkHkdfRequest(info, length, BLAKE2B_LENGTH);
    return hkdf(blake2b, ikm, salt, info, length);
  },
});
