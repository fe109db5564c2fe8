import { checkLength } from "../_checks.ts";
import { ALG, type SeedKeyPair } from "../algorithms.ts";
import { concatBytes, copyBytes, wipe } from "../bytes.ts";
import { ML_KEM_768_LENGTHS, X_WING_LABEL, X_WING_LENGTHS } from "../parameters.ts";
import type { AsyncKem, CryptoPrimitives } from "./types.ts";

/**
 * X-Wing (draft-connolly-cfrg-xwing-kem, the version of ../shared/vectors/xwing) over a provider's
 * ML-KEM-768, X25519, SHAKE256 and SHA3-256, step for step as src/crypto/x-wing.ts builds it over
 * node:crypto (the cross-check tests hold the two to the same bytes).
 */
const ML_KEM_PUBLIC = ML_KEM_768_LENGTHS.publicKey;
const ML_KEM_CIPHERTEXT = ML_KEM_768_LENGTHS.ciphertext;

export function xWingOver(primitives: CryptoPrimitives): AsyncKem {
  const { mlKem768, x25519 } = primitives;

  /** SHAKE256(sk, 96): ML-KEM d || z from bytes 0..63, the X25519 private key from 64..95. */
  const expand = (seed: Uint8Array): { mlKemSeed: Uint8Array; x25519Seed: Uint8Array } => {
    checkLength("X-Wing private key", seed, X_WING_LENGTHS.seed);
    const expanded = primitives.shake256(seed, 96);
    const result = { mlKemSeed: expanded.slice(0, 64), x25519Seed: expanded.slice(64, 96) };
    wipe(expanded);
    return result;
  };

  const publicKey = async (seed: Uint8Array): Promise<Uint8Array> => {
    const { mlKemSeed, x25519Seed } = expand(seed);
    const [pkM, pkX] = await Promise.all([mlKem768.publicKey(mlKemSeed), x25519.publicKey(x25519Seed)]);
    wipe(mlKemSeed, x25519Seed);
    return concatBytes(pkM, pkX);
  };

  const combine = (ssM: Uint8Array, ssX: Uint8Array, ctX: Uint8Array, pkX: Uint8Array): Uint8Array =>
    primitives.sha3_256(ssM, ssX, ctX, pkX, X_WING_LABEL);

  return Object.freeze({
    alg: ALG.xWing,
    name: "X-Wing",
    lengths: X_WING_LENGTHS,
    publicKey,
    async keygen(seed?: Uint8Array): Promise<SeedKeyPair> {
      const privateKey = seed === undefined ? primitives.randomBytes(X_WING_LENGTHS.seed) : copyBytes(seed);
      return { seed: privateKey, publicKey: await publicKey(privateKey) };
    },
    async encapsulate(pk: Uint8Array) {
      checkLength("X-Wing public key", pk, X_WING_LENGTHS.publicKey);
      const pkM = pk.subarray(0, ML_KEM_PUBLIC);
      const pkX = pk.subarray(ML_KEM_PUBLIC);
      const ephemeral = await x25519.keygen();
      const [ssX, { sharedSecret: ssM, ciphertext: ctM }] = await Promise.all([
        x25519.agree(ephemeral.seed, pkX),
        mlKem768.encapsulate(pkM),
      ]);
      const sharedSecret = combine(ssM, ssX, ephemeral.publicKey, pkX);
      wipe(ephemeral.seed, ssX, ssM);
      return { sharedSecret, ciphertext: concatBytes(ctM, ephemeral.publicKey) };
    },
    /**
     * Implicit rejection kept: a low-order X25519 share gives raw X25519's zeros, combined as the
     * draft does (our X25519 refuses zeros, so they are put back here); the AEAD then fails with the
     * generic `decryption_failed`, never a distinct error (DESIGN.md).
     */
    async decapsulate(seed: Uint8Array, ciphertext: Uint8Array) {
      checkLength("X-Wing ciphertext", ciphertext, X_WING_LENGTHS.ciphertext);
      const { mlKemSeed, x25519Seed } = expand(seed);
      const ctM = ciphertext.subarray(0, ML_KEM_CIPHERTEXT);
      const ctX = ciphertext.subarray(ML_KEM_CIPHERTEXT);
      const [ssM, pkX, ssX] = await Promise.all([
        mlKem768.decapsulate(mlKemSeed, ctM),
        x25519.publicKey(x25519Seed),
        x25519.agree(x25519Seed, ctX).catch(() => new Uint8Array(32)),
      ]);
      const sharedSecret = combine(ssM, ssX, ctX, pkX);
      wipe(mlKemSeed, x25519Seed, ssM, ssX);
      return sharedSecret;
    },
  });
}
