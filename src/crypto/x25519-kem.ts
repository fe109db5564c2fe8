import { checkLength } from "./_key-objects.ts";
import { ALG, type Kem, type SeedKeyPair } from "./algorithms.ts";
import { concatBytes, wipe } from "./bytes.ts";
import { hkdf } from "./kdf.ts";
import { KDF_LABELS, label } from "./labels.ts";
import { X25519_KEM_LENGTHS } from "./parameters.ts";
import { x25519 } from "./x25519.ts";

/**
 * X25519 as a KEM (the DHKEM shape of RFC 9180 with the project's HKDF-BLAKE2b): the classical suite's
 * one-shot sealing KEM. The secret binds the ephemeral and recipient public keys, so a ciphertext cannot
 * be redirected to another key. Its keys carry their own algorithm id, distinct from X25519 agreement.
 */
const LENGTHS = X25519_KEM_LENGTHS;
const LABEL = label(KDF_LABELS.x25519Kem);

function derive(dh: Uint8Array, ciphertext: Uint8Array, recipient: Uint8Array): Uint8Array {
  return hkdf(dh, new Uint8Array(0), concatBytes(LABEL, ciphertext, recipient), LENGTHS.sharedSecret);
}

function encapsulate(publicKey: Uint8Array): { sharedSecret: Uint8Array; ciphertext: Uint8Array } {
  checkLength("X25519-KEM public key", publicKey, LENGTHS.publicKey);
  const ephemeral = x25519.keygen();
  const dh = x25519.agree(ephemeral.seed, publicKey);
  const sharedSecret = derive(dh, ephemeral.publicKey, publicKey);
  wipe(dh, ephemeral.seed);
  return { sharedSecret, ciphertext: ephemeral.publicKey };
}

/** A low-order ephemeral key throws `low_order_point`: unlike ML-KEM there is no implicit rejection. */
function decapsulate(seed: Uint8Array, ciphertext: Uint8Array): Uint8Array {
  checkLength("X25519-KEM ciphertext", ciphertext, LENGTHS.ciphertext);
  const dh = x25519.agree(seed, ciphertext);
  const sharedSecret = derive(dh, ciphertext, x25519.publicKey(seed));
  wipe(dh);
  return sharedSecret;
}

export const x25519Kem: Kem = Object.freeze({
  alg: ALG.x25519Kem,
  name: "X25519-KEM",
  lengths: LENGTHS,
  keygen: (seed?: Uint8Array): SeedKeyPair => x25519.keygen(seed),
  publicKey: (seed: Uint8Array) => x25519.publicKey(seed),
  encapsulate,
  decapsulate,
});
