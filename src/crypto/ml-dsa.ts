import { sign as nodeSign, verify as nodeVerify } from "node:crypto";
import { checkLength, nativeKeyGeneration, privateKeyFromSeed, publicKeyFromRaw } from "./_key-objects.ts";
import { ALG, type SignatureScheme } from "./algorithms.ts";
import { copyBytes } from "./bytes.ts";
import { MAX_SIGNATURE_CONTEXT, ML_DSA_65_LENGTHS } from "./parameters.ts";

/** ML-DSA-65 (FIPS 204), pure mode, hedged signing. The seed is the 32-byte xi of KeyGen_internal. */
const LENGTHS = ML_DSA_65_LENGTHS;
const MAX_CONTEXT = MAX_SIGNATURE_CONTEXT;

const { keygen, publicKey } = nativeKeyGeneration("ml-dsa-65", "ML-DSA-65 seed", LENGTHS.seed);

function checkContext(context: Uint8Array): void {
  if (context.length > MAX_CONTEXT) throw new RangeError(`ML-DSA context longer than ${MAX_CONTEXT} bytes`);
}

/** Signs with the FIPS 204 context string (the domain-separation label). */
function sign(seed: Uint8Array, message: Uint8Array, context: Uint8Array): Uint8Array {
  checkLength("ML-DSA-65 seed", seed, LENGTHS.seed);
  checkContext(context);
  return copyBytes(nodeSign(null, message, { key: privateKeyFromSeed("ml-dsa-65", seed), context }));
}

function verify(
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
  context: Uint8Array,
): boolean {
  checkLength("ML-DSA-65 public key", publicKey, LENGTHS.publicKey);
  if (signature.length !== LENGTHS.signature || context.length > MAX_CONTEXT) return false;
  let key: ReturnType<typeof publicKeyFromRaw>;
  try {
    key = publicKeyFromRaw("ml-dsa-65", publicKey);
  } catch {
    return false;
  }
  return nodeVerify(null, message, { key, context }, signature);
}

export const mlDsa65: SignatureScheme = Object.freeze({
  alg: ALG.mlDsa65,
  name: "ML-DSA-65",
  lengths: LENGTHS,
  keygen,
  publicKey,
  sign,
  verify,
});
