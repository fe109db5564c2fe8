// Composite ML-DSA-65 + Ed25519 (draft-ietf-lamps-pq-composite-sigs, id-MLDSA65-Ed25519-SHA512)
// against composite-sigs/testvectors.json: keygen from the given private key (ML-DSA seed 32 ||
// Ed25519 private 32) -> exact public key; the given signatures verify (signing is randomized, so
// they are checked by verification); every tampering fails. The ML-DSA-65 entry of the same file is
// run too, as a second source for pure ML-DSA-65 with a context.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import {
  compositeMessageRepresentative,
  ed25519VerifyRaw,
  mlDsa65,
  mlDsa65Ed25519,
  utf8,
} from "../../src/crypto/index.ts";
import { NanoError } from "../../src/errors/index.ts";
import { base64Bytes, loadVectors, needVectors, nonEmpty, VectorTally } from "../support/vectors.ts";

const FILE = "composite-sigs/testvectors.json";
const COMPOSITE_ID = "id-MLDSA65-Ed25519-SHA512";
const ML_DSA_ID = "id-ML-DSA-65";
const { publicKey: PK_M, signature: SIG_M } = mlDsa65.lengths;

/** composite-sigs/testvectors.json: message and context at the top level, base64 everywhere. */
interface CompositeFile {
  readonly m: string;
  readonly ctx: string;
  readonly tests: readonly CompositeEntry[];
}
interface CompositeEntry {
  /** A string id in this snapshot; other snapshots number the entries and carry a separate name. */
  readonly tcId: string | number;
  readonly name?: string;
  readonly pk: string;
  readonly sk: string;
  readonly s: string;
  readonly sWithContext: string;
}

interface Loaded {
  readonly m: Uint8Array;
  readonly ctx: Uint8Array;
  readonly pk: Uint8Array;
  readonly sk: Uint8Array;
  readonly s: Uint8Array;
  readonly sWithContext: Uint8Array;
}

function entry(id: string): Loaded {
  const file = loadVectors<CompositeFile>(FILE);
  const found = nonEmpty(file.tests, FILE).find((e) => e.tcId === id || e.name === id);
  if (found === undefined) throw new Error(`${FILE}: no entry ${id}: zero test cases loaded`);
  return {
    m: base64Bytes(file.m),
    ctx: base64Bytes(file.ctx),
    pk: base64Bytes(found.pk),
    sk: base64Bytes(found.sk),
    s: base64Bytes(found.s),
    sWithContext: base64Bytes(found.sWithContext),
  };
}

function flipped(bytes: Uint8Array, index: number): Uint8Array {
  const copy = bytes.slice();
  copy[index] = (copy[index] ?? 0) ^ 0x01;
  return copy;
}

test("composite vector: keygen from sk gives the exact public key", (t) => {
  if (!needVectors(t, FILE)) return;
  const v = entry(COMPOSITE_ID);
  assert.equal(v.sk.length, mlDsa65Ed25519.lengths.seed);
  assert.deepEqual(mlDsa65Ed25519.keygen(v.sk).publicKey, v.pk);
});

test("composite vector: s verifies with empty ctx, sWithContext with ctx, and each only so", (t) => {
  if (!needVectors(t, FILE)) return;
  const v = entry(COMPOSITE_ID);
  const empty = new Uint8Array(0);
  assert.ok(v.m.length > 0 && v.ctx.length > 0);
  assert.equal(mlDsa65Ed25519.verify(v.pk, v.m, v.s, empty), true);
  assert.equal(mlDsa65Ed25519.verify(v.pk, v.m, v.sWithContext, v.ctx), true);
  assert.equal(mlDsa65Ed25519.verify(v.pk, v.m, v.s, v.ctx), false);
  assert.equal(mlDsa65Ed25519.verify(v.pk, v.m, v.sWithContext, empty), false);
});

