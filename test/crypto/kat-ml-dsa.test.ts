// Wycheproof ML-DSA-65 (FIPS 204, pure mode, with context strings) through mlDsa65.
// - verify: valid true, invalid false (modified signatures, bad hints, infinity-norm violations,
//   contexts over 255 bytes, wrong signature lengths); a public key of the wrong length throws
//   `invalid_length`, as SignatureScheme documents.
// - sign_seed: keygen from the 32-byte seed xi -> exact public key; the vector's signature verifies
//   under our verify with its context. The vectors sign deterministically (rnd = 0, or a given rnd);
//   node:crypto signs hedged and has no option for a caller's rnd, so our bytes differ by design and
//   our own signature is checked by verification instead.
// - sign_noseed: only an expanded private key is given; the project's API is seed-only, so these run
//   at the node:crypto level (PKCS#8 expandedKey import). "Internal" vectors give only mu (FIPS 204
//   external mu): node:crypto exposes no mu interface, so they are counted and not run.
import assert from "node:assert/strict";
import { createPublicKey, sign as nodeSign } from "node:crypto";
import { test } from "node:test";
import { mlDsa65 } from "../../src/crypto/index.ts";
import { NanoError } from "../../src/errors/index.ts";
import { importExpandedKey } from "../support/pkcs8-expanded.ts";
import { hexBytes, needVectors, VectorTally } from "../support/vectors.ts";
import {
  hasFlag,
  type MlDsaSignNoSeedGroup,
  type MlDsaSignSeedGroup,
  type MlDsaSignTest,
  type MlDsaVerifyGroup,
  type MlDsaVerifyTest,
  wycheproofCases,
} from "../support/wycheproof.ts";

const isInvalidLength = (error: unknown) => NanoError.is(error, "invalid_length");
const { seed: SEED, publicKey: PK } = mlDsa65.lengths;
const MAX_CONTEXT = 255;
const OTHER_CONTEXT = Uint8Array.of(0x6e, 0x61, 0x6e, 0x6f);

function contextOf(v: MlDsaSignTest | MlDsaVerifyTest): Uint8Array {
  return v.ctx === undefined ? new Uint8Array(0) : hexBytes(v.ctx);
}

test("Wycheproof ML-DSA-65 verify: valid true, invalid false, wrong key length typed", (t) => {
  const file = "mldsa_65_verify_test.json";
  if (!needVectors(t, `wycheproof/${file}`)) return;
  const tally = new VectorTally(file);
  for (const { group, test: v, name } of wycheproofCases<MlDsaVerifyTest, MlDsaVerifyGroup>(file)) {
    const pk = hexBytes(group.publicKey);
    const verify = () => mlDsa65.verify(pk, hexBytes(v.msg), hexBytes(v.sig), contextOf(v));
    if (pk.length !== PK) {
      assert.equal(v.result, "invalid", name);
      assert.throws(verify, isInvalidLength, name);
      tally.count("invalid-public-key-length");
      continue;
    }
    assert.equal(verify(), v.result === "valid", name);
    tally.count(`${v.result}${v.ctx !== undefined && v.ctx !== "" ? "-with-context" : ""}`);
  }
  tally.report(t);
  for (const outcome of ["valid", "valid-with-context", "invalid", "invalid-public-key-length"]) {
    assert.ok(tally.get(outcome) > 0, outcome);
  }
});

