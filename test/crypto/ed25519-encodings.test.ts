// The shared Ed25519 encoding rule (src/crypto/ed25519-encodings.ts): its small-order list is exactly
// the eight torsion points, under either sign bit, and the canonical and S < L bounds sit where the
// field and group orders put them. The cross-runtime verdicts are test/crypto-provider/_ed25519-edges.ts.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ed25519 } from "@noble/curves/ed25519.js";
import { ed25519EncodingsAcceptable } from "../../src/crypto/ed25519-encodings.ts";

const { Point } = ed25519;
const ORDER_8 = Point.fromHex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a");
const honest = Point.BASE.multiply(31337n).toBytes();

function littleEndian(value: bigint): Uint8Array {
  const out = new Uint8Array(32);
  let rest = value;
  for (let i = 0; i < 32; i++) {
    out[i] = Number(rest & 0xffn);
    rest >>= 8n;
  }
  return out;
}

const signature = (r: Uint8Array, s: bigint): Uint8Array => {
  const out = new Uint8Array(64);
  out.set(r);
  out.set(littleEndian(s), 32);
  return out;
};

test("every point of small order is refused as A and as R, with either sign bit", () => {
  const seen = new Set<string>();
  for (let i = 0n; i < 8n; i++) {
    const point = i === 0n ? Point.ZERO : ORDER_8.multiply(i);
    assert.ok(point.isSmallOrder());
    for (const sign of [0, 0x80]) {
      const encoded = point.toBytes();
      encoded[31] = (encoded[31]! & 0x7f) | sign;
      seen.add(Buffer.from(encoded).toString("hex"));
      assert.equal(ed25519EncodingsAcceptable(encoded, signature(honest, 1n)), false, `A = ${i}*T8`);
      assert.equal(ed25519EncodingsAcceptable(honest, signature(encoded, 1n)), false, `R = ${i}*T8`);
    }
  }
  // Eight points, five y values (x and -x share one), two sign bits each.
  assert.equal(seen.size, 10);
  // A mixed-order point (a prime-order point plus torsion) is not small-order: the verifiers decide.
  const mixed = Point.fromBytes(honest).add(ORDER_8).toBytes();
  assert.equal(ed25519EncodingsAcceptable(mixed, signature(honest, 1n)), true);
  assert.equal(ed25519EncodingsAcceptable(honest, signature(mixed, 1n)), true);
});

test("y >= p is refused as A and as R; S must be below L", () => {
  const p = 2n ** 255n - 19n;
  const L = Point.Fn.ORDER;
  for (const y of [p, p + 2n, 2n ** 255n - 1n]) {
    assert.equal(ed25519EncodingsAcceptable(littleEndian(y), signature(honest, 1n)), false);
    assert.equal(ed25519EncodingsAcceptable(honest, signature(littleEndian(y), 1n)), false);
  }
  assert.equal(ed25519EncodingsAcceptable(honest, signature(honest, L - 1n)), true);
  assert.equal(ed25519EncodingsAcceptable(honest, signature(honest, L)), false);
  assert.equal(ed25519EncodingsAcceptable(honest, signature(honest, 2n ** 256n - 1n)), false);
  assert.equal(ed25519EncodingsAcceptable(honest.subarray(1), signature(honest, 1n)), false);
});
