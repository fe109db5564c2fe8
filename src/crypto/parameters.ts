import { utf8 } from "./bytes.ts";

/**
 * The sizes and fixed strings of every algorithm, in one place with no runtime dependency: the
 * node:crypto modules, the crypto provider's constructions and the browser's provider all read them
 * here, so the two runtimes can never disagree on a wire size (BRIEF: one definition of every wire
 * constant). Frozen because they are exported.
 */
export const X25519_LENGTHS = Object.freeze({ seed: 32, publicKey: 32, sharedSecret: 32 });
export const ED25519_LENGTHS = Object.freeze({ seed: 32, publicKey: 32, signature: 64 });
/** FIPS 203: the seed is the 64-byte d || z of KeyGen_internal. */
export const ML_KEM_768_LENGTHS = Object.freeze({
  seed: 64,
  publicKey: 1184,
  ciphertext: 1088,
  sharedSecret: 32,
});
/** FIPS 204: the seed is the 32-byte xi of KeyGen_internal. */
export const ML_DSA_65_LENGTHS = Object.freeze({ seed: 32, publicKey: 1952, signature: 3309 });
/** draft-connolly-cfrg-xwing-kem: pk = pk_M || pk_X, ct = ct_M || ct_X. */
export const X_WING_LENGTHS = Object.freeze({
  seed: 32,
  publicKey: 1216,
  ciphertext: 1120,
  sharedSecret: 32,
});
export const X25519_KEM_LENGTHS = Object.freeze({
  seed: 32,
  publicKey: 32,
  ciphertext: 32,
  sharedSecret: 32,
});
/** id-MLDSA65-Ed25519-SHA512: both components side by side, ML-DSA first. */
export const COMPOSITE_LENGTHS = Object.freeze({
  seed: ML_DSA_65_LENGTHS.seed + ED25519_LENGTHS.seed,
  publicKey: ML_DSA_65_LENGTHS.publicKey + ED25519_LENGTHS.publicKey,
  signature: ML_DSA_65_LENGTHS.signature + ED25519_LENGTHS.signature,
});

/** The longest signature context any scheme takes (FIPS 204's limit, the composite's `ctx`, our Ed25519 framing). */
export const MAX_SIGNATURE_CONTEXT = 255;

/** The ASCII bytes `\./` `/^\`, last in the X-Wing combiner input. */
export const X_WING_LABEL: Uint8Array = Uint8Array.of(0x5c, 0x2e, 0x2f, 0x2f, 0x5e, 0x5c);
/** Composite signature message representative prefix and label (draft-ietf-lamps-pq-composite-sigs). */
export const COMPOSITE_PREFIX: Uint8Array = utf8("CompositeAlgorithmSignatures2025");
export const COMPOSITE_LABEL: Uint8Array = utf8("COMPSIG-MLDSA65-Ed25519-SHA512");

/** ChaCha20-Poly1305 (RFC 8439): the only AEAD of every suite. */
export const CHACHA20_POLY1305 = Object.freeze({
  name: "ChaCha20-Poly1305",
  keyLength: 32,
  nonceLength: 12,
  tagLength: 16,
});
