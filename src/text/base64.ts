/**
 * Base64 (RFC 4648 section 4, padded) without Buffer, for code that runs in the page as well as in
 * Node: the byte fields of sealed records (client/local-store/local-records.ts) where the runtime has no
 * faster codec to hand in, the relay API in the page, and the key-transparency notes (audit/). The SQLite
 * store hands in Node's Buffer instead (node-record-codec.ts): ten to twenty times faster than this on a
 * 1 MiB body, measured. Both write the same text for the same bytes.
 *
 * The TC39 `Uint8Array.prototype.toBase64` / `Uint8Array.fromBase64` where the runtime has them
 * (Chromium does), else a table-driven encoder and decoder. Decoding expects canonical base64: the
 * record schema has already checked the text (`z.base64()`).
 */
export interface Base64Codec {
  readonly encode: (bytes: Uint8Array) => string;
  readonly decode: (text: string) => Uint8Array;
}

interface NativeBase64 {
  toBase64(this: Uint8Array): string;
}
interface NativeBase64Constructor {
  fromBase64(text: string): Uint8Array;
}

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const PAD = 0x3d;
const ENCODE: Uint8Array = Uint8Array.from(ALPHABET, (char) => char.charCodeAt(0));
const DECODE: Int16Array = (() => {
  const table = new Int16Array(256).fill(-1);
  for (let i = 0; i < ALPHABET.length; i++) table[ALPHABET.charCodeAt(i)] = i;
  return table;
})();

function encodeWithTable(bytes: Uint8Array): string {
  const out = new Uint8Array(Math.ceil(bytes.length / 3) * 4);
  let o = 0;
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out[o++] = ENCODE[n >> 18]!;
    out[o++] = ENCODE[(n >> 12) & 63]!;
    out[o++] = ENCODE[(n >> 6) & 63]!;
    out[o++] = ENCODE[n & 63]!;
  }
  const rest = bytes.length - i;
  if (rest > 0) {
    const n = (bytes[i]! << 16) | (rest === 2 ? bytes[i + 1]! << 8 : 0);
    out[o++] = ENCODE[n >> 18]!;
    out[o++] = ENCODE[(n >> 12) & 63]!;
    out[o++] = rest === 2 ? ENCODE[(n >> 6) & 63]! : PAD;
    out[o++] = PAD;
  }
  return new TextDecoder().decode(out);
}

function decodeWithTable(text: string): Uint8Array {
  const source = new TextEncoder().encode(text);
  if (source.length % 4 !== 0) throw new RangeError("base64 text length is not a multiple of 4");
  let padding = 0;
  if (source.length > 0 && source[source.length - 1] === PAD) padding++;
  if (source.length > 1 && source[source.length - 2] === PAD) padding++;
  const out = new Uint8Array((source.length / 4) * 3 - padding);
  let o = 0;
  for (let i = 0; i < source.length; i += 4) {
    const a = DECODE[source[i]!]!;
    const b = DECODE[source[i + 1]!]!;
    const c = source[i + 2] === PAD ? 0 : DECODE[source[i + 2]!]!;
    const d = source[i + 3] === PAD ? 0 : DECODE[source[i + 3]!]!;
    if ((a | b | c | d) < 0) throw new RangeError("not base64");
    const n = (a << 18) | (b << 12) | (c << 6) | d;
    if (o < out.length) out[o++] = n >> 16;
    if (o < out.length) out[o++] = (n >> 8) & 255;
    if (o < out.length) out[o++] = n & 255;
  }
  return out;
}

function portable(): Base64Codec {
  const toBase64 = (Uint8Array.prototype as Partial<NativeBase64>).toBase64;
  const fromBase64 = (Uint8Array as unknown as Partial<NativeBase64Constructor>).fromBase64;
  return {
    encode: typeof toBase64 === "function" ? (bytes) => toBase64.call(bytes) : encodeWithTable,
    decode: typeof fromBase64 === "function" ? (text) => fromBase64.call(Uint8Array, text) : decodeWithTable,
  };
}

/** The runtime's own base64 where it has one, else the tables. */
export const PORTABLE_BASE64: Base64Codec = Object.freeze(portable());
/** The table implementation alone, for the test that checks it against the others. */
export const TABLE_BASE64: Base64Codec = Object.freeze({ encode: encodeWithTable, decode: decodeWithTable });
