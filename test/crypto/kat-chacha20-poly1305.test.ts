// Wycheproof ChaCha20-Poly1305 (chacha20_poly1305_test.json) through aeadSeal (and aeadSealAfterNonce,
// the same with the nonce in front) / aeadOpen. Only the
// RFC 8439 shape exists in the project (32-byte key, 12-byte nonce, 16-byte tag); vectors with other
// nonce or key sizes must be refused with `invalid_length` by both functions, and are counted apart.
import assert from "node:assert/strict";
import { test } from "node:test";
import { aeadOpen, aeadSeal, aeadSealAfterNonce, concatBytes } from "../../src/crypto/index.ts";
import { NanoError } from "../../src/errors/index.ts";
import { hexBytes, needVectors, VectorTally } from "../support/vectors.ts";
import { type AeadGroup, type AeadTest, wycheproofCases } from "../support/wycheproof.ts";

const FILE = "chacha20_poly1305_test.json";
const isCode = (code: "invalid_length" | "decryption_failed") => (error: unknown) =>
  NanoError.is(error, code);

test("Wycheproof ChaCha20-Poly1305: exact seal, open, tamper and size rejection", (t) => {
  if (!needVectors(t, `wycheproof/${FILE}`)) return;
  const tally = new VectorTally(FILE);
  for (const { group, test: v, name } of wycheproofCases<AeadTest, AeadGroup>(FILE)) {
    const key = hexBytes(v.key);
    const nonce = hexBytes(v.iv);
    const aad = hexBytes(v.aad);
    const msg = hexBytes(v.msg);
    const sealed = concatBytes(hexBytes(v.ct), hexBytes(v.tag));
    assert.equal(group.tagSize, 128, name);

    if (key.length !== 32 || nonce.length !== 12) {
      assert.equal(v.result, "invalid", `${name}: a non-RFC 8439 size marked valid`);
      assert.throws(() => aeadSeal(key, nonce, msg, aad), isCode("invalid_length"), name);
      assert.throws(() => aeadSealAfterNonce(key, nonce, msg, aad), isCode("invalid_length"), name);
      assert.throws(() => aeadOpen(key, nonce, sealed, aad), isCode("invalid_length"), name);
      tally.count("other-size-invalid_length");
    } else if (v.result === "valid") {
      assert.deepEqual(aeadSeal(key, nonce, msg, aad), sealed, name);
      assert.deepEqual(aeadSealAfterNonce(key, nonce, msg, aad), concatBytes(nonce, sealed), name);
      assert.deepEqual(aeadOpen(key, nonce, sealed, aad), msg, name);
      tally.count("valid");
    } else {
      assert.equal(v.result, "invalid", name);
      assert.throws(() => aeadOpen(key, nonce, sealed, aad), isCode("decryption_failed"), name);
      tally.count("invalid-decryption_failed");
    }
  }
  tally.report(t);
  for (const outcome of ["valid", "invalid-decryption_failed", "other-size-invalid_length"]) {
    assert.ok(tally.get(outcome) > 0, outcome);
  }
});

test("ChaCha20-Poly1305 input shorter than the tag is decryption_failed", (t) => {
  if (!needVectors(t, `wycheproof/${FILE}`)) return;
  const [first] = wycheproofCases<AeadTest, AeadGroup>(FILE);
  assert.ok(first);
  const key = hexBytes(first.test.key);
  const nonce = hexBytes(first.test.iv);
  const tag = hexBytes(first.test.tag);
  for (const length of [0, 1, 15]) {
    assert.throws(
      () => aeadOpen(key, nonce, tag.subarray(0, length), hexBytes(first.test.aad)),
      isCode("decryption_failed"),
    );
  }
});
