import { ml_dsa65 } from "@noble/post-quantum/ml-dsa.js";
import { ml_kem768 } from "@noble/post-quantum/ml-kem.js";
import { NanoError } from "../../errors/index.ts";
import { checkLength } from "../_checks.ts";
import { ALG, type SeedKeyPair } from "../algorithms.ts";
import { MAX_SIGNATURE_CONTEXT, ML_DSA_65_LENGTHS, ML_KEM_768_LENGTHS } from "../parameters.ts";
import type { AsyncKem, AsyncSignatureScheme } from "../provider/types.ts";

/**
 * ML-KEM-768 and ML-DSA-65 from @noble/post-quantum: the browser's fallback where WebCrypto lacks
 * them. Keys are stored as seeds, so the expanded key is derived from the seed for each operation.
 */
export function nobleMlKem768(randomBytes: (length: number) => Uint8Array): AsyncKem {
  const L = ML_KEM_768_LENGTHS;
  const expand = (seed: Uint8Array) => {
    checkLength("ML-KEM-768 seed", seed, L.seed);
    return ml_kem768.keygen(seed);
  };
  const publicKey = async (seed: Uint8Array): Promise<Uint8Array> => expand(seed).publicKey;
  return Object.freeze({
    alg: ALG.mlKem768,
    name: "ML-KEM-768",
    lengths: L,
    publicKey,
    async keygen(seed?: Uint8Array): Promise<SeedKeyPair> {
      const privateKey = seed === undefined ? randomBytes(L.seed) : seed.slice();
      return { seed: privateKey, publicKey: await publicKey(privateKey) };
    },
    async encapsulate(key: Uint8Array) {
      checkLength("ML-KEM-768 public key", key, L.publicKey);
      let result: { cipherText: Uint8Array; sharedSecret: Uint8Array };
      try {
        result = ml_kem768.encapsulate(key, randomBytes(32));
      } catch (cause) {
        // With the size right, noble refuses only a key failing FIPS 203's modulus check.
        throw new NanoError("invalid_public_key", "ML-KEM-768 public key rejected by its validity check", {
          cause,
        });
      }
      return { sharedSecret: result.sharedSecret, ciphertext: result.cipherText };
    },
    async decapsulate(seed: Uint8Array, ciphertext: Uint8Array) {
      checkLength("ML-KEM-768 seed", seed, L.seed);
      checkLength("ML-KEM-768 ciphertext", ciphertext, L.ciphertext);
      const { secretKey } = expand(seed);
      const sharedSecret = ml_kem768.decapsulate(ciphertext, secretKey);
      secretKey.fill(0);
      return sharedSecret;
    },
  });
}

export function nobleMlDsa65(randomBytes: (length: number) => Uint8Array): AsyncSignatureScheme {
  const L = ML_DSA_65_LENGTHS;
  const expand = (seed: Uint8Array) => {
    checkLength("ML-DSA-65 seed", seed, L.seed);
    return ml_dsa65.keygen(seed);
  };
  const publicKey = async (seed: Uint8Array): Promise<Uint8Array> => expand(seed).publicKey;
  return Object.freeze({
    alg: ALG.mlDsa65,
    name: "ML-DSA-65",
    lengths: L,
    publicKey,
    async keygen(seed?: Uint8Array): Promise<SeedKeyPair> {
      const privateKey = seed === undefined ? randomBytes(L.seed) : seed.slice();
      return { seed: privateKey, publicKey: await publicKey(privateKey) };
    },
    /** Hedged signing (FIPS 204's default) with the context string, as node's. */
    async sign(seed: Uint8Array, message: Uint8Array, context: Uint8Array) {
      if (context.length > MAX_SIGNATURE_CONTEXT) {
        throw new RangeError(`ML-DSA context longer than ${MAX_SIGNATURE_CONTEXT} bytes`);
      }
      const { secretKey } = expand(seed);
      const signature = ml_dsa65.sign(message, secretKey, { context, extraEntropy: randomBytes(32) });
      secretKey.fill(0);
      return signature;
    },
    async verify(key: Uint8Array, message: Uint8Array, signature: Uint8Array, context: Uint8Array) {
      checkLength("ML-DSA-65 public key", key, L.publicKey);
      if (signature.length !== L.signature || context.length > MAX_SIGNATURE_CONTEXT) return false;
      try {
        return ml_dsa65.verify(signature, message, key, { context });
      } catch {
        return false;
      }
    },
  });
}
