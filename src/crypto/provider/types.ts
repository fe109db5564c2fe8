import type { AlgId, SeedKeyPair } from "../algorithms.ts";
import type { Argon2idParameters } from "../password-parameters.ts";

/**
 * The crypto provider: every primitive the protocol needs, behind one interface with one
 * implementation per runtime (node:crypto on Node; WebCrypto and @noble in the browser), and the
 * standard constructions (X-Wing, the composite signature, the X25519 KEM, context-framed Ed25519)
 * built once over it (docs/web.md "The crypto provider").
 *
 * The shape is decided by measurement (docs/web.md "Sync or async"): WebCrypto is asynchronous, so
 * every operation it can serve (the AEAD and every asymmetric operation) returns a Promise, in both
 * runtimes; hashes, HKDF and randomness stay synchronous, because WebCrypto lacks BLAKE2b, SHA-3 and
 * SHAKE (they come from @noble, synchronous, in the browser) and because transcript hashes, record
 * hashes and codecs call them in places that must not become asynchronous.
 *
 * Failure contract, the same in every implementation (STYLE.md 2): a wrong input size throws
 * `invalid_length`; an encapsulation key failing FIPS 203's check `invalid_public_key`; an all-zero
 * X25519 result `low_order_point`; `verify` resolves false for any bad signature; decapsulation never
 * fails on a well-sized ciphertext (implicit rejection); `aead.open` resolves null, never throws, on
 * a ciphertext that does not authenticate.
 */

/** Key generation as the protocol stores keys: the private key is always the seed. */
export interface AsyncKeyGeneration {
  readonly alg: AlgId;
  readonly name: string;
  /** From `seed`, or from fresh randomness when none is given. */
  keygen(seed?: Uint8Array): Promise<SeedKeyPair>;
  /** The public key a seed expands to. */
  publicKey(seed: Uint8Array): Promise<Uint8Array>;
}

export interface AsyncSignatureScheme extends AsyncKeyGeneration {
  readonly lengths: { readonly seed: number; readonly publicKey: number; readonly signature: number };
  sign(seed: Uint8Array, message: Uint8Array, context: Uint8Array): Promise<Uint8Array>;
  verify(
    publicKey: Uint8Array,
    message: Uint8Array,
    signature: Uint8Array,
    context: Uint8Array,
  ): Promise<boolean>;
}

/** Pure Ed25519 (RFC 8032), no context: a component of the composite and of context-framed Ed25519. */
export interface RawSignatureScheme extends AsyncKeyGeneration {
  readonly lengths: { readonly seed: number; readonly publicKey: number; readonly signature: number };
  sign(seed: Uint8Array, message: Uint8Array): Promise<Uint8Array>;
  /** False for any malformed, non-canonical or wrong signature, and for a public key that is no point. */
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean>;
}

export interface AsyncKem extends AsyncKeyGeneration {
  readonly lengths: {
    readonly seed: number;
    readonly publicKey: number;
    readonly ciphertext: number;
    readonly sharedSecret: number;
  };
  encapsulate(publicKey: Uint8Array): Promise<{ sharedSecret: Uint8Array; ciphertext: Uint8Array }>;
  decapsulate(seed: Uint8Array, ciphertext: Uint8Array): Promise<Uint8Array>;
}

export interface AsyncKeyAgreement extends AsyncKeyGeneration {
  readonly lengths: { readonly seed: number; readonly publicKey: number; readonly sharedSecret: number };
  agree(seed: Uint8Array, peerPublicKey: Uint8Array): Promise<Uint8Array>;
  /**
   * keygen then agree in one call, where the runtime can use the fresh private key without importing
   * it again (node:crypto: the import costs more than the agreement; the sender's half of every DH
   * ratchet step). Optional: callers fall back to the two calls.
   */
  generateAndAgree?(
    peerPublicKey: Uint8Array,
  ): Promise<{ readonly pair: SeedKeyPair; readonly sharedSecret: Uint8Array }>;
}

/** ChaCha20-Poly1305 (RFC 8439); the sealed form is ciphertext || 16-byte tag. */
export interface AsyncAead {
  seal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, ad: Uint8Array): Promise<Uint8Array>;
  /** Null when the input does not authenticate (short, wrong key, changed byte or changed AD). */
  open(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, ad: Uint8Array): Promise<Uint8Array | null>;
}

/** An incremental hash: feed any number of parts, then read the digest once. */
export interface IncrementalHash {
  update(data: Uint8Array): void;
  /** Returns the digest; the hash cannot be updated or read again afterwards. */
  digest(): Uint8Array;
}

/** The primitives a runtime supplies, and which implementation serves each (for diagnostics and benches). */
export const PRIMITIVE_NAMES = Object.freeze([
  "random",
  "blake2b",
  "sha512",
  "sha256",
  "sha3-256",
  "shake256",
  "hkdf-blake2b",
  "chacha20-poly1305",
  "x25519",
  "ed25519",
  "ml-kem-768",
  "ml-dsa-65",
  "argon2id",
] as const);
export type PrimitiveName = (typeof PRIMITIVE_NAMES)[number];
export type Implementation = "node:crypto" | "webcrypto" | "noble";

export interface CryptoPrimitives {
  /** "node" or "web", and the variant ("web/detected", "web/noble"). */
  readonly name: string;
  readonly implementations: Readonly<Record<PrimitiveName, Implementation>>;
  /** From the platform's CSPRNG. */
  randomBytes(length: number): Uint8Array;
  /** BLAKE2b-512 over the concatenation of `parts`. */
  blake2b(...parts: readonly Uint8Array[]): Uint8Array;
  /**
   * BLAKE2b-512 fed piece by piece, for data too large to hold at once (an attachment's ciphertext is
   * hashed as it streams): the same digest as `blake2b` over the concatenation of every `update`.
   */
  blake2bIncremental(): IncrementalHash;
  sha512(...parts: readonly Uint8Array[]): Uint8Array;
  /** SHA-256: only where a standard fixes it (RFC 9162 Merkle trees, C2SP signed-note key IDs). */
  sha256(...parts: readonly Uint8Array[]): Uint8Array;
  sha3_256(...parts: readonly Uint8Array[]): Uint8Array;
  shake256(data: Uint8Array, length: number): Uint8Array;
  /** HKDF (RFC 5869) over HMAC-BLAKE2b-512: the protocol's one KDF (src/crypto/kdf.ts has the limits). */
  hkdf(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array;
  readonly aead: AsyncAead;
  readonly x25519: AsyncKeyAgreement;
  readonly ed25519: RawSignatureScheme;
  readonly mlKem768: AsyncKem;
  /** ML-DSA-65 with the FIPS 204 context string. */
  readonly mlDsa65: AsyncSignatureScheme;
  argon2id(
    passphrase: Uint8Array,
    salt: Uint8Array,
    parameters: Argon2idParameters,
    length?: number,
  ): Promise<Uint8Array>;
}
