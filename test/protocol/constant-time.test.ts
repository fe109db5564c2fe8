// The protocol's own byte comparisons (src/protocol/_constant-time.ts), which replaced node's
// timingSafeEqual and Buffer.compare so the protocol runs in the browser: same answers, every length.
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { compareBytes, constantTimeEqual } from "../../src/protocol/_constant-time.ts";

test("constantTimeEqual: equal bytes only; a difference anywhere or another length is false", () => {
  assert.equal(constantTimeEqual(new Uint8Array(0), new Uint8Array(0)), true);
  const a = Uint8Array.from({ length: 64 }, (_, i) => i);
  assert.equal(constantTimeEqual(a, a.slice()), true);
  for (const at of [0, 31, 63]) {
    const b = a.slice();
    b[at]! ^= 0x01;
    assert.equal(constantTimeEqual(a, b), false, `differs at ${at}`);
  }
  assert.equal(constantTimeEqual(a, a.subarray(0, 63)), false);
  assert.equal(constantTimeEqual(a.subarray(0, 63), a), false);
});

test("constantTimeEqual and compareBytes agree with Buffer on random inputs (property)", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 40 }), fc.uint8Array({ maxLength: 40 }), (x, y) => {
      assert.equal(constantTimeEqual(x, y), Buffer.from(x).equals(Buffer.from(y)));
      assert.equal(compareBytes(x, y), Buffer.compare(x, y));
      assert.equal(compareBytes(x, x.slice()), 0);
    }),
    { numRuns: 500 },
  );
});
