// X-Wing (draft-connolly-cfrg-xwing-kem, the text matching xwing/test-vectors.json; byte layout as in
// DESIGN.md "Standard constructions"). Key generation and decapsulation are checked against the
// vectors directly. Encapsulation needs ML-KEM's message m = eseed[0:32], which node:crypto cannot
// take, so it is checked through @noble/post-quantum's ml_kem768_x25519 (which accepts eseed): noble
// must reproduce the vector's ct and ss, and our decapsulation must match noble's ciphertexts (and
// noble's decapsulation ours).
import assert from "node:assert/strict";
import { test } from "node:test";
import { ml_kem768_x25519 as nobleXWing } from "@noble/post-quantum/hybrid.js";
import { mlKem768, randomBytes, sha3_256, shake256, x25519, xWing } from "../../src/crypto/index.ts";
import { NanoError } from "../../src/errors/index.ts";
import { hexBytes, loadVectors, needVectors, nonEmpty, VectorTally } from "../support/vectors.ts";

const FILE = "xwing/test-vectors.json";
const LABEL = Uint8Array.of(0x5c, 0x2e, 0x2f, 0x2f, 0x5e, 0x5c);

/** One entry of xwing/test-vectors.json (all hex). */
interface XWingVector {
  readonly seed: string;
  readonly sk: string;
  readonly pk: string;
  readonly eseed: string;
  readonly ct: string;
  readonly ss: string;
}

function vectors(): readonly XWingVector[] {
  return nonEmpty(loadVectors<XWingVector[]>(FILE), FILE);
}

test("X-Wing vectors: keygen from seed, decapsulation, and the draft's byte layout", (t) => {
  if (!needVectors(t, FILE)) return;
  const tally = new VectorTally(FILE);
  for (const [index, v] of vectors().entries()) {
    const name = `${FILE} #${index}`;
    const pair = xWing.keygen(hexBytes(v.seed));
    assert.deepEqual(pair.seed, hexBytes(v.sk), `${name}: sk`);
    assert.deepEqual(pair.publicKey, hexBytes(v.pk), `${name}: pk`);
    const ct = hexBytes(v.ct);
    assert.deepEqual(xWing.decapsulate(hexBytes(v.sk), ct), hexBytes(v.ss), `${name}: ss`);

    // The layout, rebuilt from the components: e = SHAKE256(sk, 96); pk = pk_M || pk_X;
    // ct = ct_M || ct_X with ct_X = X25519(eseed[32:64], base); ss = SHA3-256(ss_M||ss_X||ct_X||pk_X||label).
    const e = shake256(hexBytes(v.sk), 96);
    const pkX = x25519.publicKey(e.subarray(64, 96));
    assert.deepEqual(pair.publicKey, new Uint8Array([...mlKem768.publicKey(e.subarray(0, 64)), ...pkX]));
    const ctX = ct.subarray(1088);
    assert.deepEqual(ctX, x25519.publicKey(hexBytes(v.eseed).subarray(32, 64)), `${name}: ct_X`);
    const ssM = mlKem768.decapsulate(e.subarray(0, 64), ct.subarray(0, 1088));
    const ssX = x25519.agree(e.subarray(64, 96), ctX);
    assert.deepEqual(sha3_256(ssM, ssX, ctX, pkX, LABEL), hexBytes(v.ss), `${name}: combiner`);
    tally.count("valid");
  }
  tally.report(t);
});

test("X-Wing vectors: noble's derandomized encapsulation reproduces ct and ss", (t) => {
  if (!needVectors(t, FILE)) return;
  const tally = new VectorTally(`${FILE} (noble encapsulate)`);
  for (const [index, v] of vectors().entries()) {
    const { cipherText, sharedSecret } = nobleXWing.encapsulate(hexBytes(v.pk), hexBytes(v.eseed));
    assert.deepEqual(cipherText, hexBytes(v.ct), `#${index}: ct`);
    assert.deepEqual(sharedSecret, hexBytes(v.ss), `#${index}: ss`);
    assert.deepEqual(nobleXWing.keygen(hexBytes(v.seed)).publicKey, hexBytes(v.pk), `#${index}: noble pk`);
    tally.count("valid");
  }
  tally.report(t);
});

test("X-Wing interoperates with noble in both directions, for the vector keys and fresh ones", (t) => {
  if (!needVectors(t, FILE)) return;
  const keys = [...vectors().map((v) => hexBytes(v.sk)), randomBytes(32), randomBytes(32)];
  for (const sk of keys) {
    const pk = xWing.publicKey(sk);
    const fromNoble = nobleXWing.encapsulate(pk, randomBytes(64));
    assert.deepEqual(xWing.decapsulate(sk, fromNoble.cipherText), fromNoble.sharedSecret);
    const ours = xWing.encapsulate(pk);
    assert.deepEqual(nobleXWing.decapsulate(ours.ciphertext, sk), ours.sharedSecret);
  }
});

test("X-Wing refuses ciphertexts, keys and seeds of the wrong length with invalid_length", (t) => {
  if (!needVectors(t, FILE)) return;
  const [v] = vectors();
  assert.ok(v);
  const sk = hexBytes(v.sk);
  const ct = hexBytes(v.ct);
  const pk = hexBytes(v.pk);
  const isInvalidLength = (error: unknown) => NanoError.is(error, "invalid_length");
  assert.throws(() => xWing.decapsulate(sk, ct.subarray(0, 1119)), isInvalidLength);
  assert.throws(() => xWing.decapsulate(sk, new Uint8Array([...ct, 0])), isInvalidLength);
  assert.throws(() => xWing.decapsulate(sk.subarray(0, 31), ct), isInvalidLength);
  assert.throws(() => xWing.encapsulate(pk.subarray(0, 1215)), isInvalidLength);
  assert.throws(() => xWing.keygen(new Uint8Array(33)), isInvalidLength);
});
