import { PROTOCOL_VERSION } from "../crypto/labels.ts";
import { CHACHA20_POLY1305 } from "../crypto/parameters.ts";
import type { CryptoProvider, ProviderSuite } from "../crypto/provider/index.ts";
import { NanoError } from "../errors/index.ts";
import { Reader, Writer } from "./_codec.ts";
import { headerLength } from "./header.ts";
import { MAX_BUCKET } from "./padding.ts";

/**
 * Envelopes (docs/protocol.md §9): the only bytes that travel between clients. Everything but
 * version, suite and type is encrypted; header and body sizes are fixed per (suite, type) and the
 * padding bucket. Lengths are checked against the per-suite maxima before anything is allocated.
 */
export const ENVELOPE_TYPES = Object.freeze({ prekey: 1, message: 2, messageKem: 3 } as const);
export type EnvelopeType = (typeof ENVELOPE_TYPES)[keyof typeof ENVELOPE_TYPES];
export const MAX_ENVELOPE_BYTES = 65536;
const TAG = CHACHA20_POLY1305.tagLength;
const NONCE = CHACHA20_POLY1305.nonceLength;
const PREFIX = 4;

/** A header-encrypted ratchet message: inside type 2/3 envelopes and inside the first-contact seal. */
export interface RatchetMessage {
  readonly headerNonce: Uint8Array;
  readonly headerCiphertext: Uint8Array;
  readonly body: Uint8Array;
}

export type Envelope =
  | {
      readonly type: typeof ENVELOPE_TYPES.prekey;
      readonly suite: ProviderSuite;
      readonly enc: Uint8Array;
      readonly sealed: Uint8Array;
    }
  | {
      readonly type: typeof ENVELOPE_TYPES.message | typeof ENVELOPE_TYPES.messageKem;
      readonly suite: ProviderSuite;
      readonly message: RatchetMessage;
    };

/** Bytes of a first-contact body before the padded payload: the initiator signature in PQ suites. */
export function prekeyBodyPrefix(suite: ProviderSuite): number {
  return suite.postQuantum ? suite.signature.lengths.signature : 0;
}

/** The fixed per-suite maximum of each envelope type (listed in docs/protocol.md §9.3). */
export function maxEnvelopeLength(suite: ProviderSuite, type: EnvelopeType): number {
  if (type === ENVELOPE_TYPES.prekey) return MAX_ENVELOPE_BYTES;
  return (
    PREFIX + NONCE + headerLength(suite, type === ENVELOPE_TYPES.messageKem) + TAG + 4 + MAX_BUCKET + TAG
  );
}

export function encodeRatchetMessage(writer: Writer, message: RatchetMessage): Writer {
  return writer.bytes(message.headerNonce).bytes(message.headerCiphertext).vec32(message.body);
}

export function readRatchetMessage(
  reader: Reader,
  suite: ProviderSuite,
  kem: boolean,
  bodyPrefix: number,
): RatchetMessage {
  const headerNonce = reader.fixed(NONCE, "header nonce");
  const headerCiphertext = reader.fixed(headerLength(suite, kem) + TAG, "header ciphertext");
  const length = reader.u32("body length");
  if (length < bodyPrefix + 256 + TAG || length > bodyPrefix + MAX_BUCKET + TAG) {
    throw new NanoError("envelope_size_invalid", `body length ${length} outside this suite's bounds`);
  }
  const bucket = length - TAG - bodyPrefix;
  if ((bucket & (bucket - 1)) !== 0) throw new NanoError("malformed", "body is not a padding bucket");
  return { headerNonce, headerCiphertext, body: reader.fixed(length, "body") };
}

export function encodeEnvelope(envelope: Envelope): Uint8Array {
  const size =
    envelope.type === ENVELOPE_TYPES.prekey
      ? PREFIX + envelope.enc.length + 4 + envelope.sealed.length
      : PREFIX +
        envelope.message.headerNonce.length +
        envelope.message.headerCiphertext.length +
        4 +
        envelope.message.body.length;
  const writer = new Writer(size).u8(PROTOCOL_VERSION).u16(envelope.suite.id).u8(envelope.type);
  if (envelope.type === ENVELOPE_TYPES.prekey) writer.bytes(envelope.enc).vec32(envelope.sealed);
  else encodeRatchetMessage(writer, envelope.message);
  const bytes = writer.finish();
  if (bytes.length > maxEnvelopeLength(envelope.suite, envelope.type)) {
    throw new NanoError("envelope_size_invalid", `envelope of ${bytes.length} bytes`);
  }
  return bytes;
}

/** Parses length, then version, then suite and type, then the fields; rejects trailing bytes. */
export function decodeEnvelope(provider: CryptoProvider, bytes: Uint8Array): Envelope {
  if (bytes.length > MAX_ENVELOPE_BYTES) throw new NanoError("envelope_size_invalid", "envelope over 64 KiB");
  const reader = new Reader(bytes);
  const version = reader.u8("envelope version");
  if (version !== PROTOCOL_VERSION) throw new NanoError("unsupported_version", `envelope version ${version}`);
  const suite = provider.suite(reader.u16("envelope suite"));
  const type = reader.u8("envelope type");
  if (type !== ENVELOPE_TYPES.prekey && type !== ENVELOPE_TYPES.message && type !== ENVELOPE_TYPES.messageKem)
    throw new NanoError("malformed", `unknown envelope type ${type}`);
  if (type === ENVELOPE_TYPES.messageKem && !suite.ratchetKem)
    throw new NanoError("malformed", "classical envelopes carry no KEM");
  // Every quantum step carries an answer and an offer, so quantum has no type-2 envelopes.
  if (type === ENVELOPE_TYPES.message && !suite.agreement)
    throw new NanoError("malformed", "quantum messages always carry KEM slots");
  if (bytes.length > maxEnvelopeLength(suite, type))
    throw new NanoError("envelope_size_invalid", "envelope too large");
  if (type === ENVELOPE_TYPES.prekey) {
    const enc = reader.fixed(suite.kem.lengths.ciphertext, "seal encapsulation");
    const sealed = reader.vec32("sealed first contact", MAX_ENVELOPE_BYTES, TAG);
    reader.end("envelope");
    return { type, suite, enc, sealed };
  }
  const message = readRatchetMessage(reader, suite, type === ENVELOPE_TYPES.messageKem, 0);
  reader.end("envelope");
  return { type, suite, message };
}

/** The prefix `version || suite || type` that starts every AD and seal context. */
export function envelopePrefix(suite: ProviderSuite, type: EnvelopeType): Uint8Array {
  return Uint8Array.of(PROTOCOL_VERSION, suite.id >>> 8, suite.id & 0xff, type);
}
