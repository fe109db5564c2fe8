import { PROTOCOL_VERSION } from "../crypto/labels.ts";
import { NanoError } from "../errors/index.ts";
import { decodeExact, Reader, Writer } from "./_codec.ts";
import { MAX_PADDED_CONTENT } from "./padding.ts";

/**
 * Message content (docs/protocol.md §9.4): what is padded and encrypted as a message body. Text,
 * attachment references (the key and ciphertext hash of a STREAM-encrypted attachment, see
 * attachment.ts) and receipts. Receipts are ordinary ratchet messages, so a one-sided conversation
 * still steps the ratchet and heals.
 */
export const CONTENT_TYPES = Object.freeze({ text: 1, attachment: 2, receipt: 3 } as const);
export const RECEIPT_KINDS = Object.freeze({ delivered: 1, read: 2 } as const);
export const MESSAGE_ID_BYTES = 16;
export const MAX_RECEIPT_IDS = 256;

/**
 * Disappearing messages (docs/protocol.md §9.4): the high bit of the type byte says a u32
 * `expire_after_seconds` follows `sent_at`. A bit rather than new type numbers, so every content type
 * that can be kept (text, attachment) takes a timer the same way; content without it decodes as before.
 * The field is fixed-width (no varint to overflow) and must lie in 1 s .. 365 d: anything else (0, a
 * value past a year, the bit on a receipt) is refused with `expiry_out_of_range`, never clamped, so a
 * hostile peer cannot make the receiver keep a message longer or shorter than what was encoded.
 */
export const CONTENT_EXPIRES_FLAG = 0x80;
export const MIN_EXPIRE_SECONDS = 1;
export const MAX_EXPIRE_SECONDS = 365 * 24 * 60 * 60;

/**
 * An attachment reference travels as the exact bytes of `encodeAttachmentReference`
 * (attachment-reference.ts, docs/attachments.md): u8 version (1) || key (32) || ciphertext hash (64)
 * || u64 size || vec8 content type || vec8 file name. The content codec carries them opaque, bounded
 * by their minimum and maximum size, so one module owns the reference grammar (file-name safety rules
 * included) and the two encodings cannot drift apart; callers decode with decodeAttachmentReferenceExact.
 */
export const ATTACHMENT_REFERENCE_MIN_BYTES = 1 + 32 + 64 + 8 + 1 + 3 + 1;
export const ATTACHMENT_REFERENCE_MAX_BYTES = 1 + 32 + 64 + 8 + 1 + 127 + 1 + 255;
export const ATTACHMENT_REFERENCE_VERSION = 1;

export type ContentBody =
  | { readonly type: 1; readonly text: string }
  | { readonly type: 2; readonly reference: Uint8Array }
  | { readonly type: 3; readonly kind: 1 | 2; readonly ids: readonly Uint8Array[] };

export type Content = ContentBody & {
  readonly messageId: Uint8Array;
  /**
   * Sender's clock, ms since the epoch: never trusted for ordering. Authenticated with the content, it
   * bounds the relay's unauthenticated acceptance time when a disappearing message is dated
   * (client/messaging/disappearing.ts): the sender's word on its own message, not the relay's.
   */
  readonly sentAt: number;
  /**
   * The sender's timer (disappearing messages): both sides delete the message this many seconds after
   * it was sent. Absent: kept under the local retention setting. Never on a receipt.
   */
  readonly expireAfterSeconds?: number | undefined;
};

/** Whether `seconds` is a timer the wire can carry: a whole number from 1 s to 365 d. */
export function isValidExpiry(seconds: number): boolean {
  return Number.isInteger(seconds) && seconds >= MIN_EXPIRE_SECONDS && seconds <= MAX_EXPIRE_SECONDS;
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

function decodeUtf8(bytes: Uint8Array, what: string): string {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    throw new NanoError("malformed", `${what} is not valid UTF-8`);
  }
}

function checkReferenceBytes(reference: Uint8Array, usage: typeof RangeError | null): void {
  const ok =
    reference.length >= ATTACHMENT_REFERENCE_MIN_BYTES &&
    reference.length <= ATTACHMENT_REFERENCE_MAX_BYTES &&
    reference[0] === ATTACHMENT_REFERENCE_VERSION;
  if (ok) return;
  if (usage) throw new usage("attachment reference must be an encoded version-1 reference");
  throw new NanoError("malformed", "attachment reference has the wrong size or version");
}

