// Wycheproof ML-KEM-768 (FIPS 203) through mlKem768, whose private key is the 64-byte seed d || z.
// - keygen_seed: seed -> exact encapsulation key; the expanded decapsulation key node derives from the
//   seed (read back from its PKCS#8 export) equals the vector's dk.
// - encaps: node:crypto cannot take FIPS 203's message m, so valid keys are checked by acceptance and
//   sizes, and @noble/post-quantum (which takes m) reproduces the vector's c and K; keys failing the
//   modulus check are `invalid_public_key`, keys of the wrong length `invalid_length`.
// - mlkem_768_test: decapsulation from the seed, including implicit rejection (a wrong ciphertext of
//   the right size yields the vector's pseudorandom K, never an error); malformed seeds and
//   ciphertexts are `invalid_length`.
// - semi_expanded_decaps: the project's API is seed-only by design (DESIGN.md: private keys are stored
//   as seeds), so these run at the node:crypto level, importing the expanded key as PKCS#8.
import assert from "node:assert/strict";
import { createPrivateKey, createPublicKey, decapsulate as nodeDecapsulate } from "node:crypto";
import { test } from "node:test";
import { ml_kem768 as nobleMlKem768 } from "@noble/post-quantum/ml-kem.js";
import { mlKem768 } from "../../src/crypto/index.ts";
import { NanoError } from "../../src/errors/index.ts";
import { exportExpandedKey, importExpandedKey } from "../support/pkcs8-expanded.ts";
import { hexBytes, needVectors, VectorTally } from "../support/vectors.ts";
import {
  hasFlag,
  type MlKemDecapsGroup,
  type MlKemDecapsTest,
  type MlKemEncapsGroup,
  type MlKemEncapsTest,
  type MlKemExpandedDecapsGroup,
  type MlKemExpandedDecapsTest,
  type MlKemKeygenGroup,
  type MlKemKeygenTest,
  wycheproofCases,
} from "../support/wycheproof.ts";

const isCode = (code: "invalid_length" | "invalid_public_key") => (error: unknown) =>
  NanoError.is(error, code);
const { seed: SEED, publicKey: EK, ciphertext: CT, sharedSecret: SS } = mlKem768.lengths;
const DK_LENGTH = 2400;

test("Wycheproof ML-KEM-768 keygen from seed: exact ek, and node's expanded dk", (t) => {
  const file = "mlkem_768_keygen_seed_test.json";
  if (!needVectors(t, `wycheproof/${file}`)) return;
  const tally = new VectorTally(file);
  for (const { group, test: v, name } of wycheproofCases<MlKemKeygenTest, MlKemKeygenGroup>(file)) {
    assert.equal(group.parameterSet, "ML-KEM-768", name);
    assert.equal(v.result, "valid", name);
    const seed = hexBytes(v.seed);
    assert.deepEqual(mlKem768.keygen(seed).publicKey, hexBytes(v.ek), name);
    const key = createPrivateKey({
      key: Buffer.from(seed),
      format: "raw-seed",
      asymmetricKeyType: "ml-kem-768",
    });
    assert.deepEqual(exportExpandedKey(key, SEED, DK_LENGTH), hexBytes(v.dk), `${name}: dk`);
    tally.count("valid-ek-and-dk");
  }
  tally.report(t);
});

test("Wycheproof ML-KEM-768 encapsulation: key checks, and noble reproduces c and K from m", (t) => {
  const file = "mlkem_768_encaps_test.json";
  if (!needVectors(t, `wycheproof/${file}`)) return;
  const tally = new VectorTally(file);
  for (const { test: v, name } of wycheproofCases<MlKemEncapsTest, MlKemEncapsGroup>(file)) {
    const ek = hexBytes(v.ek);
    if (v.result === "valid") {
      const ours = mlKem768.encapsulate(ek);
      assert.equal(ours.ciphertext.length, CT, name);
      assert.equal(ours.sharedSecret.length, SS, name);
      const noble = nobleMlKem768.encapsulate(ek, hexBytes(v.m));
      assert.deepEqual(noble.cipherText, hexBytes(v.c), `${name}: c`);
      assert.deepEqual(noble.sharedSecret, hexBytes(v.K), `${name}: K`);
      tally.count("valid");
    } else if (ek.length !== EK) {
      assert.throws(() => mlKem768.encapsulate(ek), isCode("invalid_length"), name);
      tally.count("invalid-length");
    } else {
      // Right length but rejected: every such vector is a modulus-check failure (ModulusOverflow, or
      // FIPS 203's "Public key not reduced").
      assert.ok(hasFlag(v, "ModulusOverflow") || /not reduced/.test(v.comment ?? ""), name);
      assert.throws(() => mlKem768.encapsulate(ek), isCode("invalid_public_key"), name);
      tally.count("invalid-modulus-check");
    }
  }
  tally.report(t);
  for (const outcome of ["valid", "invalid-length", "invalid-modulus-check"]) {
    assert.ok(tally.get(outcome) > 0, outcome);
  }
});

