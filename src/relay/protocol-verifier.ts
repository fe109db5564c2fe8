/**
 * The one narrow interface through which the relay checks protocol formats. The relay never parses an
 * identity record, certificate, bundle or envelope itself: src/protocol owns those encodings, and an
 * implementation of `ProtocolVerifier` over it is plugged in at start-up (`startRelay({ verifier })`).
 * Keeping every format check here means the relay's own logic (accounts, tokens, mailboxes, quotas) can
 * be built and tested while the wire formats settle, and a format change touches one file.
 *
 * Failure contract (STYLE.md 2 and 5): methods that decide "valid signature or not" return `false`;
 * methods that decode throw `NanoError` with a codec code (`truncated`, `trailing_bytes`,
 * `unknown_suite`, `unknown_algorithm`, `invalid_length`) or the relay code named in each doc comment.
 * No method may throw anything else for hostile input, and none may log or echo key material.
 * Every method is synchronous and pure (no I/O, no clock other than the `now` passed in).
 */

/** What the relay needs to know about a verified identity record (IR). */
export interface VerifiedIdentity {
  /** The username written in the record, exactly as encoded (the relay normalizes and compares). */
  readonly username: string;
  /** BLAKE2b-512 of the whole encoded record: H(IR), the value prekeys and certificates bind. */
  readonly identityHash: Uint8Array;
  /** The record's version; an update must carry a strictly greater version. */
  readonly version: number;
  /** Suite ids (u16) the identity accepts, in the record's order. */
  readonly suites: readonly number[];
}

export interface VerifiedDevice {
  /** The certified device's signature public key, algorithm-tagged as encoded in the certificate. */
  readonly devicePublicKey: Uint8Array;
  /** Suite whose signature scheme the device key uses. */
  readonly suite: number;
  /** Milliseconds since the epoch after which the certificate is no longer valid. */
  readonly expiresAt: number;
}

export interface PrekeyUploadInspection {
  /**
   * Present when the upload carries a (new) signed bundle. `bundle` is the signed bundle exactly as
   * uploaded (what fetchers receive); `lastResortPrekey` is the signed last-resort PQ prekey, handed
   * out once one-time keys run out (for classical, the signed X25519 prekey).
   */
  readonly bundle: {
    readonly suite: number;
    /** True when the bundle includes a signed ML-KEM-768 prekey. */
    readonly postQuantum: boolean;
    readonly signedPrekeyCreatedAt: number;
    readonly bundle: Uint8Array;
    readonly lastResortPrekey: Uint8Array;
  } | null;
  /** One-time prekeys: opaque per-owner id (lowercase hex) and the signed key as it is handed out. */
  readonly oneTimePrekeys: readonly {
    readonly id: string;
    readonly suite: number;
    readonly prekey: Uint8Array;
  }[];
}

export interface EnvelopeInspection {
  /** Envelope format version from the header. */
  readonly version: number;
  /** Suite id from the header (u16). */
  readonly suite: number;
  /** Total envelope length in bytes. */
  readonly size: number;
}

export interface ProtocolVerifier {
  /**
   * Decodes an identity record and verifies it is self-consistent: exact length (no trailing bytes),
   * known version, every listed suite known, every listed key well-formed for its algorithm, and the
   * record signed by EVERY signature key it lists under `nano/v1/sig/identity-record`.
   * Throws `identity_record_invalid` for a bad signature or rule, or a codec code for bad bytes.
   */
  verifyIdentityRecord(record: Uint8Array): VerifiedIdentity;

  /**
   * Proof of possession for a username claim: `signature` by the record's identity signature key(s)
   * (composite in hybrid, ML-DSA-65 in quantum, Ed25519 in classical; a record with several suites
   * needs the highest-ranked one) under `nano/v1/sig/username-claim` over the length-prefixed
   * concatenation `username || challenge || H(IR)`, where `username` is the normalized name the relay
   * passes. Returns false for any signature that does not verify or has the wrong length.
   */
  verifyUsernameClaim(input: {
    readonly identity: VerifiedIdentity;
    readonly identityRecord: Uint8Array;
    readonly username: string;
    readonly challenge: Uint8Array;
    readonly signature: Uint8Array;
  }): boolean;

  /**
   * An identity-record update: `next` must itself verify (as verifyIdentityRecord), name the same
   * username, carry a greater version, and `signature` must be made by the keys of `current` (every
   * signature key `current` lists) under `nano/v1/sig/identity-record` over `H(current) || H(next)`.
   * Returns the verified next identity, or throws `identity_update_unauthorized` (signature or version
   * rule) or `identity_record_invalid` (the new record is itself bad).
   */
  verifyIdentityUpdate(input: {
    readonly current: Uint8Array;
    readonly next: Uint8Array;
    readonly signature: Uint8Array;
  }): VerifiedIdentity;

  /**
   * A device certificate: decodes it (exact length), checks it names `username` and binds
   * `H(identityRecord)`, is signed by the record's identity signature key under
   * `nano/v1/sig/device-cert`, is not expired at `now`, and that the device key differs from every
   * identity key (an identity key that answers relay challenges is a signing oracle for the relay).
   * Throws `signature_invalid` for a bad or expired certificate, or a codec code for bad bytes.
   */
  verifyDeviceCertificate(input: {
    readonly certificate: Uint8Array;
    readonly identityRecord: Uint8Array;
    readonly username: string;
    readonly now: number;
  }): VerifiedDevice;

  /**
   * Login: `signature` by the certified device key over `username || challenge` (length-prefixed),
   * under the device-auth context the protocol registry defines (suggested `nano/v1/sig/relay-auth`).
   * Returns false for anything that does not verify.
   */
  verifyChallengeResponse(input: {
    readonly device: VerifiedDevice;
    readonly username: string;
    readonly challenge: Uint8Array;
    readonly signature: Uint8Array;
  }): boolean;

  /**
   * Prekeys being uploaded by the owner of `identityRecord`: each signed prekey and one-time prekey
   * decodes exactly, is signed by the identity key under `nano/v1/sig/prekey` over
   * `suite || alg || role || id || pk || created || expires || last_resort || H(IR)` with H(IR) equal
   * to this record's hash, has an algorithm and role matching its suite, and is not expired at `now`.
   * The relay applies its own policy (minimum suite, post-quantum requirement) to the result.
   * Throws `prekey_upload_invalid` for a bad signature or binding, or a codec code for bad bytes.
   */
  inspectPrekeyUpload(input: {
    readonly bundle: Uint8Array | null;
    readonly oneTimePrekeys: readonly Uint8Array[];
    readonly identityRecord: Uint8Array;
    readonly now: number;
  }): PrekeyUploadInspection;

  /**
   * Reads only the envelope's clear header: version and suite, with the envelope length checked
   * against the per-suite maxima (length checked before anything is allocated). The relay cannot and
   * does not decrypt anything. Throws `envelope_invalid` or a codec code.
   */
  inspectEnvelope(envelope: Uint8Array): EnvelopeInspection;
}
