// Wycheproof X25519 (x25519_test.json) through x25519.agree.
// Policy for "acceptable" (docs/crypto.md): an all-zero shared secret — the vector flags it
// ZeroSharedSecret, from a LowOrderPublic point — is refused with NanoError `low_order_point`; every
// other acceptable case (twist points, non-canonical u >= p) is accepted with the vector's secret,
// as RFC 7748 prescribes (mask bit 255, reduce mod p).
import assert from "node:assert/strict";
import { test } from "node:test";
import { x25519 } from "../../src/crypto/index.ts";
import { NanoError } from "../../src/errors/index.ts";
import { hexBytes, needVectors, VectorTally } from "../support/vectors.ts";
import { hasFlag, wycheproofCases, type XdhGroup, type XdhTest } from "../support/wycheproof.ts";

test("Wycheproof X25519: valid exact, low-order refused, other acceptable accepted", (t) => {
  if (!needVectors(t, "wycheproof/x25519_test.json")) return;
  const tally = new VectorTally("x25519_test.json");
  for (const { group, test: v, name } of wycheproofCases<XdhTest, XdhGroup>("x25519_test.json")) {
    assert.equal(group.curve, "curve25519", name);
    const expected = hexBytes(v.shared);
    const zeroSecret = expected.every((byte) => byte === 0);
    // The flag and the bytes must agree, so the policy below keys on a fact, not on a label alone.
    assert.equal(hasFlag(v, "ZeroSharedSecret"), zeroSecret, `${name}: flag and shared secret disagree`);
    const agree = () => x25519.agree(hexBytes(v.private), hexBytes(v.public));

    if (v.result === "valid") {
      assert.deepEqual(agree(), expected, name);
      tally.count("valid");
    } else if (v.result === "acceptable" && hasFlag(v, "ZeroSharedSecret")) {
      assert.ok(hasFlag(v, "LowOrderPublic"), `${name}: zero secret without a low-order point`);
      assert.throws(agree, (error: unknown) => NanoError.is(error, "low_order_point"), name);
      tally.count("acceptable-low-order-refused");
    } else if (v.result === "acceptable") {
      assert.deepEqual(agree(), expected, name);
      tally.count(
        hasFlag(v, "NonCanonicalPublic") ? "acceptable-noncanonical-accepted" : "acceptable-other-accepted",
      );
    } else {
      // The file has no "invalid" X25519 computations today; if one appears it must be rejected.
      assert.throws(agree, name);
      tally.count("invalid-rejected");
    }
  }
  tally.report(t);
  assert.ok(tally.get("valid") > 0 && tally.get("acceptable-low-order-refused") > 0);
});

test("Wycheproof X25519 public keys of the wrong length are invalid_length", (t) => {
  if (!needVectors(t, "wycheproof/x25519_test.json")) return;
  const [first] = wycheproofCases<XdhTest, XdhGroup>("x25519_test.json");
  assert.ok(first);
  const seed = hexBytes(first.test.private);
  const publicKey = hexBytes(first.test.public);
  for (const bad of [publicKey.subarray(0, 31), new Uint8Array([...publicKey, 0]), new Uint8Array(0)]) {
    assert.throws(
      () => x25519.agree(seed, bad),
      (error: unknown) => NanoError.is(error, "invalid_length"),
    );
  }
});
