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

  /** Skips `count` bytes that must all be zero (padding, absent fixed-size fields); no copy. */
  zeros(count: number, what: string): void {
    this.need(count, what);
    let acc = 0;
    for (let i = this.offset; i < this.offset + count; i++) acc |= this.bytes[i]!;
    if (acc !== 0) throw new NanoError("malformed", `${what} must be zero-filled`);
    this.offset += count;
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

/**
 * Writes into one growing buffer: integers go straight into it (no 1-4 byte array per field) and
 * `bytes()` copies its part at once, so a part changed or wiped after the call does not change the
 * output. Sizes are validated by the u*() helpers. Session records are written on every message,
 * which made the per-field allocations of a parts list a measurable share of the cost.
 */
export class Writer {
  private buffer: Uint8Array;
  private view: DataView;
  private length = 0;

  /**
   * `capacity` is a hint only: the buffer doubles whenever a write needs more. The default stays at
   * V8's on-heap typed-array limit (64 bytes): larger buffers are separate allocations that the
   * garbage collector must track and free one by one, so hot callers pass the size they will write.
   */
  constructor(capacity = 64) {
    this.buffer = new Uint8Array(Math.max(16, capacity));
    this.view = new DataView(this.buffer.buffer);
  }

  /** Grows first, so callers must read `buffer`/`view` only after this returns. */
  private reserve(count: number): number {
    const offset = this.length;
    const needed = offset + count;
    if (needed > this.buffer.length) {
      let size = this.buffer.length * 2;
      while (size < needed) size *= 2;
      const grown = new Uint8Array(size);
      grown.set(this.buffer.subarray(0, offset));
      // The old buffer can hold keys (session records): clear it rather than leave it to the GC.
      this.buffer.fill(0);
      this.buffer = grown;
      this.view = new DataView(grown.buffer);
    }
    this.length = needed;
    return offset;
  }

  bytes(part: Uint8Array): this {
    const offset = this.reserve(part.length);
    this.buffer.set(part, offset);
    return this;
  }

  u8(value: number): this {
    checkInt(value, 0xff, "u8");
    const offset = this.reserve(1);
    this.buffer[offset] = value;
    return this;
  }

  u16(value: number): this {
    checkInt(value, 0xffff, "u16");
    const offset = this.reserve(2);
    this.view.setUint16(offset, value);
    return this;
  }

  u32(value: number): this {
    checkInt(value, 0xffffffff, "u32");
    const offset = this.reserve(4);
    this.view.setUint32(offset, value);
    return this;
  }

  u64(value: bigint | number): this {
    if (typeof value === "number" && Number.isSafeInteger(value) && value >= 0) {
      // Timestamps and counters: exact integers are written without a BigInt round trip.
      const offset = this.reserve(8);
      this.view.setUint32(offset, Math.floor(value / 2 ** 32));
      this.view.setUint32(offset + 4, value >>> 0);
      return this;
    }
    const big = typeof value === "number" ? BigInt(value) : value;
    if (big < 0n || big > 0xffffffffffffffffn) throw new RangeError(`u64 out of range: ${value}`);
    const offset = this.reserve(8);
    this.view.setBigUint64(offset, big);
    return this;
  }

  bool(value: boolean): this {
    return this.u8(value ? 1 : 0);
  }

  /** `count` zero bytes (absent fixed-size fields), without building an array of zeros first. */
  zeros(count: number): this {
    const offset = this.reserve(count);
    this.buffer.fill(0, offset, offset + count);
    return this;
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

  /**
   * `u32 length || what write() adds`, written in place: the length is patched afterwards, so a nested
   * structure (a session inside a contact's record) is not built in a buffer of its own and copied.
   */
  vec32With(write: (writer: this) => void): this {
    const at = this.reserve(4);
    write(this);
    this.view.setUint32(at, this.length - at - 4);
    return this;
  }

  /** The bytes written, as an exact-size array of its own; the writer's buffer is cleared. */
  finish(): Uint8Array {
    const out = this.buffer.slice(0, this.length);
    this.buffer.fill(0, 0, this.length);
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
