// The attachment format's test helpers that run in Node and in the page alike (no node: import, no
// Buffer): deterministic inputs, an independent implementation of docs/attachments.md over @noble (so
// the spec, not just our code, is what the tests check), and a cutter of a ciphertext into its chunks.
import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { blake2b } from "@noble/hashes/blake2.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { ATTACHMENT_FORMAT, attachmentChunkCount } from "../../src/client/attachments/attachment-stream.ts";

export const CHUNK = ATTACHMENT_FORMAT.chunkSize;
export const SEALED = CHUNK + ATTACHMENT_FORMAT.tagLength;
export const HEADER = ATTACHMENT_FORMAT.headerLength;

/** Bytes that differ at every position and between seeds, without a random source. */
export function pattern(length: number, seed = 0): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (i * 31 + seed * 7 + (i >>> 8)) & 0xff;
  return out;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Splits a ciphertext into its header and sealed chunks (by the spec's lengths). */
export function splitChunks(
  ciphertext: Uint8Array,
  size: number,
): { header: Uint8Array; chunks: Uint8Array[] } {
  const chunks: Uint8Array[] = [];
  let offset = HEADER;
  for (let i = 0; i < attachmentChunkCount(size); i++) {
    const length = Math.min(SEALED, ciphertext.length - offset);
    chunks.push(ciphertext.slice(offset, offset + length));
    offset += length;
  }
  return { header: ciphertext.slice(0, HEADER), chunks };
}

/** docs/attachments.md implemented a second time, over @noble/ciphers and @noble/hashes. */
export function nobleSeal(fileKey: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array): Uint8Array {
  const info = concat(new TextEncoder().encode("nano/v1/attachment"), Uint8Array.of(1));
  const payloadKey = hkdf(blake2b, fileKey, nonce, info, 32);
  const count = plaintext.length === 0 ? 1 : Math.ceil(plaintext.length / CHUNK);
  const parts: Uint8Array[] = [Uint8Array.of(0x6e, 0x61, 0x74, 0x01), nonce];
  for (let i = 0; i < count; i++) {
    const chunkNonce = new Uint8Array(12);
    new DataView(chunkNonce.buffer).setBigUint64(3, BigInt(i));
    chunkNonce[11] = i === count - 1 ? 1 : 0;
    parts.push(
      chacha20poly1305(payloadKey, chunkNonce).encrypt(plaintext.subarray(i * CHUNK, (i + 1) * CHUNK)),
    );
  }
  return concat(...parts);
}

/**
 * What a sender holding the file key can write instead: the same construction with every chunk's
 * plaintext and last-chunk flag chosen freely (flags early, late or missing, empty or short chunks).
 */
export function nobleSealCrafted(
  fileKey: Uint8Array,
  nonce: Uint8Array,
  chunks: readonly { readonly plaintext: Uint8Array; readonly last: boolean }[],
): Uint8Array {
  const info = concat(new TextEncoder().encode("nano/v1/attachment"), Uint8Array.of(1));
  const payloadKey = hkdf(blake2b, fileKey, nonce, info, 32);
  const parts: Uint8Array[] = [Uint8Array.of(0x6e, 0x61, 0x74, 0x01), nonce];
  for (const [i, chunk] of chunks.entries()) {
    const chunkNonce = new Uint8Array(12);
    new DataView(chunkNonce.buffer).setBigUint64(3, BigInt(i));
    chunkNonce[11] = chunk.last ? 1 : 0;
    parts.push(chacha20poly1305(payloadKey, chunkNonce).encrypt(chunk.plaintext));
  }
  return concat(...parts);
}

export function nobleHash(ciphertext: Uint8Array): Uint8Array {
  return blake2b(ciphertext);
}
