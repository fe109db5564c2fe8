import { checkLength } from "../_checks.ts";
import { ALG, type SeedKeyPair } from "../algorithms.ts";
import { concatBytes, copyBytes, u8 } from "../bytes.ts";
import {
  COMPOSITE_LABEL,
  COMPOSITE_LENGTHS,
  COMPOSITE_PREFIX,
  ED25519_LENGTHS,
  MAX_SIGNATURE_CONTEXT,
  ML_DSA_65_LENGTHS,
} from "../parameters.ts";
import type { AsyncSignatureScheme, CryptoPrimitives } from "./types.ts";

/**
 * Composite ML-DSA-65 + Ed25519 (draft-ietf-lamps-pq-composite-sigs, id-MLDSA65-Ed25519-SHA512) over
 * a provider's ML-DSA-65, Ed25519 and SHA-512, as src/crypto/composite-signature.ts builds it: both
 * components sign M' = Prefix || Label || len(ctx) || ctx || SHA-512(M), ML-DSA with context = Label,
 * and both must verify, so stripping or swapping either half fails.
 */
const ML_DSA = ML_DSA_65_LENGTHS;

export function compositeOver(primitives: CryptoPrimitives): AsyncSignatureScheme {
  const { mlDsa65, ed25519 } = primitives;
  const representative = (message: Uint8Array, context: Uint8Array): Uint8Array => {
    if (context.length > MAX_SIGNATURE_CONTEXT) {
      throw new RangeError(`composite context longer than ${MAX_SIGNATURE_CONTEXT} bytes`);
    }
    return concatBytes(
      COMPOSITE_PREFIX,
      COMPOSITE_LABEL,
      u8(context.length),
      context,
      primitives.sha512(message),
    );
  };
  const split = (seed: Uint8Array) => {
    checkLength("composite private key", seed, COMPOSITE_LENGTHS.seed);
    return { mlDsaSeed: seed.subarray(0, ML_DSA.seed), edSeed: seed.subarray(ML_DSA.seed) };
  };
  const publicKey = async (seed: Uint8Array): Promise<Uint8Array> => {
    const { mlDsaSeed, edSeed } = split(seed);
    const [mlDsaKey, edKey] = await Promise.all([mlDsa65.publicKey(mlDsaSeed), ed25519.publicKey(edSeed)]);
    return concatBytes(mlDsaKey, edKey);
  };
  return Object.freeze({
    alg: ALG.mlDsa65Ed25519,
    name: "id-MLDSA65-Ed25519-SHA512",
    lengths: COMPOSITE_LENGTHS,
    publicKey,
    /** Fresh, independent component keys: a composite's components are never used alone. */
    async keygen(seed?: Uint8Array): Promise<SeedKeyPair> {
      const privateKey =
        seed === undefined ? primitives.randomBytes(COMPOSITE_LENGTHS.seed) : copyBytes(seed);
      return { seed: privateKey, publicKey: await publicKey(privateKey) };
    },
    async sign(seed: Uint8Array, message: Uint8Array, context: Uint8Array) {
      const { mlDsaSeed, edSeed } = split(seed);
      const mPrime = representative(message, context);
      const [mlDsaSignature, edSignature] = await Promise.all([
        mlDsa65.sign(mlDsaSeed, mPrime, COMPOSITE_LABEL),
        ed25519.sign(edSeed, mPrime),
      ]);
      return concatBytes(mlDsaSignature, edSignature);
    },
    async verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array, context: Uint8Array) {
      checkLength("composite public key", publicKey, COMPOSITE_LENGTHS.publicKey);
      if (signature.length !== COMPOSITE_LENGTHS.signature || context.length > MAX_SIGNATURE_CONTEXT)
        return false;
      const mPrime = representative(message, context);
      const [mlDsaOk, edOk] = await Promise.all([
        mlDsa65.verify(
          publicKey.subarray(0, ML_DSA.publicKey),
          mPrime,
          signature.subarray(0, ML_DSA.signature),
          COMPOSITE_LABEL,
        ),
        ed25519.verify(
          publicKey.subarray(ML_DSA.publicKey, ML_DSA.publicKey + ED25519_LENGTHS.publicKey),
          mPrime,
          signature.subarray(ML_DSA.signature),
        ),
      ]);
      return mlDsaOk && edOk;
    },
  });
}
