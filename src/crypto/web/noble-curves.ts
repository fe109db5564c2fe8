import { ed25519, x25519 } from "@noble/curves/ed25519.js";
import { bytesToNumberLE } from "@noble/curves/utils.js";
import { sha512 } from "@noble/hashes/sha2.js";
import { NanoError } from "../../errors/index.ts";
import { checkLength } from "../_checks.ts";
import { ALG, type SeedKeyPair } from "../algorithms.ts";
import { isAllZero } from "../all-zero.ts";
import { concatBytes } from "../bytes.ts";
import { ed25519EncodingsAcceptable } from "../ed25519-encodings.ts";
import { ED25519_LENGTHS, X25519_LENGTHS } from "../parameters.ts";
import type { AsyncKeyAgreement, RawSignatureScheme } from "../provider/types.ts";

/** X25519 and pure Ed25519 from @noble/curves: the browser's fallback where WebCrypto lacks them. */
export function nobleX25519(randomBytes: (length: number) => Uint8Array): AsyncKeyAgreement {
  const publicKey = async (seed: Uint8Array): Promise<Uint8Array> => {
    checkLength("X25519 private key", seed, X25519_LENGTHS.seed);
    return x25519.getPublicKey(seed);
  };
  return Object.freeze({
    alg: ALG.x25519,
    name: "X25519",
    lengths: X25519_LENGTHS,
    publicKey,
    async keygen(seed?: Uint8Array): Promise<SeedKeyPair> {
      const privateKey = seed === undefined ? randomBytes(X25519_LENGTHS.seed) : seed.slice();
      return { seed: privateKey, publicKey: await publicKey(privateKey) };
    },
    async agree(seed: Uint8Array, peerPublicKey: Uint8Array): Promise<Uint8Array> {
      checkLength("X25519 private key", seed, X25519_LENGTHS.seed);
      checkLength("X25519 public key", peerPublicKey, X25519_LENGTHS.publicKey);
      let shared: Uint8Array;
      try {
        shared = x25519.getSharedSecret(seed, peerPublicKey);
      } catch (cause) {
        // noble refuses only the all-zero result (RFC 7748 section 6.1) once the sizes are right.
        throw new NanoError("low_order_point", "X25519 produced the all-zero shared secret", { cause });
      }
      if (isAllZero(shared))
        throw new NanoError("low_order_point", "X25519 produced the all-zero shared secret");
      return shared;
    },
  });
}

/** [S]B = R + [k]A with k = SHA-512(R || A || M) mod L, for a signature the cofactored check accepted. */
function cofactorless(key: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  const { Point } = ed25519;
  const encodedR = signature.subarray(0, ED25519_LENGTHS.publicKey);
  const k = Point.Fn.create(bytesToNumberLE(sha512(concatBytes(encodedR, key, message))));
  const s = bytesToNumberLE(signature.subarray(ED25519_LENGTHS.publicKey));
  const rkA = Point.fromBytes(encodedR).add(Point.fromBytes(key).multiplyUnsafe(k));
  return Point.BASE.multiplyUnsafe(s).equals(rkA);
}

export function nobleEd25519(randomBytes: (length: number) => Uint8Array): RawSignatureScheme {
  const publicKey = async (seed: Uint8Array): Promise<Uint8Array> => {
    checkLength("Ed25519 private key", seed, ED25519_LENGTHS.seed);
    return ed25519.getPublicKey(seed);
  };
  return Object.freeze({
    alg: ALG.ed25519,
    name: "Ed25519",
    lengths: ED25519_LENGTHS,
    publicKey,
    async keygen(seed?: Uint8Array): Promise<SeedKeyPair> {
      const privateKey = seed === undefined ? randomBytes(ED25519_LENGTHS.seed) : seed.slice();
      return { seed: privateKey, publicKey: await publicKey(privateKey) };
    },
    async sign(seed: Uint8Array, message: Uint8Array): Promise<Uint8Array> {
      checkLength("Ed25519 private key", seed, ED25519_LENGTHS.seed);
      return ed25519.sign(message, seed);
    },
    /**
     * The shared encoding rule (ed25519-encodings.ts), then RFC 8032 verification with zip215 off, then
     * the cofactorless equation [S]B = R + [k]A: @noble checks only the cofactored one, which also
     * holds when R or A carries a small-order component, and OpenSSL and BoringSSL refuse those.
     */
    async verify(key: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean> {
      checkLength("Ed25519 public key", key, ED25519_LENGTHS.publicKey);
      if (!ed25519EncodingsAcceptable(key, signature)) return false;
      try {
        return (
          ed25519.verify(signature, message, key, { zip215: false }) && cofactorless(key, message, signature)
        );
      } catch {
        return false;
      }
    },
  });
}
