import { createSecretKey, hkdfSync } from "node:crypto";
import { BLAKE2B_LENGTH } from "./hash.ts";
import { checkHkdfRequest, HKDF_MAX_INFO } from "./kdf-limits.ts";

export { HKDF_MAX_INFO };

/**
 * HKDF (RFC 5869) over HMAC-BLAKE2b-512: the protocol's one KDF. Secrets go in `ikm`, public context
 * in `info`, and `salt` carries a previous key or transcript hash.
 */
export function hkdf(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  return hkdfWith("blake2b512", BLAKE2B_LENGTH, ikm, salt, info, length);
}

/** HKDF over another HMAC hash. Exists so the HKDF construction itself can run the RFC/Wycheproof vectors. */
export function hkdfWith(
  hash: "blake2b512" | "sha256",
  hashLength: number,
  ikm: Uint8Array,
  salt: Uint8Array,
  info: Uint8Array,
  length: number,
): Uint8Array {
  // OpenSSL's HKDF refuses a longer info; checked first so callers get our error, not node's ERR_OUT_OF_RANGE.
  checkHkdfRequest(info, length, hashLength);
  // The IKM goes in as a per-call secret KeyObject: with a raw Uint8Array node runs exception-based
  // KeyObject/CryptoKey brand checks that double the cost of a short HKDF (docs/benchmarks.md). The
  // object is not kept; node copies a raw key internally just the same.
  return new Uint8Array(hkdfSync(hash, createSecretKey(ikm), salt, info, length));
}
