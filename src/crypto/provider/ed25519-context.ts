import { ALG } from "../algorithms.ts";
import { concatBytes, u8 } from "../bytes.ts";
import { MAX_SIGNATURE_CONTEXT } from "../parameters.ts";
import type { AsyncSignatureScheme, CryptoPrimitives } from "./types.ts";

/**
 * Ed25519 with a domain-separation context, as src/crypto/ed25519.ts builds it: pure Ed25519 has no
 * context input, so it signs `len(context) || context || message` (DESIGN.md), and a signature made
 * for one label never verifies under another.
 */
function framed(message: Uint8Array, context: Uint8Array): Uint8Array {
  if (context.length > MAX_SIGNATURE_CONTEXT) {
    throw new RangeError(`signature context longer than ${MAX_SIGNATURE_CONTEXT} bytes`);
  }
  return concatBytes(u8(context.length), context, message);
}

export function contextEd25519(primitives: CryptoPrimitives): AsyncSignatureScheme {
  const raw = primitives.ed25519;
  return Object.freeze({
    alg: ALG.ed25519,
    name: "Ed25519",
    lengths: raw.lengths,
    keygen: (seed?: Uint8Array) => raw.keygen(seed),
    publicKey: (seed: Uint8Array) => raw.publicKey(seed),
    sign: async (seed: Uint8Array, message: Uint8Array, context: Uint8Array) =>
      raw.sign(seed, framed(message, context)),
    // An over-long context cannot have been signed: an invalid signature, as in ML-DSA.
    verify: async (
      publicKey: Uint8Array,
      message: Uint8Array,
      signature: Uint8Array,
      context: Uint8Array,
    ) => {
      if (context.length > MAX_SIGNATURE_CONTEXT) {
        await raw.verify(publicKey, message, new Uint8Array(0)); // still checks the key's length
        return false;
      }
      return raw.verify(publicKey, framed(message, context), signature);
    },
  });
}
