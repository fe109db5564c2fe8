/**
 * The attachment reference: what an envelope carries so the recipient can fetch, check and decrypt an
 * attachment. Byte layout and grammar are specified in docs/attachments.md ("Reference encoding").
 * The reference holds the file key, so it only ever travels inside an encrypted envelope.
 */
import { copyBytes } from "../crypto/bytes.ts";
import { NanoError } from "../errors/index.ts";

export const ATTACHMENT_REFERENCE = Object.freeze({
  version: 0x01,
  keyLength: 32,
  hashLength: 64,
  /** Content types are short MIME names; 127 bytes fits every registered type with a charset. */
  maxContentTypeLength: 127,
  maxFilenameLength: 255,
  /** version + key + hash + size + content type length + filename length. */
  fixedLength: 1 + 32 + 64 + 8 + 1 + 1,
  /** The largest size a JavaScript number holds exactly; a u64 above it is refused, never rounded. */
  maxSize: Number.MAX_SAFE_INTEGER,
});

/** Largest encoded reference: fixed part plus the longest content type and filename. */
export const ATTACHMENT_REFERENCE_MAX_LENGTH =
  ATTACHMENT_REFERENCE.fixedLength +
  ATTACHMENT_REFERENCE.maxContentTypeLength +
  ATTACHMENT_REFERENCE.maxFilenameLength;

export interface AttachmentReference {
  /** The 32-byte random file key. Secret. */
  readonly key: Uint8Array;
  /** BLAKE2b-512 of the whole ciphertext: the address the relay stores the blob under. */
  readonly hash: Uint8Array;
  /** Plaintext length in bytes; fixes the ciphertext length and which chunk is last. */
  readonly size: number;
  readonly contentType: string;
  /** A display name only: never a path (separators, controls and bidi overrides are refused). */
  readonly filename?: string;
}

// RFC 6838 restricted-name characters, lower case only so each type has exactly one encoding;
// parameters are `;name=value` without spaces ("text/plain;charset=utf-8").
const RESTRICTED_NAME = "[a-z0-9][a-z0-9!#$&^_.+-]*";
const CONTENT_TYPE = new RegExp(
  `^${RESTRICTED_NAME}/${RESTRICTED_NAME}(?:;${RESTRICTED_NAME}=[A-Za-z0-9!#$&^_.+-]+)*$`,
);

// C0 and C1 controls, DEL, path separators, and the bidirectional overrides and isolates that let
// "invoice\u202Efdp.exe" display as "invoiceexe.pdf".
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what is refused
const FORBIDDEN_IN_FILENAME = /[\u0000-\u001f\u007f-\u009f/\\\u202a-\u202e\u2066-\u2069]/u;

function invalid(message: string): NanoError {
  return new NanoError("attachment_reference_invalid", message);
}

/** Throws `attachment_reference_invalid` unless `contentType` matches the grammar and length limit. */
export function checkContentType(contentType: string): void {
  if (contentType.length === 0 || contentType.length > ATTACHMENT_REFERENCE.maxContentTypeLength) {
    throw invalid(`content type must be 1..${ATTACHMENT_REFERENCE.maxContentTypeLength} bytes`);
  }
  if (!CONTENT_TYPE.test(contentType)) {
    throw invalid("content type must be a lower-case type/subtype with optional ;name=value parameters");
  }
}

/** Throws `attachment_reference_invalid` unless `filename` is a safe display name; returns its UTF-8. */
export function checkFilename(filename: string): Uint8Array {
  const bytes = new TextEncoder().encode(filename);
  if (bytes.length === 0 || bytes.length > ATTACHMENT_REFERENCE.maxFilenameLength) {
    throw invalid(`filename must be 1..${ATTACHMENT_REFERENCE.maxFilenameLength} UTF-8 bytes`);
  }
  // TextEncoder replaces lone surrogates with U+FFFD, so a string that does not round-trip would be
  // signed as one name and shown as another.
  if (!filename.isWellFormed()) throw invalid("filename contains a lone surrogate");
  if (FORBIDDEN_IN_FILENAME.test(filename)) {
    throw invalid("filename contains a path separator, a control character or a bidirectional override");
  }
  if (filename === "." || filename === "..") throw invalid("filename must not be . or ..");
  return bytes;
}

function checkSize(size: number): void {
  if (!Number.isSafeInteger(size) || size < 0) {
    throw invalid(`attachment size must be an integer in 0..2^53-1, got ${size}`);
  }
}

/** Validates every field; throws `attachment_reference_invalid` on the first broken rule. */
export function checkAttachmentReference(reference: AttachmentReference): void {
  if (!(reference.key instanceof Uint8Array) || reference.key.length !== ATTACHMENT_REFERENCE.keyLength) {
    throw invalid("attachment key must be 32 bytes");
  }
  if (!(reference.hash instanceof Uint8Array) || reference.hash.length !== ATTACHMENT_REFERENCE.hashLength) {
    throw invalid("attachment hash must be 64 bytes");
  }
  checkSize(reference.size);
  checkContentType(reference.contentType);
  if (reference.filename !== undefined) checkFilename(reference.filename);
}

