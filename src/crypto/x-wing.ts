import { checkLength } from "./_key-objects.ts";
import { ALG, type Kem, type SeedKeyPair } from "./algorithms.ts";
import { concatBytes, copyBytes, wipe } from "./bytes.ts";
import { sha3_256, shake256 } from "./hash.ts";
import { mlKem768 } from "./ml-kem.ts";
import { ML_KEM_768_LENGTHS, X_WING_LABEL, X_WING_LENGTHS } from "./parameters.ts";
import { randomBytes } from "./random.ts";
import { x25519 } from "./x25519.ts";

/**
 * X-Wing (draft-connolly-cfrg-xwing-kem, the version matching ../shared/vectors/xwing): ML-KEM-768 and
 * X25519 with a SHA3-256 combiner, the hybrid suite's one-shot sealing KEM. Built only from the native
 * primitives; nothing here is a new primitive.
 */
const LENGTHS = X_WING_LENGTHS;
const ML_KEM_PUBLIC = ML_KEM_768_LENGTHS.publicKey;
const ML_KEM_CIPHERTEXT = ML_KEM_768_LENGTHS.ciphertext;
const LABEL = X_WING_LABEL;

interface Expanded {
  readonly mlKemSeed: Uint8Array;
  readonly x25519Seed: Uint8Array;
}

/** SHAKE256(sk, 96): ML-KEM d || z from bytes 0..63, the X25519 private key from 64..95. */
function expand(seed: Uint8Array): Expanded {
  checkLength("X-Wing private key", seed, LENGTHS.seed);
  const expanded = shake256(seed, 96);
  const result = { mlKemSeed: expanded.slice(0, 64), x25519Seed: expanded.slice(64, 96) };
  wipe(expanded);
  return result;
}

function publicKey(seed: Uint8Array): Uint8Array {
  const { mlKemSeed, x25519Seed } = expand(seed);
  const result = concatBytes(mlKem768.publicKey(mlKemSeed), x25519.publicKey(x25519Seed));
  wipe(mlKemSeed, x25519Seed);
  return result;
}

function keygen(seed?: Uint8Array): SeedKeyPair {
  const privateKey = seed === undefined ? randomBytes(LENGTHS.seed) : copyBytes(seed);
  return { seed: privateKey, publicKey: publicKey(privateKey) };
}

function combine(ssM: Uint8Array, ssX: Uint8Array, ctX: Uint8Array, pkX: Uint8Array): Uint8Array {
  return sha3_256(ssM, ssX, ctX, pkX, LABEL);
}

function encapsulate(publicKey: Uint8Array): { sharedSecret: Uint8Array; ciphertext: Uint8Array } {
  checkLength("X-Wing public key", publicKey, LENGTHS.publicKey);
  const pkM = publicKey.subarray(0, ML_KEM_PUBLIC);
  const pkX = publicKey.subarray(ML_KEM_PUBLIC);
  const ephemeral = x25519.keygen();
  const ssX = x25519.agree(ephemeral.seed, pkX);
  const { sharedSecret: ssM, ciphertext: ctM } = mlKem768.encapsulate(pkM);
  const sharedSecret = combine(ssM, ssX, ephemeral.publicKey, pkX);
  wipe(ephemeral.seed, ssX, ssM);
  return { sharedSecret, ciphertext: concatBytes(ctM, ephemeral.publicKey) };
}

/**
 * Decapsulation keeps ML-KEM's implicit rejection. For a low-order X25519 share, raw X25519 outputs
 * zeros and the draft combines them without a check; our X25519 refuses zeros, so the zeros are put
 * back here. The result is the draft's exact secret, unknown to the sender's peer, and the caller's
 * AEAD then fails with the generic `decryption_failed` (DESIGN.md), never a distinct error.
 */
function decapsulate(seed: Uint8Array, ciphertext: Uint8Array): Uint8Array {
  checkLength("X-Wing ciphertext", ciphertext, LENGTHS.ciphertext);
  const { mlKemSeed, x25519Seed } = expand(seed);
  const ctM = ciphertext.subarray(0, ML_KEM_CIPHERTEXT);
  const ctX = ciphertext.subarray(ML_KEM_CIPHERTEXT);
  const ssM = mlKem768.decapsulate(mlKemSeed, ctM);
  const pkX = x25519.publicKey(x25519Seed);
  let ssX: Uint8Array;
  try {
    ssX = x25519.agree(x25519Seed, ctX);
  } catch {
    ssX = new Uint8Array(32);
  }
  const sharedSecret = combine(ssM, ssX, ctX, pkX);
  wipe(mlKemSeed, x25519Seed, ssM, ssX);
  return sharedSecret;
}

export const xWing: Kem = Object.freeze({
  alg: ALG.xWing,
  name: "X-Wing",
  lengths: LENGTHS,
  keygen,
  publicKey,
  encapsulate,
  decapsulate,
});
