import { createSecretKey, hkdfSync } from "node:crypto";
import { NanoError } from "../errors/index.ts";
import { BLAKE2B_LENGTH } from "./hash.ts";

/** The longest `info` node:crypto's HKDF accepts. */
export const HKDF_MAX_INFO = 1024;

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
  if (!Number.isInteger(length) || length < 1)
    throw new RangeError(`HKDF length must be positive: ${length}`);
  // OpenSSL's HKDF refuses more; checked here so callers get our error, not node's ERR_OUT_OF_RANGE.
  if (info.length > HKDF_MAX_INFO) throw new RangeError(`HKDF info longer than ${HKDF_MAX_INFO} bytes`);
  if (length > 255 * hashLength) {
    throw new NanoError("kdf_output_too_long", `HKDF output of ${length} bytes exceeds ${255 * hashLength}`);
  }
  // The IKM goes in as a per-call secret KeyObject: with a raw Uint8Array node runs exception-based
  // KeyObject/CryptoKey brand checks that double the cost of a short HKDF (docs/benchmarks.md). The
  // object is not kept; node copies a raw key internally just the same.
  return new Uint8Array(hkdfSync(hash, createSecretKey(ikm), salt, info, length));
}
