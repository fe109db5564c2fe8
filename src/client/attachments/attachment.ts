/**
 * Attachments: content too large for a 64 KiB envelope (files, long texts), encrypted under a fresh
 * random key with the STREAM construction in attachment-stream.ts and addressed by the BLAKE2b-512 hash
 * of the ciphertext. The envelope carries the reference (key, hash, size, content type, filename).
 * Spec: docs/attachments.md.
 *
 * Three ways in, all on the same core so they fail with the same codes:
 * - `encryptAttachment` / `decryptAttachment` for bytes already in memory;
 * - `sealAttachmentChunks` / `openAttachmentChunks` over (async) iterables, and the Node `Transform`s
 *   `AttachmentEncryptStream` / `AttachmentDecryptStream`, in constant memory per chunk;
 * - `decryptAttachmentToFile`, which only makes a file appear once the whole attachment verified.
 */
import { Transform, type TransformCallback } from "node:stream";
import { NanoError } from "../../errors/index.ts";
import type { AttachmentReference } from "../../protocol/attachment-reference.ts";
import {
  AttachmentOpener,
  type AttachmentOpenOptions,
  AttachmentSealer,
  type AttachmentSealOptions,
  attachmentCiphertextLength,
} from "./attachment-stream.ts";

export {
  ATTACHMENT_REFERENCE,
  ATTACHMENT_REFERENCE_MAX_LENGTH,
  type AttachmentReference,
  checkAttachmentReference,
  decodeAttachmentReference,
  decodeAttachmentReferenceExact,
  encodeAttachmentReference,
} from "../../protocol/attachment-reference.ts";
export { decryptAttachmentToFile } from "./attachment-file.ts";
export {
  ATTACHMENT_FORMAT,
  AttachmentOpener,
  type AttachmentOpenOptions,
  AttachmentSealer,
  type AttachmentSealOptions,
  attachmentChunkCount,
  attachmentCiphertextLength,
} from "./attachment-stream.ts";

type ByteSource = AsyncIterable<Uint8Array> | Iterable<Uint8Array>;

/** Encrypts bytes held in memory. For files use the streaming forms. */
export function encryptAttachment(
  plaintext: Uint8Array,
  options: AttachmentSealOptions,
): { ciphertext: Uint8Array; reference: AttachmentReference } {
  const sealer = new AttachmentSealer(options);
  const pieces = sealer.push(plaintext);
  const { ciphertext: tail, reference } = sealer.finish();
  pieces.push(...tail);
  const ciphertext = new Uint8Array(attachmentCiphertextLength(reference.size));
  let offset = 0;
  for (const piece of pieces) {
    ciphertext.set(piece, offset);
    offset += piece.length;
  }
  return { ciphertext, reference };
}

/**
 * Decrypts and verifies a whole ciphertext held in memory. Returns plaintext only when every chunk,
 * the last-chunk flag, the length and the hash verified; the size limit is checked before allocating.
 */
export function decryptAttachment(
  ciphertext: Uint8Array,
  reference: AttachmentReference,
  options: AttachmentOpenOptions,
): Uint8Array {
  const opener = new AttachmentOpener(reference, options);
  const pieces = opener.push(ciphertext);
  opener.finish();
  const plaintext = new Uint8Array(reference.size);
  let offset = 0;
  for (const piece of pieces) {
    plaintext.set(piece, offset);
    offset += piece.length;
  }
  return plaintext;
}

/**
 * Yields ciphertext for plaintext read from `source`. The reference is `sealer.finish()`'s, available
 * from `onReference` once the generator has completed.
 */
export async function* sealAttachmentChunks(
  source: ByteSource,
  options: AttachmentSealOptions,
  onReference: (reference: AttachmentReference) => void,
): AsyncGenerator<Uint8Array, void, undefined> {
  const sealer = new AttachmentSealer(options);
  for await (const piece of source) yield* sealer.push(piece);
  const { ciphertext, reference } = sealer.finish();
  yield* ciphertext;
  onReference(reference);
}

/**
 * Yields verified plaintext chunks for ciphertext read from `source`. Normal completion of the
 * generator is the only signal that the attachment is whole and authentic; bytes yielded before an
 * error must be discarded by the consumer (decryptAttachmentToFile does this for files).
 */
export async function* openAttachmentChunks(
  source: ByteSource,
  reference: AttachmentReference,
  options: AttachmentOpenOptions,
): AsyncGenerator<Uint8Array, void, undefined> {
  const opener = new AttachmentOpener(reference, options);
  for await (const piece of source) yield* opener.push(piece);
  opener.finish();
}

function asBytes(chunk: unknown): Uint8Array {
  if (chunk instanceof Uint8Array) return chunk;
  throw new TypeError("attachment streams take bytes (Buffer or Uint8Array)");
}

/** Node Transform: plaintext in, ciphertext out; `reference` is readable after the stream ends. */
export class AttachmentEncryptStream extends Transform {
  readonly #sealer: AttachmentSealer;
  #reference: AttachmentReference | undefined;

  constructor(options: AttachmentSealOptions) {
    super();
    this.#sealer = new AttachmentSealer(options);
  }

  get reference(): AttachmentReference {
    if (this.#reference === undefined)
      throw new TypeError("the attachment reference exists once the stream ends");
    return this.#reference;
  }

  override _transform(chunk: unknown, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      for (const piece of this.#sealer.push(asBytes(chunk))) this.push(piece);
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    try {
      const { ciphertext, reference } = this.#sealer.finish();
      for (const piece of ciphertext) this.push(piece);
      this.#reference = reference;
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }
}

/**
 * Node Transform: ciphertext in, plaintext out. The stream errors with the attachment code on the first
 * failure and ends only after the last chunk and the hash verified, so `await pipeline(...)` resolving
 * is the completion signal; a consumer that acts on bytes before that acts on an unverified prefix.
 */
export class AttachmentDecryptStream extends Transform {
  readonly #opener: AttachmentOpener;

  constructor(reference: AttachmentReference, options: AttachmentOpenOptions) {
    super();
    this.#opener = new AttachmentOpener(reference, options);
  }

  override _transform(chunk: unknown, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      for (const piece of this.#opener.push(asBytes(chunk))) this.push(piece);
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    try {
      this.#opener.finish();
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }
}

/** True when `error` is one of the failures that mean "this attachment must be discarded". */
export function isAttachmentFailure(error: unknown): error is NanoError {
  return (
    NanoError.is(error, "attachment_truncated") ||
    NanoError.is(error, "attachment_trailing_data") ||
    NanoError.is(error, "attachment_chunk_invalid") ||
    NanoError.is(error, "attachment_hash_mismatch") ||
    NanoError.is(error, "attachment_version_unsupported")
  );
}
