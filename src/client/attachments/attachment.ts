/**
 * Attachments in Node: content too large for a 64 KiB envelope (files, long texts), encrypted under a
 * fresh random key with the STREAM construction and addressed by the BLAKE2b-512 hash of the
 * ciphertext. The envelope carries the reference (key, hash, size, content type, filename).
 * Spec: docs/attachments.md.
 *
 * The format is attachment-stream.ts, runtime-neutral (the page runs it over its own provider); this
 * file is its Node face, over nodePrimitives, so every Node caller fails with the same codes:
 * - `encryptAttachment` / `decryptAttachment` for bytes already in memory;
 * - the Node `Transform`s `AttachmentEncryptStream` / `AttachmentDecryptStream`, in constant memory
 *   per chunk;
 * - `decryptAttachmentToFile` (attachment-file.ts), which only makes a file appear once the whole
 *   attachment verified.
 */
import { Transform, type TransformCallback } from "node:stream";
import { nodePrimitives } from "../../crypto/node-provider.ts";
import type { AttachmentReference } from "../../protocol/attachment-reference.ts";
import {
  AttachmentOpener,
  type AttachmentOpenOptions,
  AttachmentSealer,
  type AttachmentSealOptions,
  openAttachment,
  sealAttachment,
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
  type AttachmentPrimitives,
  AttachmentSealer,
  type AttachmentSealOptions,
  attachmentChunkCount,
  attachmentCiphertextLength,
  isAttachmentFailure,
  openAttachment,
  openAttachmentChunks,
  sealAttachment,
  sealAttachmentChunks,
} from "./attachment-stream.ts";

/** Encrypts bytes held in memory with node:crypto. For files use the streams. */
export function encryptAttachment(
  plaintext: Uint8Array,
  options: AttachmentSealOptions,
): Promise<{ ciphertext: Uint8Array; reference: AttachmentReference }> {
  return sealAttachment(nodePrimitives, plaintext, options);
}

/** Decrypts and verifies a whole ciphertext held in memory with node:crypto (see openAttachment). */
export function decryptAttachment(
  ciphertext: Uint8Array,
  reference: AttachmentReference,
  options: AttachmentOpenOptions,
): Promise<Uint8Array> {
  return openAttachment(nodePrimitives, ciphertext, reference, options);
}

function asBytes(chunk: unknown): Uint8Array {
  if (chunk instanceof Uint8Array) return chunk;
  throw new TypeError("attachment streams take bytes (Buffer or Uint8Array)");
}

/**
 * Runs one step of a Transform: the stream calls `_transform` again only after `callback`, so the
 * codec's one-call-at-a-time rule holds without a queue here.
 */
function step(stream: Transform, work: () => Promise<Uint8Array[]>, callback: TransformCallback): void {
  let running: Promise<Uint8Array[]>;
  try {
    running = work();
  } catch (error) {
    callback(error as Error);
    return;
  }
  running.then(
    (pieces) => {
      for (const piece of pieces) stream.push(piece);
      callback();
    },
    (error: unknown) => callback(error as Error),
  );
}

/** Node Transform: plaintext in, ciphertext out; `reference` is readable after the stream ends. */
export class AttachmentEncryptStream extends Transform {
  readonly #sealer: AttachmentSealer;
  #reference: AttachmentReference | undefined;

  constructor(options: AttachmentSealOptions) {
    super();
    this.#sealer = new AttachmentSealer(nodePrimitives, options);
  }

  get reference(): AttachmentReference {
    if (this.#reference === undefined)
      throw new TypeError("the attachment reference exists once the stream ends");
    return this.#reference;
  }

  override _transform(chunk: unknown, _encoding: BufferEncoding, callback: TransformCallback): void {
    step(this, () => this.#sealer.push(asBytes(chunk)), callback);
  }

  override _flush(callback: TransformCallback): void {
    step(
      this,
      async () => {
        const { ciphertext, reference } = await this.#sealer.finish();
        this.#reference = reference;
        return ciphertext;
      },
      callback,
    );
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
    this.#opener = new AttachmentOpener(nodePrimitives, reference, options);
  }

  override _transform(chunk: unknown, _encoding: BufferEncoding, callback: TransformCallback): void {
    step(this, () => this.#opener.push(asBytes(chunk)), callback);
  }

  override _flush(callback: TransformCallback): void {
    step(
      this,
      async () => {
        this.#opener.finish();
        return [];
      },
      callback,
    );
  }
}
