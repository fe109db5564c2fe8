/**
 * Base64 (RFC 4648 section 4, padded) for the byte fields of sealed records (local-records.ts), in
 * both runtimes: the SQLite store in Node and the IndexedDB store in a page seal the same plaintext
 * encoding, so the two must write the same text for the same bytes.
 *
 * Which implementation runs is decided once, by what the runtime has, never by its name:
 * - the TC39 `Uint8Array.prototype.toBase64` / `Uint8Array.fromBase64` where present (Chromium has
 *   them);
 * - else Node's Buffer, found on globalThis, not imported (this file is bundled for the page): the
 *   record encoder was measured with it (a 1 MiB body's base64 is a memcpy-speed pass there);
 * - else `btoa`/`atob` over a binary string, in chunks so no argument list grows with the input.
 * Decoding is strict in every path: the zod schema has already checked the text is canonical base64.
 */
interface NativeBase64 {
  toBase64(this: Uint8Array): string;
}
interface NativeBase64Constructor {
  fromBase64(text: string): Uint8Array;
}
interface NodeBufferLike {
  from(bytes: ArrayBufferLike, offset: number, length: number): { toString(encoding: "base64"): string };
  from(text: string, encoding: "base64"): Uint8Array;
}

const CHUNK = 0x8000;

function nativeEncoder(): ((bytes: Uint8Array) => string) | null {
  const toBase64 = (Uint8Array.prototype as Partial<NativeBase64>).toBase64;
  return typeof toBase64 === "function" ? (bytes) => toBase64.call(bytes) : null;
}

function nativeDecoder(): ((text: string) => Uint8Array) | null {
  const fromBase64 = (Uint8Array as unknown as Partial<NativeBase64Constructor>).fromBase64;
  return typeof fromBase64 === "function" ? (text) => fromBase64.call(Uint8Array, text) : null;
}

function nodeBuffer(): NodeBufferLike | null {
  const found = (globalThis as { Buffer?: unknown }).Buffer;
  return typeof found === "function" ? (found as unknown as NodeBufferLike) : null;
}

function encodeWithBtoa(bytes: Uint8Array): string {
  let binary = "";
  for (let offset = 0; offset < bytes.length; offset += CHUNK) {
    binary += String.fromCharCode(...bytes.subarray(offset, offset + CHUNK));
  }
  return btoa(binary);
}

function decodeWithAtob(text: string): Uint8Array {
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

function pickEncoder(): (bytes: Uint8Array) => string {
  const native = nativeEncoder();
  if (native !== null) return native;
  const buffer = nodeBuffer();
  if (buffer !== null)
    return (bytes) => buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("base64");
  return encodeWithBtoa;
}

function pickDecoder(): (text: string) => Uint8Array {
  const native = nativeDecoder();
  if (native !== null) return native;
  const buffer = nodeBuffer();
  if (buffer !== null) return (text) => new Uint8Array(buffer.from(text, "base64"));
  return decodeWithAtob;
}

/** Padded base64 of `bytes`. */
export const toBase64: (bytes: Uint8Array) => string = pickEncoder();
/** The bytes of padded base64 `text` (already validated as base64 by the caller's schema). */
export const fromBase64: (text: string) => Uint8Array = pickDecoder();
/** The fallbacks, exported for the test that checks every path writes the same text. */
export const BASE64_FALLBACKS = Object.freeze({ encodeWithBtoa, decodeWithAtob });
