import { utf8 } from "./bytes.ts";

/**
 * The one registry of domain-separation labels (docs/protocol.md §3). Every signature context and
 * every KDF/hash label in the project — crypto constructions, protocol, attachments, audit log — comes
 * from here (it lives in the lowest layer so every layer can import it), and test/protocol/identity.test.ts
 * ("labels are unique and none is a prefix of another") checks that no label equals or is a prefix of another, so an output made for one purpose can never be valid for
 * another. Frozen because they are exported: nothing in the process may change a label.
 */
export const SIGNATURE_CONTEXTS = Object.freeze({
  identityRecord: "nano/v1/sig/identity-record",
  prekey: "nano/v1/sig/prekey",
  handshakeInit: "nano/v1/sig/hs-init",
  usernameClaim: "nano/v1/sig/username-claim",
  deviceCert: "nano/v1/sig/device-cert",
  deviceAuth: "nano/v1/sig/device-auth",
  identityUpdate: "nano/v1/sig/identity-update",
  /** ML-DSA-65 FIPS 204 context of the audit log's checkpoint signatures (docs/audit.md). */
  checkpoint: "nano/v1/sig/checkpoint",
  /** The owner deleting its account at the relay (docs/compliance.md, "Erasure"). */
  accountDelete: "nano/v1/sig/account-delete",
  /** Both signatures of a relay's compliance export, by the log key (docs/compliance.md). */
  complianceExport: "nano/v1/sig/compliance-export",
  /** An administrator's approval of a security-weakening configuration change (docs/compliance.md). */
  configApproval: "nano/v1/sig/config-approval",
} as const);

export const KDF_LABELS = Object.freeze({
  /** Transcript hash of the handshake. */
  transcript: "nano/v1/th",
  /** Handshake key schedule: root, chain, header keys and session id. */
  handshake: "nano/v1/hs",
  /** Root chain step of the ratchet. */
  root: "nano/v1/root",
  /** Chain key step. */
  chain: "nano/v1/ck",
  /**
   * Retired: the message key now comes from the chain step's one HKDF call under `chain`
   * (docs/protocol.md §8.2). Kept reserved so the string is never given another meaning.
   */
  messageKey: "nano/v1/mk",
  /** Body AEAD key || nonce from a message key. */
  message: "nano/v1/msg",
  /** Header AEAD associated data. */
  header: "nano/v1/hdr",
  /** One-shot sealing (first contact, sealed sender). */
  seal: "nano/v1/seal",
  /** Safety numbers (computed in safety-number.ts). */
  safetyNumber: "nano/v1/sn",
  /** Hash of an identity record's signature key, bound into device certificates. */
  identityKeyHash: "nano/v1/ikh",
  /** Hash of a bundle as the initiator received it. */
  bundle: "nano/v1/bundle",
  /** Attachment payload key from the file key (docs/attachments.md). */
  attachment: "nano/v1/attachment",
  /** The classical suite's X25519 sealing KEM (docs/crypto.md). */
  x25519Kem: "nano/v1/x25519-kem",
  /** Signed-note signature type of the audit log's ML-DSA-65 lines (after the 0xff byte). */
  noteMlDsa65: "nano/v1/note/ml-dsa-65",
  /** Salt of the relay's audit-log actor pseudonyms (HKDF over the per-relay secret). */
  auditActor: "nano/v1/audit-actor",
  /** Keyed hash of an erased username's skeleton in the relay's tombstones (docs/compliance.md). */
  tombstone: "nano/v1/tombstone",
  /** Keys of the responder's cache of refused first contacts (docs/protocol.md §7.7); never sent. */
  refused: "nano/v1/refused",
} as const);

/**
 * The client's local-storage labels (docs/client.md "Keystore", "Local store sealing"). Their bytes are
 * fixed by every keystore and local database already written: renaming one would lock users out.
 */
export const LOCAL_LABELS = Object.freeze({
  /** Keystore AEAD key from the argon2id master key. */
  keystoreSeal: "nano/v1/keystore/seal",
  /** Keystore passphrase check value from the same master key. */
  keystoreCheck: "nano/v1/keystore/check",
  /** Local database record-sealing key from the database key. */
  localRecordKey: "nano/v1/local-db/record-key",
  /** Local database blind-index key from the database key. */
  localIndexKey: "nano/v1/local-db/index-key",
  /** AD prefix of a sealed local row (followed by length-prefixed table and row key). */
  localRow: "nano/v1/local-db/row",
  /** Blind-index info prefix (followed by length-prefixed table and value). */
  localIndex: "nano/v1/local-db/index",
} as const);

/**
 * Label pairs where one is a prefix of the other, shipped before the registry covered them and frozen
 * by stored data. Safe: `localIndex` is only ever an HKDF info under the index key followed by a
 * length-prefixed table name (u8 length >= 1, lowercase names), while `localIndexKey` is the whole info
 * under the database key; different keys, and no table name makes one string the other.
 */
export const PREFIX_EXCEPTIONS: readonly (readonly [string, string])[] = Object.freeze([
  Object.freeze([LOCAL_LABELS.localIndex, LOCAL_LABELS.localIndexKey] as const),
]);

export type SignatureContext = (typeof SIGNATURE_CONTEXTS)[keyof typeof SIGNATURE_CONTEXTS];
export type KdfLabel = (typeof KDF_LABELS)[keyof typeof KDF_LABELS];
export type LocalLabel = (typeof LOCAL_LABELS)[keyof typeof LOCAL_LABELS];

const encoded = new Map<string, Uint8Array>();

/** The label's bytes (ASCII), cached. Callers must not mutate the result. */
export function label(name: SignatureContext | KdfLabel | LocalLabel): Uint8Array {
  let bytes = encoded.get(name);
  if (bytes === undefined) {
    bytes = utf8(name);
    encoded.set(name, bytes);
  }
  return bytes;
}

/** Every label, for the uniqueness test and the spec table. */
export function allLabels(): readonly string[] {
  return [...Object.values(SIGNATURE_CONTEXTS), ...Object.values(KDF_LABELS), ...Object.values(LOCAL_LABELS)];
}

/** Wire format version of every nano v1 structure. */
export const PROTOCOL_VERSION = 1;