test("Wycheproof ML-KEM-768 decapsulation from seed, implicit rejection included", (t) => {
  const file = "mlkem_768_test.json";
  if (!needVectors(t, `wycheproof/${file}`)) return;
  const tally = new VectorTally(file);
  for (const { test: v, name } of wycheproofCases<MlKemDecapsTest, MlKemDecapsGroup>(file)) {
    const seed = hexBytes(v.seed);
    const ct = hexBytes(v.c);
    if (v.result === "valid") {
      assert.ok(v.ek !== undefined, name);
      assert.deepEqual(mlKem768.publicKey(seed), hexBytes(v.ek), `${name}: ek`);
      assert.deepEqual(mlKem768.decapsulate(seed, ct), hexBytes(v.K), `${name}: K`);
      const rejected = /Random ciphertext|Bit flipped|Strcmp/i.test(`${v.comment} ${v.flags?.join(" ")}`);
      tally.count(rejected ? "valid-implicit-rejection" : "valid");
    } else {
      assert.ok(seed.length !== SEED || ct.length !== CT, `${name}: an invalid case of the right sizes`);
      assert.throws(() => mlKem768.decapsulate(seed, ct), isCode("invalid_length"), name);
      tally.count(seed.length !== SEED ? "invalid-seed-length" : "invalid-ciphertext-length");
    }
  }
  tally.report(t);
  for (const outcome of [
    "valid",
    "valid-implicit-rejection",
    "invalid-seed-length",
    "invalid-ciphertext-length",
  ]) {
    assert.ok(tally.get(outcome) > 0, outcome);
  }
});

test("Wycheproof ML-KEM-768 semi-expanded decapsulation keys, at the node:crypto level", (t) => {
  const file = "mlkem_768_semi_expanded_decaps_test.json";
  if (!needVectors(t, `wycheproof/${file}`)) return;
  const tally = new VectorTally(file);
  t.diagnostic("expanded dk imported as PKCS#8 expandedKey: Node 24 has no raw-private format for ML-KEM");
  for (const { test: v, name } of wycheproofCases<MlKemExpandedDecapsTest, MlKemExpandedDecapsGroup>(file)) {
    const dk = hexBytes(v.dk);
    const ct = hexBytes(v.c);
    if (v.result === "valid") {
      const key = importExpandedKey("ml-kem-768", dk);
      assert.deepEqual(new Uint8Array(createPublicKey(key).export({ format: "raw-public" })), hexBytes(v.ek));
      assert.ok(v.K !== undefined, name);
      assert.deepEqual(new Uint8Array(nodeDecapsulate(key, ct)), hexBytes(v.K), name);
      tally.count("valid");
    } else if (hasFlag(v, "IncorrectCiphertextLength")) {
      const key = importExpandedKey("ml-kem-768", dk);
      assert.throws(() => nodeDecapsulate(key, ct), name);
      tally.count("invalid-ciphertext-length-refused");
    } else {
      // Wrong length, or a corrupted H(ek) / embedded ek: OpenSSL's import check refuses the key.
      assert.ok(hasFlag(v, "IncorrectDecapsulationKeyLength") || hasFlag(v, "InvalidDecapsulationKey"), name);
      assert.throws(() => importExpandedKey("ml-kem-768", dk), name);
      tally.count("invalid-key-refused-on-import");
    }
  }
  tally.report(t);
  assert.ok(tally.get("valid") > 0 && tally.get("invalid-key-refused-on-import") > 0);
});
