import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { Reader, Writer } from "../../src/protocol/_codec.ts";

// The Writer writes into one growing buffer (src/protocol/_codec.ts). These tests pin its output to a
// straightforward reference over random field sequences, across every growth boundary.

type Field =
  | { kind: "u8"; value: number }
  | { kind: "u16"; value: number }
  | { kind: "u32"; value: number }
  | { kind: "u64"; value: number }
  | { kind: "u64big"; value: bigint }
  | { kind: "bytes"; value: Uint8Array }
  | { kind: "vec32"; value: Uint8Array };

const field: fc.Arbitrary<Field> = fc.oneof(
  fc.integer({ min: 0, max: 0xff }).map((value) => ({ kind: "u8" as const, value })),
  fc.integer({ min: 0, max: 0xffff }).map((value) => ({ kind: "u16" as const, value })),
  fc.integer({ min: 0, max: 0xffffffff }).map((value) => ({ kind: "u32" as const, value })),
  fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }).map((value) => ({ kind: "u64" as const, value })),
  fc.bigInt({ min: 0n, max: 0xffffffffffffffffn }).map((value) => ({ kind: "u64big" as const, value })),
  fc.uint8Array({ maxLength: 700 }).map((value) => ({ kind: "bytes" as const, value })),
  fc.uint8Array({ maxLength: 300 }).map((value) => ({ kind: "vec32" as const, value })),
);

function reference(fields: readonly Field[]): Uint8Array {
  const out: number[] = [];
  const be = (value: bigint, size: number) => {
    for (let i = size - 1; i >= 0; i--) out.push(Number((value >> BigInt(8 * i)) & 0xffn));
  };
  for (const f of fields) {
    if (f.kind === "u8") be(BigInt(f.value), 1);
    else if (f.kind === "u16") be(BigInt(f.value), 2);
    else if (f.kind === "u32") be(BigInt(f.value), 4);
    else if (f.kind === "u64") be(BigInt(f.value), 8);
    else if (f.kind === "u64big") be(f.value, 8);
    else if (f.kind === "bytes") out.push(...f.value);
    else {
      be(BigInt(f.value.length), 4);
      out.push(...f.value);
    }
  }
  return Uint8Array.from(out);
}

function write(writer: Writer, fields: readonly Field[]): Writer {
  for (const f of fields) {
    if (f.kind === "u8") writer.u8(f.value);
    else if (f.kind === "u16") writer.u16(f.value);
    else if (f.kind === "u32") writer.u32(f.value);
    else if (f.kind === "u64" || f.kind === "u64big") writer.u64(f.value);
    else if (f.kind === "bytes") writer.bytes(f.value);
    else writer.vec32(f.value);
  }
  return writer;
}

test("Writer output equals a byte-by-byte reference for any field sequence and capacity", () => {
  fc.assert(
    fc.property(fc.array(field, { maxLength: 40 }), fc.integer({ min: 0, max: 600 }), (fields, capacity) => {
      const expected = reference(fields);
      assert.deepEqual(write(new Writer(capacity), fields).finish(), expected);
      assert.deepEqual(write(new Writer(), fields).finish(), expected);
    }),
    { numRuns: 300 },
  );
});

test("vec32With frames a nested structure exactly like vec32 of its encoding", () => {
  fc.assert(
    fc.property(fc.array(field, { maxLength: 20 }), fc.array(field, { maxLength: 20 }), (outer, inner) => {
      const nested = write(new Writer(), inner).finish();
      const a = write(new Writer(16), outer)
        .vec32With((w) => write(w, inner))
        .u8(7)
        .finish();
      const b = write(new Writer(), outer).vec32(nested).u8(7).finish();
      assert.deepEqual(a, b);
      const reader = new Reader(a);
      reader.offset = reference(outer).length;
      assert.deepEqual(reader.vec32("nested", 1 << 20), nested);
    }),
    { numRuns: 200 },
  );
});

test("a part changed after bytes() does not change the output (it is copied at once)", () => {
  const part = Uint8Array.of(1, 2, 3, 4);
  const writer = new Writer(4).bytes(part);
  part.fill(0);
  writer.u8(9);
  assert.deepEqual(writer.finish(), Uint8Array.of(1, 2, 3, 4, 9));
});

test("out-of-range integers are RangeErrors and write nothing", () => {
  const writer = new Writer().u8(1);
  assert.throws(() => writer.u8(256), RangeError);
  assert.throws(() => writer.u16(-1), RangeError);
  assert.throws(() => writer.u32(2 ** 32), RangeError);
  assert.throws(() => writer.u32(1.5), RangeError);
  assert.throws(() => writer.u64(-1), RangeError);
  assert.throws(() => writer.u64(1.5), RangeError);
  assert.throws(() => writer.u64(2n ** 64n), RangeError);
  assert.throws(() => writer.u64(-1n), RangeError);
  // Exact numbers above 2^53 still take the BigInt path.
  writer.u64(2 ** 60);
  assert.deepEqual(writer.finish(), Uint8Array.of(1, 0x10, 0, 0, 0, 0, 0, 0, 0));
});

test("zeros(n) writes exactly n zero bytes, across growth", () => {
  for (const [capacity, n] of [
    [16, 0],
    [16, 5],
    [16, 1088],
    [2048, 1184],
  ] as const) {
    const a = new Writer(capacity).u8(0xaa).zeros(n).u8(0xbb).finish();
    const b = new Writer().u8(0xaa).bytes(new Uint8Array(n)).u8(0xbb).finish();
    assert.deepEqual(a, b);
  }
});
