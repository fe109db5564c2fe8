import { sign as nodeSign, verify as nodeVerify } from "node:crypto";
import { checkLength, nativeKeyGeneration, privateKeyFromSeed, publicKeyFromRaw } from "./_key-objects.ts";
import { ALG, type SignatureScheme } from "./algorithms.ts";
import { concatBytes, copyBytes, u8 } from "./bytes.ts";
import { ed25519EncodingsAcceptable } from "./ed25519-encodings.ts";
import { ED25519_LENGTHS, MAX_SIGNATURE_CONTEXT } from "./parameters.ts";

const LENGTHS = ED25519_LENGTHS;
const MAX_CONTEXT = MAX_SIGNATURE_CONTEXT;

const { keygen, publicKey } = nativeKeyGeneration("ed25519", "Ed25519 private key", LENGTHS.seed);

/** Pure Ed25519 (RFC 8032) over the message as given: the composite signature and the vectors use this. */
export function ed25519SignRaw(seed: Uint8Array, message: Uint8Array): Uint8Array {
  checkLength("Ed25519 private key", seed, LENGTHS.seed);
  return copyBytes(nodeSign(null, message, privateKeyFromSeed("ed25519", seed)));
}

/** Verifies pure Ed25519; false for any malformed or non-canonical signature (OpenSSL checks S < L). */
export function ed25519VerifyRaw(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  checkLength("Ed25519 public key", publicKey, LENGTHS.publicKey);
  // OpenSSL refuses these itself; the rule is checked here too so every runtime applies the same one.
  if (!ed25519EncodingsAcceptable(publicKey, signature)) return false;
  let key: ReturnType<typeof publicKeyFromRaw>;
  try {
    key = publicKeyFromRaw("ed25519", publicKey);
  } catch {
    return false;
  }
  return nodeVerify(null, message, key, signature);
}

/**
 * Ed25519 has no context input, so the context is bound by signing `len(context) || context || message`
 * (DESIGN.md's domain separation): a signature made for one label never verifies under another.
 */
function framed(message: Uint8Array, context: Uint8Array): Uint8Array {
  if (context.length > MAX_CONTEXT)
    throw new RangeError(`signature context longer than ${MAX_CONTEXT} bytes`);
  return concatBytes(u8(context.length), context, message);
}

export const ed25519: SignatureScheme = Object.freeze({
  alg: ALG.ed25519,
  name: "Ed25519",
  lengths: LENGTHS,
  keygen,
  publicKey,
  sign: (seed: Uint8Array, message: Uint8Array, context: Uint8Array) =>
    ed25519SignRaw(seed, framed(message, context)),
  // An over-long context cannot have been signed, so it is an invalid signature like in ML-DSA.
  verify: (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array, context: Uint8Array) => {
    checkLength("Ed25519 public key", publicKey, LENGTHS.publicKey);
    if (context.length > MAX_CONTEXT) return false;
    return ed25519VerifyRaw(publicKey, framed(message, context), signature);
  },
});
