import { diffieHellman, generateKeyPairSync, type KeyObject } from "node:crypto";
import { NanoError } from "../errors/index.ts";
import {
  checkLength,
  exportRawPublic,
  exportSeed,
  nativeKeyGeneration,
  privateKeyFromSeed,
  publicKeyFromRaw,
} from "./_key-objects.ts";
import { ALG, type KeyAgreement, type SeedKeyPair } from "./algorithms.ts";
import { copyBytes } from "./bytes.ts";
import { isAllZero } from "./constant-time.ts";
import { X25519_LENGTHS } from "./parameters.ts";

const LENGTHS = X25519_LENGTHS;

const { keygen, publicKey } = nativeKeyGeneration("x25519", "X25519 private key", LENGTHS.seed);

/**
 * X25519 (RFC 7748). Every public key of 32 bytes is accepted (non-canonical encodings are reduced as
 * the RFC says); an all-zero result — the peer sent a low-order point — is refused, which is the
 * project's policy for Wycheproof's "acceptable" low-order cases.
 */
function agree(seed: Uint8Array, peerPublicKey: Uint8Array): Uint8Array {
  checkLength("X25519 private key", seed, LENGTHS.seed);
  checkLength("X25519 public key", peerPublicKey, LENGTHS.publicKey);
  return agreeWith(privateKeyFromSeed("x25519", seed), peerPublicKey);
}

function generateAndAgree(peerPublicKey: Uint8Array): { pair: SeedKeyPair; sharedSecret: Uint8Array } {
  checkLength("X25519 public key", peerPublicKey, LENGTHS.publicKey);
  const { privateKey, publicKey } = generateKeyPairSync("x25519");
  const sharedSecret = agreeWith(privateKey, peerPublicKey);
  return {
    pair: { seed: exportSeed("x25519", privateKey), publicKey: exportRawPublic(publicKey) },
    sharedSecret,
  };
}

function agreeWith(privateKey: KeyObject, peerPublicKey: Uint8Array): Uint8Array {
  const publicKey = publicKeyFromRaw("x25519", peerPublicKey);
  let shared: Uint8Array;
  try {
    shared = copyBytes(diffieHellman({ privateKey, publicKey }));
  } catch (cause) {
    // With both keys imported, OpenSSL's X25519 derivation fails only on the all-zero output (RFC 7748
    // section 6.1 check, ERR_OSSL_FAILED_DURING_DERIVATION): the same low-order case as below.
    throw new NanoError("low_order_point", "X25519 produced the all-zero shared secret", { cause });
  }
  // Kept although OpenSSL checks first: the policy must not depend on one provider's behaviour.
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
  generateAndAgree,
});