test("composite vector: M' and the two components verify separately as the draft defines", (t) => {
  if (!needVectors(t, FILE)) return;
  const v = entry(COMPOSITE_ID);
  const label = utf8("COMPSIG-MLDSA65-Ed25519-SHA512");
  const representative = new Uint8Array([
    ...utf8("CompositeAlgorithmSignatures2025"),
    ...label,
    v.ctx.length,
    ...v.ctx,
    ...createHash("sha512").update(v.m).digest(),
  ]);
  assert.deepEqual(compositeMessageRepresentative(v.m, v.ctx), representative);
  const sigM = v.sWithContext.subarray(0, SIG_M);
  const sigE = v.sWithContext.subarray(SIG_M);
  // ML-DSA takes the composite Label as its FIPS 204 context; Ed25519 is pure over M'.
  assert.equal(mlDsa65.verify(v.pk.subarray(0, PK_M), representative, sigM, label), true);
  assert.equal(ed25519VerifyRaw(v.pk.subarray(PK_M), representative, sigE), true);
  assert.equal(mlDsa65.verify(v.pk.subarray(0, PK_M), representative, sigM, new Uint8Array(0)), false);
});

test("composite vector: every tampering fails", (t) => {
  if (!needVectors(t, FILE)) return;
  const v = entry(COMPOSITE_ID);
  const tally = new VectorTally(`${FILE} ${COMPOSITE_ID} tamperings`);
  const empty = new Uint8Array(0);
  for (const [signature, ctx] of [
    [v.s, empty],
    [v.sWithContext, v.ctx],
  ] as const) {
    const swapped = new Uint8Array([...signature.subarray(SIG_M), ...signature.subarray(0, SIG_M)]);
    const cases: readonly [string, Uint8Array, Uint8Array, Uint8Array][] = [
      ["flip-ml-dsa-first", flipped(signature, 0), v.m, ctx],
      ["flip-ml-dsa-last", flipped(signature, SIG_M - 1), v.m, ctx],
      ["flip-ed25519-first", flipped(signature, SIG_M), v.m, ctx],
      ["flip-ed25519-last", flipped(signature, signature.length - 1), v.m, ctx],
      ["swapped-halves", swapped, v.m, ctx],
      ["truncated", signature.subarray(0, signature.length - 1), v.m, ctx],
      ["extended", new Uint8Array([...signature, 0]), v.m, ctx],
      ["ml-dsa-half-only", signature.subarray(0, SIG_M), v.m, ctx],
      ["empty", empty, v.m, ctx],
      ["wrong-message", signature, flipped(v.m, 0), ctx],
      ["wrong-context", signature, v.m, ctx.length === 0 ? Uint8Array.of(0) : flipped(ctx, 0)],
    ];
    for (const [what, sig, message, context] of cases) {
      assert.equal(mlDsa65Ed25519.verify(v.pk, message, sig, context), false, what);
      tally.count(what);
    }
  }
  tally.report(t);
});

test("composite: our signatures under the vector key verify; bad key length is invalid_length", (t) => {
  if (!needVectors(t, FILE)) return;
  const v = entry(COMPOSITE_ID);
  for (const ctx of [new Uint8Array(0), v.ctx]) {
    const sig = mlDsa65Ed25519.sign(v.sk, v.m, ctx);
    assert.equal(sig.length, mlDsa65Ed25519.lengths.signature);
    assert.equal(mlDsa65Ed25519.verify(v.pk, v.m, sig, ctx), true);
  }
  assert.throws(
    () => mlDsa65Ed25519.verify(v.pk.subarray(1), v.m, v.s, new Uint8Array(0)),
    (error: unknown) => NanoError.is(error, "invalid_length"),
  );
  assert.throws(
    () => mlDsa65Ed25519.keygen(v.sk.subarray(0, 63)),
    (error: unknown) => NanoError.is(error, "invalid_length"),
  );
});

test("composite file's pure ML-DSA-65 entry: keygen from seed and both signatures", (t) => {
  if (!needVectors(t, FILE)) return;
  const v = entry(ML_DSA_ID);
  assert.deepEqual(mlDsa65.keygen(v.sk).publicKey, v.pk);
  assert.equal(mlDsa65.verify(v.pk, v.m, v.s, new Uint8Array(0)), true);
  assert.equal(mlDsa65.verify(v.pk, v.m, v.sWithContext, v.ctx), true);
  assert.equal(mlDsa65.verify(v.pk, v.m, v.sWithContext, new Uint8Array(0)), false);
});
