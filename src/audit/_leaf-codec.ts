/**
 * The byte layout shared by the relay's two leaf encodings (audit-event.ts, kt-leaf.ts): big-endian
 * integers, length-prefixed byte strings. Decoding is strict: every length is checked before it is
 * read and trailing bytes are an error, so one leaf has exactly one encoding.
 */
import { NanoError } from "../errors/index.ts";

export function leafMalformed(message: string): NanoError {
  return new NanoError("log_leaf_malformed", message);
}

export class LeafWriter {
  readonly #parts: Uint8Array[] = [];

  u8(value: number): this {
    this.#parts.push(Uint8Array.of(value));
    return this;
  }

  u32(value: number): this {
    const out = new Uint8Array(4);
    new DataView(out.buffer).setUint32(0, value);
    this.#parts.push(out);
    return this;
  }

  u64(value: number): this {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError("u64 field out of range");
    const out = new Uint8Array(8);
    new DataView(out.buffer).setBigUint64(0, BigInt(value));
    this.#parts.push(out);
    return this;
  }

  fixed(bytes: Uint8Array): this {
    this.#parts.push(bytes.slice());
    return this;
  }

  vec8(bytes: Uint8Array): this {
    if (bytes.length > 0xff) throw new RangeError("vec8 field longer than 255 bytes");
    return this.u8(bytes.length).fixed(bytes);
  }

  vec16(bytes: Uint8Array): this {
    if (bytes.length > 0xffff) throw new RangeError("vec16 field longer than 65535 bytes");
    const out = new Uint8Array(2);
    new DataView(out.buffer).setUint16(0, bytes.length);
    this.#parts.push(out);
    return this.fixed(bytes);
  }

  finish(): Uint8Array {
    const total = this.#parts.reduce((sum, part) => sum + part.length, 0);
    const out = new Uint8Array(total);
    let offset = 0;
    for (const part of this.#parts) {
      out.set(part, offset);
      offset += part.length;
    }
    return out;
  }
}

export class LeafReader {
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  #offset = 0;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  #need(count: number, what: string): void {
    if (this.#offset + count > this.#bytes.length) throw leafMalformed(`leaf truncated in ${what}`);
  }

  u8(what: string): number {
    this.#need(1, what);
    return this.#view.getUint8(this.#offset++);
  }

  u16(what: string): number {
    this.#need(2, what);
    const value = this.#view.getUint16(this.#offset);
    this.#offset += 2;
    return value;
  }

  u32(what: string): number {
    this.#need(4, what);
    const value = this.#view.getUint32(this.#offset);
    this.#offset += 4;
    return value;
  }

  u64(what: string): number {
    this.#need(8, what);
    const value = this.#view.getBigUint64(this.#offset);
    this.#offset += 8;
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw leafMalformed(`${what} exceeds 2^53 - 1`);
    return Number(value);
  }

  fixed(count: number, what: string): Uint8Array {
    this.#need(count, what);
    const out = this.#bytes.slice(this.#offset, this.#offset + count);
    this.#offset += count;
    return out;
  }

  vec8(what: string): Uint8Array {
    return this.fixed(this.u8(what), what);
  }

  vec16(what: string): Uint8Array {
    return this.fixed(this.u16(what), what);
  }

  end(): void {
    if (this.#offset !== this.#bytes.length) throw leafMalformed("trailing bytes after the leaf");
  }
}

const ASCII_TOKEN = /^[\x21-\x7e]*$/;

/** Short printable ASCII fields (types, outcomes, correlation ids): no spaces, no control bytes. */
export function asciiField(value: string, what: string, max: number): Uint8Array {
  if (value.length > max || !ASCII_TOKEN.test(value))
    throw new RangeError(`${what} must be at most ${max} printable ASCII characters`);
  return new TextEncoder().encode(value);
}

export function readAscii(bytes: Uint8Array, what: string): string {
  const text = new TextDecoder().decode(bytes);
  if (!ASCII_TOKEN.test(text)) throw leafMalformed(`${what} is not printable ASCII`);
  return text;
}
