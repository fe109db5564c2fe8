import { diffieHellman, generateKeyPairSync } from "node:crypto";
import { NanoError } from "../errors/index.ts";
import {
  checkLength,
  exportRawPublic,
  exportSeed,
  privateKeyFromSeed,
  publicKeyFromRaw,
} from "./_key-objects.ts";
import { ALG, type KeyAgreement, type SeedKeyPair } from "./algorithms.ts";
import { copyBytes } from "./bytes.ts";
import { isAllZero } from "./constant-time.ts";

const LENGTHS = Object.freeze({ seed: 32, publicKey: 32, sharedSecret: 32 });

function keygen(seed?: Uint8Array): SeedKeyPair {
  if (seed === undefined) {
    const { privateKey, publicKey } = generateKeyPairSync("x25519");
    return { seed: exportSeed("x25519", privateKey), publicKey: exportRawPublic(publicKey) };
  }
  return { seed: copyBytes(seed), publicKey: publicKey(seed) };
}

function publicKey(seed: Uint8Array): Uint8Array {
  checkLength("X25519 private key", seed, LENGTHS.seed);
  return exportRawPublic(privateKeyFromSeed("x25519", seed));
}

/**
 * X25519 (RFC 7748). Every public key of 32 bytes is accepted (non-canonical encodings are reduced as
 * the RFC says); an all-zero result — the peer sent a low-order point — is refused, which is the
 * project's policy for Wycheproof's "acceptable" low-order cases.
 */
function agree(seed: Uint8Array, peerPublicKey: Uint8Array): Uint8Array {
  checkLength("X25519 private key", seed, LENGTHS.seed);
  checkLength("X25519 public key", peerPublicKey, LENGTHS.publicKey);
  let shared: Uint8Array;
  try {
    shared = copyBytes(
      diffieHellman({
        privateKey: privateKeyFromSeed("x25519", seed),
        publicKey: publicKeyFromRaw("x25519", peerPublicKey),
      }),
    );
  } catch (cause) {
    // OpenSSL 3.5 refuses some low-order points itself (ERR_OSSL_FAILED_DURING_DERIVATION) instead of
    // returning zeros: the same condition, so the same typed error.
    if (NanoError.is(cause)) throw cause;
    throw new NanoError("low_order_point", "X25519 derivation failed: low-order public key", { cause });
  }
  if (isAllZero(shared)) throw new NanoError("low_order_point", "X25519 produced the all-zero shared secret");
  return shared;
}

export const x25519: KeyAgreement = Object.freeze({
  alg: ALG.x25519,
  name: "X25519",
  lengths: LENGTHS,
  keygen,
  publicKey,
  agree,
});
