import assert from "node:assert/strict";
import { test } from "node:test";
import { isAllZero, publicRandomBytes, toHex } from "../../src/crypto/index.ts";

// publicRandomBytes serves public nonces from a pool (src/crypto/random.ts): every draw must be fresh
// (never a byte handed out twice, also across refills), of the asked length and its own array.

test("draws across many pool refills are all distinct and of the right length", () => {
  const seen = new Set<string>();
  // 12-byte draws, ~340 per 4 KiB pool: 3,000 draws cross the refill boundary several times.
  for (let i = 0; i < 3000; i++) {
    const nonce = publicRandomBytes(12);
    assert.equal(nonce.length, 12);
    assert.equal(nonce.byteOffset, 0);
    assert.equal(nonce.buffer.byteLength, 12, "its own buffer, not a view of the pool");
    assert.ok(!isAllZero(nonce));
    const hex = toHex(nonce);
    assert.ok(!seen.has(hex), "a nonce was handed out twice");
    seen.add(hex);
  }
});

test("odd sizes, zero and large lengths; invalid lengths are RangeErrors", () => {
  for (const length of [0, 1, 7, 13, 511, 512, 513, 5000]) {
    assert.equal(publicRandomBytes(length).length, length);
  }
  // Writing into a returned array never changes a later draw.
  const first = publicRandomBytes(16);
  first.fill(0);
  assert.ok(!isAllZero(publicRandomBytes(16)));
  for (const bad of [-1, 1.5, Number.NaN]) assert.throws(() => publicRandomBytes(bad), RangeError);
});
