import type { ProviderSuite } from "../crypto/provider/index.ts";
import { NanoError } from "../errors/index.ts";
import { Reader, Writer } from "./_codec.ts";
import {
  encodeRatchetMessage,
  prekeyBodyPrefix,
  type RatchetMessage,
  readRatchetMessage,
} from "./envelope.ts";
import { KEM_CT_BYTES, KEM_EK_BYTES } from "./header.ts";
import { IDENTITY_RECORD_SLOT_BYTES, type IdentityRecord } from "./identity-record.ts";

/**
 * The first-contact plaintext (docs/protocol.md §7.6): what travels inside the seal of a type-1
 * envelope. The initiator's identity and the random prekey ids are only ever inside the seal.
 */
export interface HandshakeFields {
  readonly selection: number;
  readonly initiator: IdentityRecord;
  /** H(IR) of the responder's record the initiator used. */
  readonly responderHash: Uint8Array;
  readonly signedDhId: number | null;
  readonly pqId: number | null;
  readonly oneTimeId: number | null;
  readonly ephemeral: Uint8Array | null;
  readonly identityCt: Uint8Array | null;
  readonly pqCt: Uint8Array | null;
  readonly ratchetKey: Uint8Array | null;
  readonly initialOffer: Uint8Array | null;
}

/** A first contact whose initiator record is trusted (byte-equal to a verified record, §7.7). */
export interface FirstContact extends HandshakeFields {
  readonly message: RatchetMessage;
}

/**
 * A first contact as parsed from the seal: every field checked for shape, the initiator's record still
 * just bytes. Nothing in it is trusted until those bytes equal a record this device verified (the
 * pinned one, or the one key transparency proves for the relay sender), so a forged record costs the
 * responder no signature verification at all (docs/protocol.md §7.7, audit finding 5).
 */
export interface ParsedFirstContact extends Omit<HandshakeFields, "initiator"> {
  readonly initiatorRecord: Uint8Array;
  readonly message: RatchetMessage;
}

export function trustFirstContact(parsed: ParsedFirstContact, initiator: IdentityRecord): FirstContact {
  const { initiatorRecord: _bytes, ...fields } = parsed;
  return { ...fields, initiator };
}

function need<T>(value: T | null, present: boolean, what: string): void {
  if ((value !== null) !== present) throw new TypeError(`${what} presence does not match the suite`);
}

export function encodeHandshakeFields(suite: ProviderSuite, fields: HandshakeFields): Uint8Array {
  const dh = suite.agreement !== null;
  const pq = suite.ratchetKem !== null;
  need(fields.signedDhId, dh, "signed DH prekey id");
  need(fields.pqId, pq, "PQ prekey id");
  need(fields.ephemeral, dh, "ephemeral key");
  need(fields.identityCt, !dh, "identity KEM ciphertext");
  need(fields.pqCt, pq, "PQ ciphertext");
  need(fields.ratchetKey, dh, "ratchet key");
  need(fields.initialOffer, pq, "initial KEM offer");
  if (fields.oneTimeId !== null && !dh) throw new TypeError("quantum handshakes have no one-time DH prekey");
  const record = fields.initiator.encoded;
  if (record.length > IDENTITY_RECORD_SLOT_BYTES)
    throw new RangeError("identity record larger than its slot");
  // Fixed size per suite (docs/protocol.md §7.6): the record in its slot, the one-time id always there.
  const writer = new Writer()
    .u8(fields.selection)
    .vec32(record)
    .zeros(IDENTITY_RECORD_SLOT_BYTES - record.length)
    .bytes(fields.responderHash);
  if (fields.signedDhId !== null) writer.u32(fields.signedDhId);
  if (fields.pqId !== null) writer.u32(fields.pqId);
  writer.bool(fields.oneTimeId !== null);
  if (dh) writer.u32(fields.oneTimeId ?? 0);
  if (fields.ephemeral) writer.bytes(fields.ephemeral);
  if (fields.identityCt) writer.bytes(fields.identityCt);
  if (fields.pqCt) writer.bytes(fields.pqCt);
  if (fields.ratchetKey) writer.bytes(fields.ratchetKey);
  if (fields.initialOffer) writer.bytes(fields.initialOffer);
  return writer.finish();
}

export function encodeFirstContact(handshake: Uint8Array, message: RatchetMessage): Uint8Array {
  return encodeRatchetMessage(new Writer().bytes(handshake), message).finish();
}

/** Parses the whole first-contact plaintext for `suite`; the embedded record is NOT verified. */
export function decodeFirstContact(suite: ProviderSuite, bytes: Uint8Array): ParsedFirstContact {
  const reader = new Reader(bytes);
  const dh = suite.agreement !== null;
  const pq = suite.ratchetKem !== null;
  const selection = reader.u8("selection");
  if (selection > 1) throw new NanoError("malformed", `unknown selection ${selection}`);
  const initiatorRecord = reader.vec32("identity record", IDENTITY_RECORD_SLOT_BYTES, 1);
  reader.zeros(IDENTITY_RECORD_SLOT_BYTES - initiatorRecord.length, "identity record slot padding");
  const responderHash = reader.fixed(64, "responder record hash");
  const signedDhId = dh ? reader.u32("signed DH prekey id") : null;
  const pqId = pq ? reader.u32("PQ prekey id") : null;
  const hasOneTime = reader.bool("one-time prekey flag");
  if (hasOneTime && !dh) throw new NanoError("malformed", "quantum handshakes have no one-time DH prekey");
  const slot = dh ? reader.u32("one-time prekey id") : null;
  if (!hasOneTime && slot !== null && slot !== 0) {
    throw new NanoError("malformed", "an absent one-time prekey id must be zero");
  }
  const oneTimeId = hasOneTime ? slot : null;
  const ephemeral = dh ? reader.fixed(32, "ephemeral key") : null;
  const identityCt = dh ? null : reader.fixed(suite.kem.lengths.ciphertext, "identity KEM ciphertext");
  const pqCt = pq ? reader.fixed(KEM_CT_BYTES, "PQ prekey ciphertext") : null;
  const ratchetKey = dh ? reader.fixed(32, "ratchet key") : null;
  const initialOffer = pq ? reader.fixed(KEM_EK_BYTES, "initial KEM offer") : null;
  const message = readRatchetMessage(reader, suite, false, prekeyBodyPrefix(suite));
  reader.end("first-contact message");
  return {
    selection,
    initiatorRecord,
    responderHash,
    signedDhId,
    pqId,
    oneTimeId,
    ephemeral,
    identityCt,
    pqCt,
    ratchetKey,
    initialOffer,
    message,
  };
}
