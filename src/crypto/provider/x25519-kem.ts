import { checkLength } from "../_checks.ts";
import { ALG } from "../algorithms.ts";
import { concatBytes, wipe } from "../bytes.ts";
import { KDF_LABELS, label } from "../labels.ts";
import { X25519_KEM_LENGTHS } from "../parameters.ts";
import type { AsyncKem, CryptoPrimitives } from "./types.ts";

/**
 * X25519 as a KEM, the classical suite's one-shot sealing KEM, as src/crypto/x25519-kem.ts builds it:
 * ss = HKDF-BLAKE2b(ikm = dh, salt = empty, info = label || ct || pk_R, 32). The secret binds both
 * public keys, so a ciphertext cannot be redirected to another key.
 */
export function x25519KemOver(primitives: CryptoPrimitives): AsyncKem {
  const { x25519 } = primitives;
  const derive = (dh: Uint8Array, ciphertext: Uint8Array, recipient: Uint8Array): Uint8Array =>
    primitives.hkdf(
      dh,
      new Uint8Array(0),
      concatBytes(label(KDF_LABELS.x25519Kem), ciphertext, recipient),
      X25519_KEM_LENGTHS.sharedSecret,
    );
  return Object.freeze({
    alg: ALG.x25519Kem,
    name: "X25519-KEM",
    lengths: X25519_KEM_LENGTHS,
    keygen: (seed?: Uint8Array) => x25519.keygen(seed),
    publicKey: (seed: Uint8Array) => x25519.publicKey(seed),
    async encapsulate(publicKey: Uint8Array) {
      checkLength("X25519-KEM public key", publicKey, X25519_KEM_LENGTHS.publicKey);
      const ephemeral = await x25519.keygen();
      const dh = await x25519.agree(ephemeral.seed, publicKey);
      const sharedSecret = derive(dh, ephemeral.publicKey, publicKey);
      wipe(dh, ephemeral.seed);
      return { sharedSecret, ciphertext: ephemeral.publicKey };
    },
    /** A low-order ephemeral key is `low_order_point`: unlike ML-KEM there is no implicit rejection. */
    async decapsulate(seed: Uint8Array, ciphertext: Uint8Array) {
      checkLength("X25519-KEM ciphertext", ciphertext, X25519_KEM_LENGTHS.ciphertext);
      const [dh, recipient] = await Promise.all([x25519.agree(seed, ciphertext), x25519.publicKey(seed)]);
      const sharedSecret = derive(dh, ciphertext, recipient);
      wipe(dh);
      return sharedSecret;
    },
  });
}
