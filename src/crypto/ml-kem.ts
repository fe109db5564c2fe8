import {
  generateKeyPairSync,
  decapsulate as nodeDecapsulate,
  encapsulate as nodeEncapsulate,
} from "node:crypto";
import {
  checkLength,
  exportRawPublic,
  exportSeed,
  privateKeyFromSeed,
  publicKeyFromRaw,
} from "./_key-objects.ts";
import { ALG, type Kem, type SeedKeyPair } from "./algorithms.ts";
import { copyBytes } from "./bytes.ts";

/** ML-KEM-768 (FIPS 203). The seed is the 64-byte d || z of KeyGen_internal. */
const LENGTHS = Object.freeze({ seed: 64, publicKey: 1184, ciphertext: 1088, sharedSecret: 32 });

function keygen(seed?: Uint8Array): SeedKeyPair {
  if (seed === undefined) {
    const { privateKey, publicKey } = generateKeyPairSync("ml-kem-768");
    return { seed: exportSeed("ml-kem-768", privateKey), publicKey: exportRawPublic(publicKey) };
  }
  return { seed: copyBytes(seed), publicKey: publicKey(seed) };
}

function publicKey(seed: Uint8Array): Uint8Array {
  checkLength("ML-KEM-768 seed", seed, LENGTHS.seed);
  return exportRawPublic(privateKeyFromSeed("ml-kem-768", seed));
}

/** Encapsulates to a raw encapsulation key; the FIPS 203 modulus check runs on import. */
function encapsulate(publicKey: Uint8Array): { sharedSecret: Uint8Array; ciphertext: Uint8Array } {
  checkLength("ML-KEM-768 public key", publicKey, LENGTHS.publicKey);
  const { sharedKey, ciphertext } = nodeEncapsulate(publicKeyFromRaw("ml-kem-768", publicKey));
  return { sharedSecret: copyBytes(sharedKey), ciphertext: copyBytes(ciphertext) };
}

/** Implicit rejection: a wrong ciphertext of the right size yields a pseudorandom secret, no error. */
function decapsulate(seed: Uint8Array, ciphertext: Uint8Array): Uint8Array {
  checkLength("ML-KEM-768 seed", seed, LENGTHS.seed);
  checkLength("ML-KEM-768 ciphertext", ciphertext, LENGTHS.ciphertext);
  return copyBytes(nodeDecapsulate(privateKeyFromSeed("ml-kem-768", seed), ciphertext));
}

export const mlKem768: Kem = Object.freeze({
  alg: ALG.mlKem768,
  name: "ML-KEM-768",
  lengths: LENGTHS,
  keygen,
  publicKey,
  encapsulate,
  decapsulate,
});