export function encodeContent(content: Content): Uint8Array {
  if (content.messageId.length !== MESSAGE_ID_BYTES) throw new RangeError("message id must be 16 bytes");
  const expiry = content.expireAfterSeconds;
  if (expiry !== undefined) {
    if (content.type === CONTENT_TYPES.receipt) throw new RangeError("a receipt carries no timer");
    if (!isValidExpiry(expiry))
      throw new RangeError("expireAfterSeconds must be a whole number of 1..31536000");
  }
  const w = new Writer()
    .u8(PROTOCOL_VERSION)
    .u8(expiry === undefined ? content.type : content.type | CONTENT_EXPIRES_FLAG)
    .bytes(content.messageId)
    .u64(content.sentAt);
  if (expiry !== undefined) w.u32(expiry);
  if (content.type === CONTENT_TYPES.text) {
    w.bytes(new TextEncoder().encode(content.text));
  } else if (content.type === CONTENT_TYPES.attachment) {
    checkReferenceBytes(content.reference, RangeError);
    w.vec16(content.reference);
  } else {
    if (content.ids.length < 1 || content.ids.length > MAX_RECEIPT_IDS)
      throw new RangeError("1..256 receipt ids");
    w.u8(content.kind).u16(content.ids.length);
    for (const id of content.ids) {
      if (id.length !== MESSAGE_ID_BYTES) throw new RangeError("message id must be 16 bytes");
      w.bytes(id);
    }
  }
  const bytes = w.finish();
  if (bytes.length > MAX_PADDED_CONTENT)
    throw new NanoError("content_too_large", "content exceeds one envelope");
  return bytes;
}

export function decodeContent(bytes: Uint8Array, offset: number): [Content, number] {
  const r = new Reader(bytes, offset);
  const version = r.u8("content version");
  if (version !== PROTOCOL_VERSION) throw new NanoError("unsupported_version", `content version ${version}`);
  const typeByte = r.u8("content type");
  const type = typeByte & ~CONTENT_EXPIRES_FLAG;
  const messageId = r.fixed(MESSAGE_ID_BYTES, "message id");
  const sentAt = r.u64n("sent at");
  let expireAfterSeconds: number | undefined;
  if ((typeByte & CONTENT_EXPIRES_FLAG) !== 0) {
    if (type === CONTENT_TYPES.receipt)
      throw new NanoError("expiry_out_of_range", "a receipt carries no timer");
    expireAfterSeconds = r.u32("expire after");
    if (!isValidExpiry(expireAfterSeconds))
      throw new NanoError(
        "expiry_out_of_range",
        `a message timer of ${expireAfterSeconds} s is outside 1 s .. 365 d`,
      );
  }
  const timer = expireAfterSeconds === undefined ? {} : { expireAfterSeconds };
  let content: Content;
  if (type === CONTENT_TYPES.text) {
    content = {
      type,
      messageId,
      sentAt,
      ...timer,
      text: decodeUtf8(r.fixed(r.remaining, "text"), "text"),
    };
  } else if (type === CONTENT_TYPES.attachment) {
    const reference = r.vec16(
      "attachment reference",
      ATTACHMENT_REFERENCE_MAX_BYTES,
      ATTACHMENT_REFERENCE_MIN_BYTES,
    );
    checkReferenceBytes(reference, null);
    content = { type, messageId, sentAt, ...timer, reference };
  } else if (type === CONTENT_TYPES.receipt) {
    const kind = r.u8("receipt kind");
    if (kind !== 1 && kind !== 2) throw new NanoError("malformed", `unknown receipt kind ${kind}`);
    const count = r.u16("receipt count");
    if (count < 1 || count > MAX_RECEIPT_IDS) throw new NanoError("malformed", "1..256 receipt ids");
    const ids: Uint8Array[] = [];
    for (let i = 0; i < count; i++) ids.push(r.fixed(MESSAGE_ID_BYTES, "receipt id"));
    content = { type, messageId, sentAt, kind, ids };
  } else {
    throw new NanoError("malformed", `unknown content type ${type}`);
  }
  return [content, r.offset - offset];
}

export function decodeContentExact(bytes: Uint8Array): Content {
  return decodeExact(bytes, decodeContent, "content");
}
