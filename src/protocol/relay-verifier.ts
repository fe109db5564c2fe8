import { encodeTaggedKey, SUITES, toHex } from "../crypto/index.ts";
import { NanoError } from "../errors/index.ts";
import { decodeExact, equalBytes, Writer } from "./_codec.ts";
import { decodeBundleExact } from "./bundle.ts";
import { verifyDeviceCertificate as verifyCertificate, verifyDeviceAnswer } from "./device-certificate.ts";
import { decodeEnvelope } from "./envelope.ts";
import { decodeIdentityRecordExact, type IdentityRecord } from "./identity-record.ts";
import { decodeSignedPrekey, PREKEY_ROLES, verifySignedPrekey } from "./prekey.ts";
import { verifyIdentityUpdate, verifyUsernameClaim } from "./username-claim.ts";

/**
 * The relay's view of the protocol (docs/protocol.md §14): an implementation of the relay's
 * `ProtocolVerifier` interface (src/relay/protocol-verifier.ts), so the relay never parses a protocol
 * structure itself. The shapes below mirror that interface structurally; this file does not import the
 * relay (protocol must not depend on relay). Errors are this layer's codes; the relay maps them at its
 * boundary.
 */
export interface VerifiedIdentity {
  readonly username: string;
  readonly identityHash: Uint8Array;
  readonly version: number;
  readonly suites: readonly number[];
}

export interface VerifiedDevice {
  /** Tagged (alg byte || key), as in the certificate. */
  readonly devicePublicKey: Uint8Array;
  readonly suite: number;
  readonly expiresAt: number;
}

export interface PrekeyUploadInspection {
  readonly bundle: {
    readonly suite: number;
    readonly postQuantum: boolean;
    readonly signedPrekeyCreatedAt: number;
    readonly bundle: Uint8Array;
    readonly lastResortPrekey: Uint8Array;
  } | null;
  readonly oneTimePrekeys: readonly {
    readonly id: string;
    readonly suite: number;
    readonly prekey: Uint8Array;
  }[];
}

function verified(record: IdentityRecord): VerifiedIdentity {
  return {
    username: record.username,
    identityHash: record.hash,
    version: record.recordVersion,
    suites: record.keys.map((entry) => entry.suite.id),
  };
}

export const relayVerifier = Object.freeze({
  verifyIdentityRecord(bytes: Uint8Array): VerifiedIdentity {
    return verified(decodeIdentityRecordExact(bytes));
  },

  verifyUsernameClaim(input: {
    readonly identity: VerifiedIdentity;
    readonly identityRecord: Uint8Array;
    readonly username: string;
    readonly challenge: Uint8Array;
    readonly signature: Uint8Array;
  }): boolean {
    const record = decodeIdentityRecordExact(input.identityRecord);
    return verifyUsernameClaim(record, input.username, input.challenge, input.signature);
  },

  verifyIdentityUpdate(input: {
    readonly current: Uint8Array;
    readonly next: Uint8Array;
    readonly signature: Uint8Array;
  }): VerifiedIdentity {
    const current = decodeIdentityRecordExact(input.current);
    const next = decodeIdentityRecordExact(input.next);
    verifyIdentityUpdate(current, next, input.signature);
    return verified(next);
  },

  verifyDeviceCertificate(input: {
    readonly certificate: Uint8Array;
    readonly identityRecord: Uint8Array;
    readonly username: string;
    readonly now: number;
  }): VerifiedDevice {
    const record = decodeIdentityRecordExact(input.identityRecord);
    if (record.username !== input.username)
      throw new NanoError("certificate_mismatch", "record of another user");
    const certificate = verifyCertificate(input.certificate, record, input.now);
    return {
      devicePublicKey: encodeTaggedKey(certificate.suite.signature.alg, certificate.devicePublicKey),
      suite: certificate.suite.id,
      expiresAt: certificate.expires,
    };
  },

  verifyChallengeResponse(input: {
    readonly device: VerifiedDevice;
    readonly username: string;
    readonly challenge: Uint8Array;
    readonly signature: Uint8Array;
  }): boolean {
    const suite = SUITES.find((candidate) => candidate.id === input.device.suite);
    const tagged = input.device.devicePublicKey;
    if (suite === undefined || tagged[0] !== suite.signature.alg) return false;
    return verifyDeviceAnswer(suite, tagged.subarray(1), input.username, input.challenge, input.signature);
  },

  inspectPrekeyUpload(input: {
    readonly bundle: Uint8Array | null;
    readonly oneTimePrekeys: readonly Uint8Array[];
    readonly identityRecord: Uint8Array;
    readonly now: number;
  }): PrekeyUploadInspection {
    const record = decodeIdentityRecordExact(input.identityRecord);
    let bundle: PrekeyUploadInspection["bundle"] = null;
    if (input.bundle !== null) {
      const decoded = decodeBundleExact(input.bundle, input.now);
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
    const oneTimePrekeys = input.oneTimePrekeys.map((bytes) => {
      const prekey = decodeExact(bytes, decodeSignedPrekey, "one-time prekey");
      if (prekey.role !== PREKEY_ROLES.oneTimeDh && prekey.role !== PREKEY_ROLES.pqOneTime) {
        throw new NanoError("prekey_mismatch", `prekey ${prekey.id} is not a one-time prekey`);
      }
      verifySignedPrekey(prekey, record, input.now);
      const id = toHex(new Writer().u16(prekey.suite.id).u8(prekey.role).u32(prekey.id).finish());
      return { id, suite: prekey.suite.id, prekey: prekey.encoded };
    });
    return { bundle, oneTimePrekeys };
  },

  inspectEnvelope(bytes: Uint8Array): { version: number; suite: number; size: number } {
    const envelope = decodeEnvelope(bytes);
    return { version: bytes[0]!, suite: envelope.suite.id, size: bytes.length };
  },
});
