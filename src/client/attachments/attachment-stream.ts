/**
 * The attachment STREAM construction (docs/attachments.md, "Ciphertext format"): age's payload format
 * with nano's KDF. The one definition of the format for both runtimes: it seals and opens chunks with
 * a CryptoProvider's (asynchronous) AEAD and hashes the ciphertext with the provider's incremental
 * BLAKE2b, so the page (createWebProvider) and Node (nodePrimitives) write the same bytes. Bytes in,
 * bytes out, constant memory per chunk; no `node:` import and no Buffer (the page bundles it). Node's
 * streams and files wrap it in attachment.ts and attachment-file.ts.
 *
 * ciphertext = magic "nat" || version 0x01 || nonce (16) || chunk_0 || ... || chunk_{n-1}
 * payload key = HKDF-BLAKE2b(ikm = file key, salt = nonce, info = "nano/v1/attachment" || version, 32)
 * chunk_i    = ChaCha20-Poly1305(payload key, nonce = u88be(i) || last, plaintext_i, ad = "")
 */

import { copyBytes, utf8, wipe } from "../../crypto/bytes.ts";
import { KDF_LABELS } from "../../crypto/labels.ts";
import { CHACHA20_POLY1305 } from "../../crypto/parameters.ts";
import type { CryptoPrimitives, IncrementalHash } from "../../crypto/provider/types.ts";
import { NanoError } from "../../errors/index.ts";
import { constantTimeEqual } from "../../protocol/_constant-time.ts";
import {
  ATTACHMENT_REFERENCE,
  type AttachmentReference,
  checkAttachmentReference,
  checkContentType,
  checkFilename,
} from "../../protocol/attachment-reference.ts";

/** What the codec needs of a runtime: randomness, HKDF and the incremental hash (sync), the AEAD (async). */
export type AttachmentPrimitives = Pick<
  CryptoPrimitives,
  "randomBytes" | "hkdf" | "blake2bIncremental" | "aead"
>;

export const ATTACHMENT_FORMAT = Object.freeze({
  version: 0x01,
  /** ASCII "nat": lets a reader reject a blob that is not an attachment before deriving a key. */
  magic: Object.freeze([0x6e, 0x61, 0x74]) as readonly number[],
  nonceLength: 16,
  headerLength: 20,
  /** Plaintext bytes per chunk (age's 64 KiB): one chunk is the unit of memory and of authentication. */
  chunkSize: 65536,
  tagLength: CHACHA20_POLY1305.tagLength,
  label: KDF_LABELS.attachment,
});

const SEALED_CHUNK = ATTACHMENT_FORMAT.chunkSize + ATTACHMENT_FORMAT.tagLength;

/** Number of chunks for a plaintext of `size` bytes: an empty attachment is one empty final chunk. */
export function attachmentChunkCount(size: number): number {
  return size === 0 ? 1 : Math.ceil(size / ATTACHMENT_FORMAT.chunkSize);
}

/** Exact ciphertext length for a plaintext of `size` bytes; the relay can check uploads against it. */
export function attachmentCiphertextLength(size: number): number {
  return ATTACHMENT_FORMAT.headerLength + size + attachmentChunkCount(size) * ATTACHMENT_FORMAT.tagLength;
}

function derivePayloadKey(
  primitives: AttachmentPrimitives,
  fileKey: Uint8Array,
  nonce: Uint8Array,
): Uint8Array {
  const info = new Uint8Array([...utf8(ATTACHMENT_FORMAT.label), ATTACHMENT_FORMAT.version]);
  return primitives.hkdf(fileKey, nonce, info, CHACHA20_POLY1305.keyLength);
}

/**
 * Refuses a second call while one is pending: chunks must be sealed, hashed and opened in order, and an
 * unawaited `push` followed by another would interleave them.
 */
function busy(kind: string): TypeError {
  return new TypeError(`attachment ${kind} is still working on the previous call: await it first`);
}

/** STREAM nonce: 11-byte big-endian chunk counter, then 0x01 on the last chunk and 0x00 otherwise. */
function chunkNonce(counter: number, last: boolean): Uint8Array {
  const nonce = new Uint8Array(CHACHA20_POLY1305.nonceLength);
  // Counters stay below 2^53 (sizes are safe integers), so the top three bytes are always zero.
  new DataView(nonce.buffer).setBigUint64(3, BigInt(counter));
  nonce[11] = last ? 0x01 : 0x00;
  return nonce;
}

