import { checkLength } from "./_key-objects.ts";
import { ALG, type SeedKeyPair, type SignatureScheme } from "./algorithms.ts";
import { concatBytes, copyBytes, u8 } from "./bytes.ts";
import { ed25519, ed25519SignRaw, ed25519VerifyRaw } from "./ed25519.ts";
import { sha512 } from "./hash.ts";
import { mlDsa65 } from "./ml-dsa.ts";
import { COMPOSITE_LABEL, COMPOSITE_LENGTHS, COMPOSITE_PREFIX, MAX_SIGNATURE_CONTEXT } from "./parameters.ts";
import { randomBytes } from "./random.ts";

/**
 * Composite ML-DSA-65 + Ed25519 (draft-ietf-lamps-pq-composite-sigs, id-MLDSA65-Ed25519-SHA512), the
 * hybrid suite's signature. Both components sign the same message representative M' and both must
 * verify, so stripping or swapping either half fails.
 */
const ML_DSA = mlDsa65.lengths;
const LENGTHS = COMPOSITE_LENGTHS;
const PREFIX = COMPOSITE_PREFIX;
const LABEL = COMPOSITE_LABEL;
const MAX_CONTEXT = MAX_SIGNATURE_CONTEXT;

/** M' = Prefix || Label || len(ctx) || ctx || SHA-512(M). */
export function compositeMessageRepresentative(message: Uint8Array, context: Uint8Array): Uint8Array {
  if (context.length > MAX_CONTEXT)
    throw new RangeError(`composite context longer than ${MAX_CONTEXT} bytes`);
  return concatBytes(PREFIX, LABEL, u8(context.length), context, sha512(message));
}

function split(seed: Uint8Array): { mlDsaSeed: Uint8Array; edSeed: Uint8Array } {
  checkLength("composite private key", seed, LENGTHS.seed);
  return { mlDsaSeed: seed.subarray(0, ML_DSA.seed), edSeed: seed.subarray(ML_DSA.seed) };
}

function publicKey(seed: Uint8Array): Uint8Array {
  const { mlDsaSeed, edSeed } = split(seed);
  return concatBytes(mlDsa65.publicKey(mlDsaSeed), ed25519.publicKey(edSeed));
}

/** Fresh, independent component keys: a composite's components are never used alone. */
function keygen(seed?: Uint8Array): SeedKeyPair {
  const privateKey = seed === undefined ? randomBytes(LENGTHS.seed) : copyBytes(seed);
  return { seed: privateKey, publicKey: publicKey(privateKey) };
}

function sign(seed: Uint8Array, message: Uint8Array, context: Uint8Array): Uint8Array {
  const { mlDsaSeed, edSeed } = split(seed);
  const representative = compositeMessageRepresentative(message, context);
  return concatBytes(mlDsa65.sign(mlDsaSeed, representative, LABEL), ed25519SignRaw(edSeed, representative));
}

function verify(
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
  context: Uint8Array,
): boolean {
  checkLength("composite public key", publicKey, LENGTHS.publicKey);
  if (signature.length !== LENGTHS.signature || context.length > MAX_CONTEXT) return false;
  const representative = compositeMessageRepresentative(message, context);
  const mlDsaOk = mlDsa65.verify(
    publicKey.subarray(0, ML_DSA.publicKey),
    representative,
    signature.subarray(0, ML_DSA.signature),
    LABEL,
  );
  const edOk = ed25519VerifyRaw(
    publicKey.subarray(ML_DSA.publicKey),
    representative,
    signature.subarray(ML_DSA.signature),
  );
  return mlDsaOk && edOk;
}

export const mlDsa65Ed25519: SignatureScheme = Object.freeze({
  alg: ALG.mlDsa65Ed25519,
  name: "id-MLDSA65-Ed25519-SHA512",
  lengths: LENGTHS,
  keygen,
  publicKey,
  sign,
  verify,
});
