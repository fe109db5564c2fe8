import { NanoError } from "../errors/index.ts";

/**
 * The byte reader and writer every protocol codec uses (docs/protocol.md §2). Big-endian integers;
 * every length is read and checked against the bytes that remain and against the caller's maximum
 * BEFORE anything is allocated, so a hostile length can never make us allocate or loop.
 */
export class Reader {
  readonly bytes: Uint8Array;
  offset: number;
  private readonly view: DataView;

  constructor(bytes: Uint8Array, offset = 0) {
    this.bytes = bytes;
    this.offset = offset;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get remaining(): number {
    return this.bytes.length - this.offset;
  }

  private need(count: number, what: string): void {
    if (count > this.remaining) throw new NanoError("truncated", `${what} is truncated`);
  }

  u8(what: string): number {
    this.need(1, what);
    return this.bytes[this.offset++]!;
  }

  u16(what: string): number {
    this.need(2, what);
    const value = this.view.getUint16(this.offset);
    this.offset += 2;
    return value;
  }

  u32(what: string): number {
    this.need(4, what);
    const value = this.view.getUint32(this.offset);
    this.offset += 4;
    return value;
  }

  u64(what: string): bigint {
    this.need(8, what);
    const value = this.view.getBigUint64(this.offset);
    this.offset += 8;
    return value;
  }

  /** A u64 that must fit a JavaScript number exactly (timestamps in milliseconds). */
  u64n(what: string): number {
    const value = this.u64(what);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new NanoError("malformed", `${what} is out of range`);
    return Number(value);
  }

  /** Exactly `count` bytes, copied (never a view into the caller's buffer). */
  fixed(count: number, what: string): Uint8Array {
    this.need(count, what);
    const out = this.bytes.slice(this.offset, this.offset + count);
    this.offset += count;
    return out;
  }

  /** u8 length || bytes with min..max checked before the copy. */
  vec8(what: string, max = 255, min = 0): Uint8Array {
    return this.bounded(this.u8(`${what} length`), what, min, max);
  }

  vec16(what: string, max = 0xffff, min = 0): Uint8Array {
    return this.bounded(this.u16(`${what} length`), what, min, max);
  }

  vec32(what: string, max: number, min = 0): Uint8Array {
    return this.bounded(this.u32(`${what} length`), what, min, max);
  }

  private bounded(length: number, what: string, min: number, max: number): Uint8Array {
    if (length < min || length > max) {
      throw new NanoError("malformed", `${what} length ${length} outside ${min}..${max}`);
    }
    return this.fixed(length, what);
  }

  bool(what: string): boolean {
    const value = this.u8(what);
    if (value > 1) throw new NanoError("malformed", `${what} must be 0 or 1`);
    return value === 1;
  }

  /** Structures that must be the whole input end here. */
  end(what: string): void {
    if (this.remaining !== 0) throw new NanoError("trailing_bytes", `bytes after the ${what}`);
  }
}

/** Accumulates parts and joins them once; sizes are validated by the u*() helpers. */
export class Writer {
  private readonly parts: Uint8Array[] = [];
  private length = 0;

  bytes(part: Uint8Array): this {
    this.parts.push(part);
    this.length += part.length;
    return this;
  }

  u8(value: number): this {
    checkInt(value, 0xff, "u8");
    return this.bytes(Uint8Array.of(value));
  }

  u16(value: number): this {
    checkInt(value, 0xffff, "u16");
    return this.bytes(Uint8Array.of(value >>> 8, value & 0xff));
  }

  u32(value: number): this {
    checkInt(value, 0xffffffff, "u32");
    const out = new Uint8Array(4);
    new DataView(out.buffer).setUint32(0, value);
    return this.bytes(out);
  }

  u64(value: bigint | number): this {
    const big = typeof value === "number" ? BigInt(value) : value;
    if (big < 0n || big > 0xffffffffffffffffn) throw new RangeError(`u64 out of range: ${value}`);
    const out = new Uint8Array(8);
    new DataView(out.buffer).setBigUint64(0, big);
    return this.bytes(out);
  }

  bool(value: boolean): this {
    return this.u8(value ? 1 : 0);
  }

  vec8(part: Uint8Array): this {
    return this.u8(part.length).bytes(part);
  }

  vec16(part: Uint8Array): this {
    return this.u16(part.length).bytes(part);
  }

  vec32(part: Uint8Array): this {
    return this.u32(part.length).bytes(part);
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.length);
    let offset = 0;
    for (const part of this.parts) {
      out.set(part, offset);
      offset += part.length;
    }
    return out;
  }
}

function checkInt(value: number, max: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > max)
    throw new RangeError(`${what} out of range: ${value}`);
}

/** Runs a decoder that must consume the whole input. */
export function decodeExact<T>(
  bytes: Uint8Array,
  decode: (bytes: Uint8Array, offset: number) => [T, number],
  what: string,
): T {
  const [value, read] = decode(bytes, 0);
  if (read !== bytes.length) throw new NanoError("trailing_bytes", `bytes after the ${what}`);
  return value;
}

/** `u32 length || bytes` per part: the framing of every hash and KDF input built from several fields. */
export function lengthPrefixed(...parts: readonly Uint8Array[]): Uint8Array {
  const writer = new Writer();
  for (const part of parts) writer.vec32(part);
  return writer.finish();
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