function checkLimit(maxBytes: number | undefined): void {
  if (maxBytes !== undefined && (!Number.isSafeInteger(maxBytes) || maxBytes < 0)) {
    throw new RangeError(`maxBytes must be a non-negative safe integer, got ${maxBytes}`);
  }
}

function tooLarge(size: number, maxBytes: number): NanoError {
  return new NanoError(
    "attachment_too_large",
    `attachment of ${size} bytes exceeds the limit of ${maxBytes}`,
  );
}

export interface AttachmentSealOptions {
  readonly contentType: string;
  readonly filename?: string;
  /** Refuse (`attachment_too_large`) once the plaintext passes this many bytes. */
  readonly maxBytes?: number;
  /**
   * Fixed key material for known-answer tests only. Sealing two plaintexts with the same pair reuses
   * every chunk nonce under one key and breaks confidentiality; production callers leave this unset.
   */
  readonly keyMaterial?: { readonly fileKey: Uint8Array; readonly nonce: Uint8Array };
}

/**
 * Encrypts one attachment incrementally. `push` resolves to the ciphertext pieces that are final so
 * far; `finish` to the rest and the reference. A full chunk is held back until more input arrives,
 * because only then is it known not to be the last (the last-chunk flag is in its nonce). One call at
 * a time: each must be awaited before the next.
 */
export class AttachmentSealer {
  readonly #primitives: AttachmentPrimitives;
  readonly #fileKey: Uint8Array;
  readonly #payloadKey: Uint8Array;
  readonly #header: Uint8Array;
  readonly #hash: IncrementalHash;
  readonly #buffer = new Uint8Array(ATTACHMENT_FORMAT.chunkSize);
  readonly #contentType: string;
  readonly #filename: string | undefined;
  readonly #maxBytes: number | undefined;
  #filled = 0;
  #counter = 0;
  #size = 0;
  #headerEmitted = false;
  #reference: AttachmentReference | undefined;
  #failure: NanoError | undefined;
  #working = false;

  constructor(primitives: AttachmentPrimitives, options: AttachmentSealOptions) {
    checkContentType(options.contentType);
    if (options.filename !== undefined) checkFilename(options.filename);
    checkLimit(options.maxBytes);
    this.#contentType = options.contentType;
    this.#filename = options.filename;
    this.#maxBytes = options.maxBytes;
    const material = options.keyMaterial;
    if (material !== undefined) {
      if (material.fileKey.length !== ATTACHMENT_REFERENCE.keyLength)
        throw new RangeError("file key must be 32 bytes");
      if (material.nonce.length !== ATTACHMENT_FORMAT.nonceLength)
        throw new RangeError("nonce must be 16 bytes");
    }
    this.#primitives = primitives;
    this.#hash = primitives.blake2bIncremental();
    this.#fileKey = material
      ? copyBytes(material.fileKey)
      : primitives.randomBytes(ATTACHMENT_REFERENCE.keyLength);
    const nonce = material
      ? copyBytes(material.nonce)
      : primitives.randomBytes(ATTACHMENT_FORMAT.nonceLength);
    this.#payloadKey = derivePayloadKey(primitives, this.#fileKey, nonce);
    this.#header = new Uint8Array([...ATTACHMENT_FORMAT.magic, ATTACHMENT_FORMAT.version, ...nonce]);
  }

  /** Plaintext bytes accepted so far. */
  get size(): number {
    return this.#size;
  }

