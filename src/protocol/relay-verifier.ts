import { equalBytes, toHex } from "../crypto/bytes.ts";
import { encodeTaggedKey } from "../crypto/key-encoding.ts";
import type { CryptoProvider } from "../crypto/provider/index.ts";
import { NanoError } from "../errors/index.ts";
import { decodeExact, Writer } from "./_codec.ts";
import { decodeBundleExact } from "./bundle.ts";
import { verifyDeviceCertificate as verifyCertificate, verifyDeviceAnswer } from "./device-certificate.ts";
import { decodeEnvelope } from "./envelope.ts";
import { decodeIdentityRecordExact, type IdentityRecord } from "./identity-record.ts";
import { decodeSignedPrekey, PREKEY_ROLES, verifySignedPrekey } from "./prekey.ts";
import { verifyIdentityUpdate, verifyUsernameClaim } from "./username-claim.ts";

/**
 * The relay's view of the protocol (docs/protocol.md §14): an implementation of the relay's
 * `ProtocolVerifier` interface (src/relay/protocol-verifier.ts), so the relay never parses a protocol
 * structure itself. The result types are defined here and re-exported by the relay, because protocol
 * must not depend on relay; the interface's contract (what each method checks) is documented there.
 * Errors are this layer's codes; they cross the relay boundary with the catalogue's HTTP status.
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
  /** The suite the identity prefers (its mode): the relay holds it to its minimum at claim. */
  readonly preferred: number;
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

function verified(record: IdentityRecord): VerifiedIdentity {
  return {
    username: record.username,
    identityHash: record.hash,
    version: record.recordVersion,
    suites: record.keys.map((entry) => entry.suite.id),
    preferred: record.preferred,
  };
}

/** The relay's verifier over `provider` (the relay runs it on nodeProvider); stateless and frozen. */
export function createRelayVerifier(provider: CryptoProvider) {
  return Object.freeze({
    async verifyIdentityRecord(bytes: Uint8Array): Promise<VerifiedIdentity> {
      return verified(await decodeIdentityRecordExact(provider, bytes));
    },

    async verifyUsernameClaim(input: {
      readonly identity: VerifiedIdentity;
      readonly identityRecord: Uint8Array;
      readonly username: string;
      readonly challenge: Uint8Array;
      readonly signature: Uint8Array;
    }): Promise<boolean> {
      const record = await decodeIdentityRecordExact(provider, input.identityRecord);
      return verifyUsernameClaim(record, input.username, input.challenge, input.signature);
    },

    async verifyIdentityUpdate(input: {
      readonly current: Uint8Array;
      readonly next: Uint8Array;
      readonly signature: Uint8Array;
    }): Promise<VerifiedIdentity> {
      const current = await decodeIdentityRecordExact(provider, input.current);
      const next = await decodeIdentityRecordExact(provider, input.next);
      await verifyIdentityUpdate(current, next, input.signature);
      return verified(next);
    },

    async verifyDeviceCertificate(input: {
      readonly certificate: Uint8Array;
      readonly identityRecord: Uint8Array;
      readonly username: string;
      readonly now: number;
    }): Promise<VerifiedDevice> {
      const record = await decodeIdentityRecordExact(provider, input.identityRecord);
      if (record.username !== input.username)
        throw new NanoError("certificate_mismatch", "record of another user");
      const certificate = await verifyCertificate(provider, input.certificate, record, input.now);
      return {
        devicePublicKey: encodeTaggedKey(certificate.suite.signature.alg, certificate.devicePublicKey),
        suite: certificate.suite.id,
        expiresAt: certificate.expires,
      };
    },

    async verifyChallengeResponse(input: {
      readonly device: VerifiedDevice;
      readonly username: string;
      readonly challenge: Uint8Array;
      readonly signature: Uint8Array;
    }): Promise<boolean> {
      const suite = provider.suites.find((candidate) => candidate.id === input.device.suite);
      const tagged = input.device.devicePublicKey;
      if (suite === undefined || tagged[0] !== suite.signature.alg) return false;
      return verifyDeviceAnswer(suite, tagged.subarray(1), input.username, input.challenge, input.signature);
    },

    async inspectPrekeyUpload(input: {
      readonly bundle: Uint8Array | null;
      readonly oneTimePrekeys: readonly Uint8Array[];
      readonly identityRecord: Uint8Array;
      readonly now: number;
    }): Promise<PrekeyUploadInspection> {
      const record = await decodeIdentityRecordExact(provider, input.identityRecord);
      let bundle: PrekeyUploadInspection["bundle"] = null;
      if (input.bundle !== null) {
        const decoded = await decodeBundleExact(provider, input.bundle, input.now);
        if (!equalBytes(decoded.record.hash, record.hash)) {
          throw new NanoError("stale_identity_record", "the bundle is bound to another identity record");
        }
        if (decoded.oneTimeDh !== null || (decoded.pq !== null && !decoded.pq.lastResort)) {
          throw new NanoError("prekey_mismatch", "a base bundle carries no one-time prekey");
        }
        const anchor = decoded.pq ?? decoded.signedDh!;
        bundle = {
          suite: decoded.suite.id,
          postQuantum: decoded.pq !== null,
          signedPrekeyCreatedAt: (decoded.signedDh ?? decoded.pq)!.created,
          bundle: decoded.encoded,
          lastResortPrekey: anchor.encoded,
        };
      }
      const oneTimePrekeys: PrekeyUploadInspection["oneTimePrekeys"][number][] = [];
      for (const bytes of input.oneTimePrekeys) {
        const prekey = decodeExact(bytes, (b, o) => decodeSignedPrekey(provider, b, o), "one-time prekey");
        if (prekey.role !== PREKEY_ROLES.oneTimeDh && prekey.role !== PREKEY_ROLES.pqOneTime) {
          throw new NanoError("prekey_mismatch", `prekey ${prekey.id} is not a one-time prekey`);
        }
        await verifySignedPrekey(prekey, record, input.now);
        const id = toHex(new Writer().u16(prekey.suite.id).u8(prekey.role).u32(prekey.id).finish());
        oneTimePrekeys.push({ id, suite: prekey.suite.id, prekey: prekey.encoded });
      }
      return { bundle, oneTimePrekeys };
    },

    /** Synchronous: a parse with no signature, on the relay's hot path for every message. */
    inspectEnvelope(bytes: Uint8Array): EnvelopeInspection {
      const envelope = decodeEnvelope(provider, bytes);
      return { version: bytes[0]!, suite: envelope.suite.id, size: bytes.length };
    },
  });
}

export type RelayVerifier = ReturnType<typeof createRelayVerifier>;
