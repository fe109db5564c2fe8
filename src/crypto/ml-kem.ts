import { decapsulate as nodeDecapsulate, encapsulate as nodeEncapsulate } from "node:crypto";
import { checkLength, nativeKeyGeneration, privateKeyFromSeed, publicKeyFromRaw } from "./_key-objects.ts";
import { ALG, type Kem } from "./algorithms.ts";
import { copyBytes } from "./bytes.ts";
import { ML_KEM_768_LENGTHS } from "./parameters.ts";

/** ML-KEM-768 (FIPS 203). The seed is the 64-byte d || z of KeyGen_internal. */
const LENGTHS = ML_KEM_768_LENGTHS;

const { keygen, publicKey } = nativeKeyGeneration("ml-kem-768", "ML-KEM-768 seed", LENGTHS.seed);

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