  #emit(out: Uint8Array[], piece: Uint8Array): void {
    this.#hash.update(piece);
    out.push(piece);
  }

  async #seal(out: Uint8Array[], plaintext: Uint8Array, last: boolean): Promise<void> {
    const nonce = chunkNonce(this.#counter, last);
    this.#counter += 1;
    const sealed = await this.#primitives.aead.seal(this.#payloadKey, nonce, plaintext, new Uint8Array(0));
    this.#emit(out, sealed);
  }

  async #sealBuffered(out: Uint8Array[], last: boolean): Promise<void> {
    await this.#seal(out, this.#buffer.subarray(0, this.#filled), last);
    this.#filled = 0;
  }

  async push(plaintext: Uint8Array): Promise<Uint8Array[]> {
    if (this.#working) throw busy("sealer");
    this.#working = true;
    try {
      return await this.#push(plaintext);
    } finally {
      this.#working = false;
    }
  }

  async #push(plaintext: Uint8Array): Promise<Uint8Array[]> {
    if (this.#reference !== undefined) throw new TypeError("attachment sealer is already finished");
    if (!(plaintext instanceof Uint8Array)) throw new TypeError("attachment plaintext must be a Uint8Array");
    if (this.#failure !== undefined) throw this.#failure;
    const size = this.#size + plaintext.length;
    const limit = Math.min(this.#maxBytes ?? ATTACHMENT_REFERENCE.maxSize, ATTACHMENT_REFERENCE.maxSize);
    if (size > limit) {
      // Dead from here on: an attachment cut at the limit must not be finished and sent as if whole.
      this.#failure = tooLarge(size, limit);
      wipe(this.#payloadKey, this.#buffer);
      throw this.#failure;
    }
    this.#size = size;
    const out: Uint8Array[] = [];
    if (!this.#headerEmitted) {
      this.#headerEmitted = true;
      this.#emit(out, this.#header);
    }
    let position = 0;
    while (position < plaintext.length) {
      if (this.#filled === ATTACHMENT_FORMAT.chunkSize) await this.#sealBuffered(out, false);
      // Fast path without the copy: a whole chunk with more input after it in this call is not last.
      if (this.#filled === 0 && plaintext.length - position > ATTACHMENT_FORMAT.chunkSize) {
        await this.#seal(out, plaintext.subarray(position, position + ATTACHMENT_FORMAT.chunkSize), false);
        position += ATTACHMENT_FORMAT.chunkSize;
        continue;
      }
      const take = Math.min(ATTACHMENT_FORMAT.chunkSize - this.#filled, plaintext.length - position);
      this.#buffer.set(plaintext.subarray(position, position + take), this.#filled);
      this.#filled += take;
      position += take;
    }
    return out;
  }

  /** Seals the last chunk (empty only when the whole attachment is empty) and returns the reference. */
  async finish(): Promise<{ ciphertext: Uint8Array[]; reference: AttachmentReference }> {
    if (this.#working) throw busy("sealer");
    this.#working = true;
    try {
      return await this.#finish();
    } finally {
      this.#working = false;
    }
  }

  async #finish(): Promise<{ ciphertext: Uint8Array[]; reference: AttachmentReference }> {
    if (this.#failure !== undefined) throw this.#failure;
    if (this.#reference !== undefined) throw new TypeError("attachment sealer is already finished");
    const out = await this.#push(new Uint8Array(0));
    await this.#sealBuffered(out, true);
    const base = {
      key: this.#fileKey,
      hash: this.#hash.digest(),
      size: this.#size,
      contentType: this.#contentType,
    };
    this.#reference = this.#filename === undefined ? base : { ...base, filename: this.#filename };
    wipe(this.#payloadKey, this.#buffer);
    return { ciphertext: out, reference: this.#reference };
  }
}

export interface AttachmentOpenOptions {
  /** The caller's size limit: a reference above it is refused before anything is allocated. */
  readonly maxBytes: number;
}

/**
 * Decrypts one attachment incrementally against its reference. `push` returns plaintext of chunks that
 * authenticated; the final chunk's plaintext is released only after the whole-ciphertext hash matched,
 * so the last bytes a caller sees always come with "complete and verified". Plaintext released before
 * `finish` returns is authentic per chunk but may be a prefix of an attachment that will then fail.
 * After any error the opener is dead and rethrows that error.
 */
export class AttachmentOpener {
  readonly #primitives: AttachmentPrimitives;
  readonly #reference: AttachmentReference;
  readonly #hash: IncrementalHash;
  readonly #chunks: number;
  readonly #expectedLength: number;
  readonly #header = new Uint8Array(ATTACHMENT_FORMAT.headerLength);
  #buffer: Uint8Array | undefined;
  #payloadKey: Uint8Array | undefined;
  #received = 0;
  #filled = 0;
  #counter = 0;
  #done = false;
  #failure: unknown;
  #working = false;

  constructor(
    primitives: AttachmentPrimitives,
    reference: AttachmentReference,
    options: AttachmentOpenOptions,
  ) {
    checkLimit(options.maxBytes);
    checkAttachmentReference(reference);
    if (reference.size > options.maxBytes) throw tooLarge(reference.size, options.maxBytes);
    this.#primitives = primitives;
    this.#hash = primitives.blake2bIncremental();
    this.#reference = reference;
    this.#chunks = attachmentChunkCount(reference.size);
    this.#expectedLength = attachmentCiphertextLength(reference.size);
  }

  /** True once the final chunk and the hash verified. */
  get done(): boolean {
    return this.#done;
  }

  async push(ciphertext: Uint8Array): Promise<Uint8Array[]> {
    if (this.#working) throw busy("opener");
    if (this.#failure !== undefined) throw this.#failure;
    this.#working = true;
    try {
      return await this.#push(ciphertext);
    } catch (error) {
      this.#fail(error);
      throw error;
    } finally {
      this.#working = false;
    }
  }

  /** Throws `attachment_truncated` unless the final chunk arrived and verified. */
  finish(): void {
    if (this.#working) throw busy("opener");
    if (this.#failure !== undefined) throw this.#failure;
    if (!this.#done) {
      const error = new NanoError(
        "attachment_truncated",
        `attachment ciphertext ended after ${this.#received} of ${this.#expectedLength} bytes`,
      );
      this.#fail(error);
      throw error;
    }
  }

  #fail(error: unknown): void {
    this.#failure = error;
    if (this.#payloadKey !== undefined) wipe(this.#payloadKey);
    if (this.#buffer !== undefined) wipe(this.#buffer);
  }

  async #push(ciphertext: Uint8Array): Promise<Uint8Array[]> {
    if (!(ciphertext instanceof Uint8Array))
      throw new TypeError("attachment ciphertext must be a Uint8Array");
    // Checked before buffering: a hostile source cannot make the opener hold more than one chunk.
    if (this.#done ? ciphertext.length > 0 : this.#received + ciphertext.length > this.#expectedLength) {
      throw new NanoError(
        "attachment_trailing_data",
        `attachment ciphertext is longer than the ${this.#expectedLength} bytes its reference allows`,
      );
    }
    // An empty push after the end must not touch the finalised hash.
    if (ciphertext.length === 0) return [];
    this.#received += ciphertext.length;
    this.#hash.update(ciphertext);
    const out: Uint8Array[] = [];
    let position = 0;
    while (position < ciphertext.length) {
      if (this.#payloadKey === undefined) {
        const take = Math.min(ATTACHMENT_FORMAT.headerLength - this.#filled, ciphertext.length - position);
        this.#header.set(ciphertext.subarray(position, position + take), this.#filled);
        this.#filled += take;
        position += take;
        if (this.#filled === ATTACHMENT_FORMAT.headerLength) this.#openHeader();
        continue;
      }
      const buffer = this.#buffer!;
      const want = this.#sealedChunkLength(this.#counter);
      // Fast path without the copy when the whole chunk is in this call's input.
      if (this.#filled === 0 && ciphertext.length - position >= want) {
        await this.#openChunk(out, ciphertext.subarray(position, position + want));
        position += want;
        continue;
      }
      const take = Math.min(want - this.#filled, ciphertext.length - position);
      buffer.set(ciphertext.subarray(position, position + take), this.#filled);
      this.#filled += take;
      position += take;
      if (this.#filled === want) await this.#openChunk(out, buffer.subarray(0, want));
    }
    return out;
  }

  #sealedChunkLength(counter: number): number {
    if (counter < this.#chunks - 1) return SEALED_CHUNK;
    return (
      this.#reference.size - (this.#chunks - 1) * ATTACHMENT_FORMAT.chunkSize + ATTACHMENT_FORMAT.tagLength
    );
  }

  #openHeader(): void {
    const header = this.#header;
    const magicMatches = ATTACHMENT_FORMAT.magic.every((byte, index) => header[index] === byte);
    if (!magicMatches || header[3] !== ATTACHMENT_FORMAT.version) {
      throw new NanoError(
        "attachment_version_unsupported",
        "attachment ciphertext does not start with the nano v1 attachment header",
      );
    }
    this.#payloadKey = derivePayloadKey(this.#primitives, this.#reference.key, header.subarray(4));
    this.#buffer = new Uint8Array(Math.min(SEALED_CHUNK, this.#sealedChunkLength(0)));
    this.#filled = 0;
  }

  async #openChunk(out: Uint8Array[], sealed: Uint8Array): Promise<void> {
    const last = this.#counter === this.#chunks - 1;
    const nonce = chunkNonce(this.#counter, last);
    const plaintext = await this.#primitives.aead.open(this.#payloadKey!, nonce, sealed, new Uint8Array(0));
    if (plaintext === null) {
      throw new NanoError(
        "attachment_chunk_invalid",
        `attachment chunk ${this.#counter} of ${this.#chunks} failed authentication`,
      );
    }
    this.#counter += 1;
    this.#filled = 0;
    if (last) {
      // Hash before releasing the last plaintext: completion is only ever signalled for the exact
      // ciphertext the reference names (ChaCha20-Poly1305 alone does not commit to one key).
      if (!constantTimeEqual(this.#hash.digest(), this.#reference.hash)) {
        wipe(plaintext);
        throw new NanoError(
          "attachment_hash_mismatch",
          "attachment ciphertext hash differs from the reference although every chunk authenticated",
        );
      }
      this.#done = true;
      wipe(this.#payloadKey!);
    }
    out.push(plaintext);
  }
}

type ByteSource = AsyncIterable<Uint8Array> | Iterable<Uint8Array>;

function joined(pieces: readonly Uint8Array[], length: number): Uint8Array {
  const out = new Uint8Array(length);
  let offset = 0;
  for (const piece of pieces) {
    out.set(piece, offset);
    offset += piece.length;
  }
  return out;
}

/** Encrypts bytes held in memory. For large files use the sealer or `sealAttachmentChunks`. */
export async function sealAttachment(
  primitives: AttachmentPrimitives,
  plaintext: Uint8Array,
  options: AttachmentSealOptions,
): Promise<{ ciphertext: Uint8Array; reference: AttachmentReference }> {
  const sealer = new AttachmentSealer(primitives, options);
  const pieces = await sealer.push(plaintext);
  const { ciphertext: tail, reference } = await sealer.finish();
  pieces.push(...tail);
  return { ciphertext: joined(pieces, attachmentCiphertextLength(reference.size)), reference };
}

/**
 * Decrypts and verifies a whole ciphertext held in memory. Resolves to plaintext only when every chunk,
 * the last-chunk flag, the length and the hash verified; the size limit is checked before allocating.
 */
export async function openAttachment(
  primitives: AttachmentPrimitives,
  ciphertext: Uint8Array,
  reference: AttachmentReference,
  options: AttachmentOpenOptions,
): Promise<Uint8Array> {
  const opener = new AttachmentOpener(primitives, reference, options);
  const pieces = await opener.push(ciphertext);
  opener.finish();
  return joined(pieces, reference.size);
}

/**
 * Yields ciphertext for plaintext read from `source`. The reference is `sealer.finish()`'s, available
 * from `onReference` once the generator has completed.
 */
export async function* sealAttachmentChunks(
  primitives: AttachmentPrimitives,
  source: ByteSource,
  options: AttachmentSealOptions,
  onReference: (reference: AttachmentReference) => void,
): AsyncGenerator<Uint8Array, void, undefined> {
  const sealer = new AttachmentSealer(primitives, options);
  for await (const piece of source) yield* await sealer.push(piece);
  const { ciphertext, reference } = await sealer.finish();
  yield* ciphertext;
  onReference(reference);
}

/**
 * Yields verified plaintext chunks for ciphertext read from `source`. Normal completion of the
 * generator is the only signal that the attachment is whole and authentic; bytes yielded before an
 * error must be discarded by the consumer (decryptAttachmentToFile does this for files).
 */
export async function* openAttachmentChunks(
  primitives: AttachmentPrimitives,
  source: ByteSource,
  reference: AttachmentReference,
  options: AttachmentOpenOptions,
): AsyncGenerator<Uint8Array, void, undefined> {
  const opener = new AttachmentOpener(primitives, reference, options);
  for await (const piece of source) yield* await opener.push(piece);
  opener.finish();
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
