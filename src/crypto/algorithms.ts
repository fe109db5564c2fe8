/**
 * Algorithm identifiers and the interfaces every primitive implements. The one-byte id prefixes every
 * encoded key, so a key of one algorithm can never be parsed as another (an X25519 key used for
 * agreement and one used as a sealing KEM have different ids on purpose).
 */
export const ALG = Object.freeze({
  x25519: 0x01,
  ed25519: 0x02,
  mlKem768: 0x03,
  mlDsa65: 0x04,
  xWing: 0x05,
  mlDsa65Ed25519: 0x06,
  x25519Kem: 0x07,
} as const);

export type AlgId = (typeof ALG)[keyof typeof ALG];

export const ALG_NAMES: Readonly<Record<AlgId, string>> = Object.freeze({
  [ALG.x25519]: "X25519",
  [ALG.ed25519]: "Ed25519",
  [ALG.mlKem768]: "ML-KEM-768",
  [ALG.mlDsa65]: "ML-DSA-65",
  [ALG.xWing]: "X-Wing",
  [ALG.mlDsa65Ed25519]: "id-MLDSA65-Ed25519-SHA512",
  [ALG.x25519Kem]: "X25519-KEM",
});

export function isAlgId(value: number): value is AlgId {
  return Object.hasOwn(ALG_NAMES, value);
}

/** A key pair as the protocol stores it: the private key is always the seed the algorithm expands. */
export interface SeedKeyPair {
  readonly seed: Uint8Array;
  readonly publicKey: Uint8Array;
}

interface KeyGeneration {
  readonly alg: AlgId;
  readonly name: string;
  /** Generates from `seed`, or from fresh randomness when no seed is given. */
  keygen(seed?: Uint8Array): SeedKeyPair;
  /** The public key a seed expands to. */
  publicKey(seed: Uint8Array): Uint8Array;
}

/**
 * Signatures with a domain-separation context. `verify` returns false for any bad signature
 * (including one of the wrong length); a public key of the wrong length throws `invalid_length`.
 */
export interface SignatureScheme extends KeyGeneration {
  readonly lengths: { readonly seed: number; readonly publicKey: number; readonly signature: number };
  sign(seed: Uint8Array, message: Uint8Array, context: Uint8Array): Uint8Array;
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array, context: Uint8Array): boolean;
}

/**
 * Key encapsulation. Decapsulation never throws for a well-sized but wrong ciphertext: it returns an
 * unrelated secret (implicit rejection), so a later AEAD check fails. Wrong sizes throw `invalid_length`;
 * an encapsulation key that fails its validity check throws `invalid_public_key`.
 */
export interface Kem extends KeyGeneration {
  readonly lengths: {
    readonly seed: number;
    readonly publicKey: number;
    readonly ciphertext: number;
    readonly sharedSecret: number;
  };
  encapsulate(publicKey: Uint8Array): { sharedSecret: Uint8Array; ciphertext: Uint8Array };
  decapsulate(seed: Uint8Array, ciphertext: Uint8Array): Uint8Array;
}

/** Diffie-Hellman. `agree` throws `low_order_point` when the result is all zero. */
export interface KeyAgreement extends KeyGeneration {
  readonly lengths: { readonly seed: number; readonly publicKey: number; readonly sharedSecret: number };
  agree(seed: Uint8Array, peerPublicKey: Uint8Array): Uint8Array;
  /**
   * `keygen()` then `agree(pair.seed, peerPublicKey)` in one call, using the fresh private key object
   * directly instead of importing it again from its seed (the import costs more than the agreement):
   * the sender's half of every DH ratchet step. Same results and errors as the two calls. Optional, so
   * other implementations stay valid; callers fall back to the two calls.
   */
  generateAndAgree?(peerPublicKey: Uint8Array): {
    readonly pair: SeedKeyPair;
    readonly sharedSecret: Uint8Array;
  };
}