test("Wycheproof ML-DSA-65 sign from seed: exact public key, vector and own signatures verify", (t) => {
  const file = "mldsa_65_sign_seed_test.json";
  if (!needVectors(t, `wycheproof/${file}`)) return;
  const tally = new VectorTally(file);
  let ownBytesDiffer = 0;
  for (const { group, test: v, name } of wycheproofCases<MlDsaSignTest, MlDsaSignSeedGroup>(file)) {
    const seed = hexBytes(group.privateSeed);
    if (seed.length !== SEED) {
      assert.ok(v.result === "invalid" && hasFlag(v, "IncorrectPrivateKeyLength"), name);
      assert.throws(() => mlDsa65.publicKey(seed), isInvalidLength, name);
      assert.throws(() => mlDsa65.sign(seed, new Uint8Array(0), new Uint8Array(0)), isInvalidLength, name);
      tally.count("invalid-seed-length");
      continue;
    }
    assert.ok(group.publicKey !== null, name);
    const pk = hexBytes(group.publicKey);
    assert.deepEqual(mlDsa65.keygen(seed).publicKey, pk, `${name}: public key`);
    if (v.msg === undefined) {
      tally.count("internal-mu-only-not-exposed");
      continue;
    }
    const msg = hexBytes(v.msg);
    const ctx = contextOf(v);
    if (ctx.length > MAX_CONTEXT) {
      assert.equal(v.result, "invalid", name);
      assert.throws(() => mlDsa65.sign(seed, msg, ctx), RangeError, name);
      tally.count("invalid-context-too-long");
      continue;
    }
    assert.equal(v.result, "valid", name);
    const sig = hexBytes(v.sig);
    assert.equal(mlDsa65.verify(pk, msg, sig, ctx), true, `${name}: vector signature`);
    assert.equal(mlDsa65.verify(pk, msg, sig, ctx.length === 0 ? OTHER_CONTEXT : new Uint8Array(0)), false);
    const own = mlDsa65.sign(seed, msg, ctx);
    assert.equal(mlDsa65.verify(pk, msg, own, ctx), true, `${name}: own signature`);
    tally.count(hasFlag(v, "Randomized") ? "valid-randomized" : "valid-deterministic");
    if (Buffer.compare(own, sig) !== 0) ownBytesDiffer += 1;
  }
  tally.report(t);
  t.diagnostic(`node:crypto signs hedged: ${ownBytesDiffer} own signatures differ from the vector bytes`);
  for (const outcome of ["valid-deterministic", "invalid-seed-length", "invalid-context-too-long"]) {
    assert.ok(tally.get(outcome) > 0, outcome);
  }
});

test("Wycheproof ML-DSA-65 sign without seed (expanded keys), at the node:crypto level", (t) => {
  const file = "mldsa_65_sign_noseed_test.json";
  if (!needVectors(t, `wycheproof/${file}`)) return;
  const tally = new VectorTally(file);
  t.diagnostic("expanded sk imported as PKCS#8 expandedKey: Node 24 has no raw-private format for ML-DSA");
  for (const { group, test: v, name } of wycheproofCases<MlDsaSignTest, MlDsaSignNoSeedGroup>(file)) {
    const expanded = hexBytes(group.privateKey);
    if (hasFlag(v, "IncorrectPrivateKeyLength") || hasFlag(v, "InvalidPrivateKey")) {
      assert.equal(v.result, "invalid", name);
      assert.throws(() => importExpandedKey("ml-dsa-65", expanded), name);
      tally.count("invalid-key-refused-on-import");
      continue;
    }
    const key = importExpandedKey("ml-dsa-65", expanded);
    assert.ok(group.publicKey !== null, name);
    const pk = hexBytes(group.publicKey);
    assert.deepEqual(new Uint8Array(createPublicKey(key).export({ format: "raw-public" })), pk, name);
    if (v.msg === undefined) {
      tally.count("internal-mu-only-not-exposed");
      continue;
    }
    const msg = hexBytes(v.msg);
    const ctx = contextOf(v);
    if (ctx.length > MAX_CONTEXT) {
      assert.equal(v.result, "invalid", name);
      assert.throws(() => nodeSign(null, msg, { key, context: ctx }), name);
      tally.count("invalid-context-too-long");
      continue;
    }
    assert.equal(v.result, "valid", name);
    assert.equal(mlDsa65.verify(pk, msg, hexBytes(v.sig), ctx), true, `${name}: vector signature`);
    const own = new Uint8Array(nodeSign(null, msg, { key, context: ctx }));
    assert.equal(mlDsa65.verify(pk, msg, own, ctx), true, `${name}: node signature with expanded key`);
    tally.count("valid");
  }
  tally.report(t);
  for (const outcome of ["valid", "invalid-key-refused-on-import", "invalid-context-too-long"]) {
    assert.ok(tally.get(outcome) > 0, outcome);
  }
});
