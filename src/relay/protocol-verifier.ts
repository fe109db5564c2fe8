/**
 * The one narrow interface through which the relay checks protocol formats. The relay never parses an
 * identity record, certificate, bundle or envelope itself: src/protocol owns those encodings, and an
 * implementation of `ProtocolVerifier` over it is plugged in at start-up (`startRelay({ verifier })`).
 * The implementation is `relayVerifier` below (src/protocol/relay-verifier.ts over the node:crypto
 * provider, docs/protocol.md §14); the
 * relay's tests and `nano-relay start` both use it. Keeping every format check behind this interface
 * means a format change touches src/protocol only.
 *
 * Failure contract (STYLE.md 2 and 5): methods that decide "valid signature or not" return `false`;
 * methods that decode throw `NanoError` with a protocol-layer code (src/errors/codes-protocol.ts,
 * codes-crypto.ts): codec codes (`truncated`, `trailing_bytes`, `unknown_suite`, `unknown_algorithm`,
 * `invalid_length`, `malformed`, `unsupported_version`) or the check codes named in each doc comment.
 * These codes cross the relay boundary unchanged, with the catalogue's HTTP status (all 4xx); the
 * one exception is the identity update, which the accounts route reports as
 * `identity_update_unauthorized`. No method may throw anything else for hostile input, and none may
 * log or echo key material.
 * Every method is pure (no I/O, no clock other than the `now` passed in); the signature-checking ones
 * return promises, as the crypto provider's signatures do (docs/web.md "Sync or async"), and
 * `inspectEnvelope`, which reads a header and checks no signature, stays synchronous.
 */

import { nodeProvider } from "../crypto/node-provider.ts";
import {
  createRelayVerifier,
  type EnvelopeInspection,
  type PrekeyUploadInspection,
  type VerifiedDevice,
  type VerifiedIdentity,
} from "../protocol/relay-verifier.ts";

// The result shapes belong to the protocol layer (relay depends on protocol, never the reverse), so
// they are defined once there and re-exported here for the relay's code.
export type { EnvelopeInspection, PrekeyUploadInspection, VerifiedDevice, VerifiedIdentity };

export interface ProtocolVerifier {
  /**
   * docs/protocol.md §4.1. Decodes an identity record and verifies it is self-consistent: exact length
   * (no trailing bytes, at most 16 KiB), known version, 1-3 suites strictly ascending, every listed key
   * well-formed for its algorithm, and the record signed by EVERY signature key it lists under
   * `nano/v1/sig/identity-record`. Throws `invalid_signature` for a signature that does not verify,
   * `invalid_username` / `malformed` for a broken rule, or a codec code for bad bytes.
   */
  verifyIdentityRecord(record: Uint8Array): Promise<VerifiedIdentity>;

  /**
   * docs/protocol.md §4.4. Proof of possession for a username claim: `signature` is one signature by
   * EVERY identity signature key of the record, in the record's suite order, concatenated (Ed25519 in
   * classical, composite ML-DSA-65 + Ed25519 in hybrid, ML-DSA-65 in quantum), each under
   * `nano/v1/sig/username-claim` over `lp(username) || lp(challenge) || lp(H(IR))`, where `username`
   * is the normalized name the relay passes and must equal the record's. The challenge has 16-64
   * bytes. Returns false for any signature that does not verify or has the wrong total length.
   */
  verifyUsernameClaim(input: {
    readonly identity: VerifiedIdentity;
    readonly identityRecord: Uint8Array;
    readonly username: string;
    readonly challenge: Uint8Array;
    readonly signature: Uint8Array;
  }): Promise<boolean>;

  /**
   * docs/protocol.md §4.5. An identity-record update: `next` must itself verify (as
   * verifyIdentityRecord), name the same username, carry a greater record version, and `signature`
   * must be one signature by every signature key of `current`, concatenated in its suite order, under
   * `nano/v1/sig/identity-update` over `lp(H(current)) || lp(H(next))`. Returns the verified next
   * identity, or throws `certificate_mismatch` (renamed, or the version does not increase),
   * `invalid_signature` (the update signature, or `next`'s own signatures), or a codec code.
   */
  verifyIdentityUpdate(input: {
    readonly current: Uint8Array;
    readonly next: Uint8Array;
    readonly signature: Uint8Array;
  }): Promise<VerifiedIdentity>;

  /**
   * docs/protocol.md §4.3. A device certificate: decodes it (exact length), checks it names `username`
   * (the record's user) and binds the record's identity signature key of the certificate's suite
   * (`ikh`, a hash of that key, not H(IR): a certificate survives record updates that keep the key), is
   * signed by that key under `nano/v1/sig/device-cert`, is valid at `now` (created <= now < expires),
   * and that the device key differs from every identity key (an identity key that answers relay
   * challenges is a signing oracle for the relay). Throws `certificate_mismatch` (other user or
   * identity key, or the device key is an identity key), `invalid_signature`, `certificate_expired`,
   * `suite_not_accepted`, or a codec code for bad bytes.
   */
  verifyDeviceCertificate(input: {
    readonly certificate: Uint8Array;
    readonly identityRecord: Uint8Array;
    readonly username: string;
    readonly now: number;
  }): Promise<VerifiedDevice>;

  /**
   * docs/protocol.md §4.3. Login: `signature` by the certified device key (the certificate's suite's
   * signature scheme) over `u16 suite || vec8 username || vec8 challenge` under
   * `nano/v1/sig/device-auth` (src/crypto/labels.ts). Returns false for anything that does not verify.
   */
  verifyChallengeResponse(input: {
    readonly device: VerifiedDevice;
    readonly username: string;
    readonly challenge: Uint8Array;
    readonly signature: Uint8Array;
  }): Promise<boolean>;

  /**
   * docs/protocol.md §6.1, §6.3, §6.4. Prekeys being uploaded by the owner of `identityRecord`: the
   * base bundle (signed X25519 prekey and/or last-resort ML-KEM prekey, no one-time key) and each
   * one-time prekey (roles 2, 3) decode exactly, are signed by the identity key of their suite under
   * `nano/v1/sig/prekey` over `suite || alg || role || id || pk || created || expires || last_resort
   * || H(IR)` with H(IR) equal to this record's hash, have an algorithm and role matching their suite,
   * and are valid at `now`. The relay applies its own policy (minimum suite, post-quantum requirement,
   * one-time keys of the bundle's suite) to the result. Throws `stale_identity_record` (bundle of
   * another record), `invalid_signature`, `prekey_expired`, `prekey_mismatch` (role or slot),
   * `suite_not_accepted`, or a codec code for bad bytes.
   */
  inspectPrekeyUpload(input: {
    readonly bundle: Uint8Array | null;
    readonly oneTimePrekeys: readonly Uint8Array[];
    readonly identityRecord: Uint8Array;
    readonly now: number;
  }): Promise<PrekeyUploadInspection>;

  /**
   * docs/protocol.md §9.2, §9.3. Reads only the envelope's clear prefix (version, suite, type) and its
   * framing, with the length checked against the 64 KiB cap and the per-suite, per-type maximum before
   * anything is allocated. The relay cannot and does not decrypt anything. Throws
   * `unsupported_version`, `unknown_suite`, `malformed` (type), `envelope_size_invalid`, or a codec code.
   */
  inspectEnvelope(envelope: Uint8Array): EnvelopeInspection;
}

/** The protocol's verifier on the node:crypto provider: what `nano-relay start` and the workers run. */
export const relayVerifier: ProtocolVerifier = createRelayVerifier(nodeProvider);
