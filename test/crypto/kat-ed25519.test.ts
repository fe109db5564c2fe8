// Wycheproof Ed25519 verification (ed25519_test.json) through ed25519VerifyRaw: raw RFC 8032, no
// context framing (the framed `ed25519.verify` would change the signed bytes). Malleable (S >= L) and
// non-canonical encodings are "invalid" in the file and must verify false.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ed25519VerifyRaw } from "../../src/crypto/index.ts";
import { NanoError } from "../../src/errors/index.ts";
import { hexBytes, needVectors, VectorTally } from "../support/vectors.ts";
import { type EddsaGroup, type EddsaTest, wycheproofCases } from "../support/wycheproof.ts";

const FILE = "ed25519_test.json";

test("Wycheproof Ed25519: valid verifies, invalid does not", (t) => {
  if (!needVectors(t, `wycheproof/${FILE}`)) return;
  const tally = new VectorTally(FILE);
  for (const { group, test: v, name } of wycheproofCases<EddsaTest, EddsaGroup>(FILE)) {
    const ok = ed25519VerifyRaw(hexBytes(group.publicKey.pk), hexBytes(v.msg), hexBytes(v.sig));
    assert.notEqual(v.result, "acceptable", `${name}: no acceptable Ed25519 policy is defined`);
    assert.equal(ok, v.result === "valid", name);
    tally.count(v.result);
  }
  tally.report(t);
  assert.ok(tally.get("valid") > 0 && tally.get("invalid") > 0);
});

test("Ed25519 public key of the wrong length is invalid_length (as SignatureScheme documents)", (t) => {
  if (!needVectors(t, `wycheproof/${FILE}`)) return;
  const [first] = wycheproofCases<EddsaTest, EddsaGroup>(FILE);
  assert.ok(first);
  const pk = hexBytes(first.group.publicKey.pk);
  const msg = hexBytes(first.test.msg);
  const sig = hexBytes(first.test.sig);
  assert.equal(ed25519VerifyRaw(pk, msg, sig), true);
  for (const bad of [pk.subarray(0, 31), new Uint8Array([...pk, 0]), new Uint8Array(0)]) {
    assert.throws(
      () => ed25519VerifyRaw(bad, msg, sig),
      (error: unknown) => NanoError.is(error, "invalid_length"),
    );
  }
  // A signature of the wrong length is an invalid signature, not a usage error.
  assert.equal(ed25519VerifyRaw(pk, msg, sig.subarray(0, 63)), false);
  assert.equal(ed25519VerifyRaw(pk, msg, new Uint8Array([...sig, 0])), false);
});
