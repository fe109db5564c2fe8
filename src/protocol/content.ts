import { NanoError } from "../errors/index.ts";
import { decodeExact, Reader, Writer } from "./_codec.ts";
import { PROTOCOL_VERSION } from "./labels.ts";
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
const CONTENT_TYPE_PATTERN = /^[A-Za-z0-9!#$&^_.+-]{1,127}\/[A-Za-z0-9!#$&^_.+-]{1,127}$/;

export interface AttachmentReference {
  /** The attachment's 32-byte content key. */
  readonly key: Uint8Array;
  /** BLAKE2b-512 of the whole attachment ciphertext, checked before decrypting. */
  readonly ciphertextHash: Uint8Array;
  /** Plaintext size in bytes. */
  readonly size: bigint;
  /** MIME type (RFC 6838 type/subtype, ASCII). */
  readonly contentType: string;
  /** Optional file name (UTF-8, at most 255 bytes; empty for none). */
  readonly fileName: string;
}

export type ContentBody =
  | { readonly type: 1; readonly text: string }
  | { readonly type: 2; readonly attachment: AttachmentReference }
  | { readonly type: 3; readonly kind: 1 | 2; readonly ids: readonly Uint8Array[] };

export type Content = ContentBody & {
  readonly messageId: Uint8Array;
  /** Sender's clock, ms since the epoch: display only, never trusted for ordering or security. */
  readonly sentAt: number;
};

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

function decodeUtf8(bytes: Uint8Array, what: string): string {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    throw new NanoError("malformed", `${what} is not valid UTF-8`);
  }
}

export function encodeContent(content: Content): Uint8Array {
  if (content.messageId.length !== MESSAGE_ID_BYTES) throw new RangeError("message id must be 16 bytes");
  const w = new Writer().u8(PROTOCOL_VERSION).u8(content.type).bytes(content.messageId).u64(content.sentAt);
  if (content.type === CONTENT_TYPES.text) {
    w.bytes(new TextEncoder().encode(content.text));
  } else if (content.type === CONTENT_TYPES.attachment) {
    const a = content.attachment;
    if (a.key.length !== 32 || a.ciphertextHash.length !== 64)
      throw new RangeError("attachment key 32 B, hash 64 B");
    if (!CONTENT_TYPE_PATTERN.test(a.contentType)) throw new RangeError("content type must be type/subtype");
    const name = new TextEncoder().encode(a.fileName);
    if (name.length > 255) throw new RangeError("file name longer than 255 bytes");
    w.bytes(a.key)
      .bytes(a.ciphertextHash)
      .u64(a.size)
      .vec8(new TextEncoder().encode(a.contentType))
      .vec8(name);
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
  const type = r.u8("content type");
  const messageId = r.fixed(MESSAGE_ID_BYTES, "message id");
  const sentAt = r.u64n("sent at");
  let content: Content;
  if (type === CONTENT_TYPES.text) {
    content = { type, messageId, sentAt, text: decodeUtf8(r.fixed(r.remaining, "text"), "text") };
  } else if (type === CONTENT_TYPES.attachment) {
    const key = r.fixed(32, "attachment key");
    const ciphertextHash = r.fixed(64, "attachment hash");
    const size = r.u64("attachment size");
    const contentType = decodeUtf8(r.vec8("content type", 255, 3), "content type");
    if (!CONTENT_TYPE_PATTERN.test(contentType))
      throw new NanoError("malformed", "content type must be type/subtype");
    const fileName = decodeUtf8(r.vec8("file name"), "file name");
    content = { type, messageId, sentAt, attachment: { key, ciphertextHash, size, contentType, fileName } };
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