/** Encodes a reference: measure, allocate once, write. */
export function encodeAttachmentReference(reference: AttachmentReference): Uint8Array {
  checkAttachmentReference(reference);
  const contentType = new TextEncoder().encode(reference.contentType);
  const filename = reference.filename === undefined ? new Uint8Array(0) : checkFilename(reference.filename);
  const out = new Uint8Array(ATTACHMENT_REFERENCE.fixedLength + contentType.length + filename.length);
  const view = new DataView(out.buffer);
  let offset = 0;
  out[offset++] = ATTACHMENT_REFERENCE.version;
  out.set(reference.key, offset);
  offset += ATTACHMENT_REFERENCE.keyLength;
  out.set(reference.hash, offset);
  offset += ATTACHMENT_REFERENCE.hashLength;
  view.setBigUint64(offset, BigInt(reference.size));
  offset += 8;
  out[offset++] = contentType.length;
  out.set(contentType, offset);
  offset += contentType.length;
  out[offset++] = filename.length;
  out.set(filename, offset);
  return out;
}

function need(bytes: Uint8Array, offset: number, length: number, what: string): void {
  if (bytes.length - offset < length)
    throw new NanoError("truncated", `attachment reference ends inside ${what}`);
}

/**
 * Decodes one reference at `offset` and returns it with the number of bytes read. Order: length, then
 * version, then fields, so a short or foreign input fails before any field is interpreted.
 */
export function decodeAttachmentReference(bytes: Uint8Array, offset = 0): [AttachmentReference, number] {
  if (!Number.isInteger(offset) || offset < 0 || offset > bytes.length) {
    throw new RangeError(`offset out of range: ${offset}`);
  }
  const start = offset;
  need(bytes, offset, 1, "the version");
  const version = bytes[offset++];
  if (version !== ATTACHMENT_REFERENCE.version) {
    throw new NanoError(
      "attachment_version_unsupported",
      `attachment reference version ${version} is unknown`,
    );
  }
  need(bytes, offset, ATTACHMENT_REFERENCE.fixedLength - 1, "the fixed fields");
  const key = copyBytes(bytes.subarray(offset, offset + ATTACHMENT_REFERENCE.keyLength));
  offset += ATTACHMENT_REFERENCE.keyLength;
  const hash = copyBytes(bytes.subarray(offset, offset + ATTACHMENT_REFERENCE.hashLength));
  offset += ATTACHMENT_REFERENCE.hashLength;
  const size64 = new DataView(bytes.buffer, bytes.byteOffset + offset, 8).getBigUint64(0);
  offset += 8;
  if (size64 > BigInt(ATTACHMENT_REFERENCE.maxSize)) throw invalid("attachment size exceeds 2^53-1");
  const size = Number(size64);

  const contentTypeLength = bytes[offset++]!;
  if (contentTypeLength === 0 || contentTypeLength > ATTACHMENT_REFERENCE.maxContentTypeLength) {
    throw invalid(`content type length ${contentTypeLength} is outside 1..127`);
  }
  need(bytes, offset, contentTypeLength + 1, "the content type");
  const contentTypeBytes = bytes.subarray(offset, offset + contentTypeLength);
  offset += contentTypeLength;
  // The grammar is ASCII, so one character per byte (latin1) is exact and a non-ASCII byte fails the
  // grammar check; at most 127 bytes, so the spread cannot overflow the argument limit.
  const contentType = String.fromCharCode(...contentTypeBytes);
  checkContentType(contentType);

  const filenameLength = bytes[offset++]!;
  let filename: string | undefined;
  if (filenameLength > 0) {
    need(bytes, offset, filenameLength, "the filename");
    const filenameBytes = bytes.subarray(offset, offset + filenameLength);
    offset += filenameLength;
    try {
      filename = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(filenameBytes);
    } catch (cause) {
      throw new NanoError("attachment_reference_invalid", "filename is not valid UTF-8", { cause });
    }
    checkFilename(filename);
  }
  const reference: AttachmentReference =
    filename === undefined ? { key, hash, size, contentType } : { key, hash, size, contentType, filename };
  return [reference, offset - start];
}

/** Decodes a reference that must be the whole input (`trailing_bytes` otherwise). */
export function decodeAttachmentReferenceExact(bytes: Uint8Array): AttachmentReference {
  const [reference, read] = decodeAttachmentReference(bytes, 0);
  if (read !== bytes.length) {
    throw new NanoError("trailing_bytes", `${bytes.length - read} bytes follow the attachment reference`);
  }
  return reference;
}
