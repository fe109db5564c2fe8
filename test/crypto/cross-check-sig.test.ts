import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ed25519 as nobleEd25519 } from "@noble/curves/ed25519.js";
import { sha512 as nobleSha512 } from "@noble/hashes/sha2.js";
import { ml_dsa65 as nobleMlDsa65 } from "@noble/post-quantum/ml-dsa.js";
import fc from "fast-check";
import {
  compositeMessageRepresentative,
  concatBytes,
  ed25519,
  ed25519SignRaw,
  ed25519VerifyRaw,
  mlDsa65,
  mlDsa65Ed25519,
  u8,
  utf8,
} from "../../src/crypto/index.ts";
import { bytesEqual } from "./_assert.ts";

/**
 * Signatures: src/crypto (node:crypto) against @noble, in both directions. ML-DSA signing is hedged in
 * OpenSSL, so ML-DSA signatures are compared by cross-verification; Ed25519 is deterministic, so its
 * signatures must be byte-identical. Runs per property (noble's ML-DSA-65 costs ~5-15 ms to sign):
 *   ML-DSA-65 200, Ed25519 400 + 300, composite 150.
 */

const bytes = (length: number) => fc.uint8Array({ minLength: length, maxLength: length });
const message = fc.uint8Array({ maxLength: 512 });
const context = fc.uint8Array({ maxLength: 255 });
const noHedge = { extraEntropy: false } as const;

function otherContext(ctx: Uint8Array): Uint8Array {
  return ctx.length === 0 ? u8(0) : ctx.subarray(1);
}

describe("ML-DSA-65: node:crypto and @noble/post-quantum agree", () => {
  test("same 32-byte seed, same public key; each verifies the other's signature under its context", () => {
    fc.assert(
      fc.property(bytes(32), message, context, (seed, msg, ctx) => {
        const noble = nobleMlDsa65.keygen(seed);
        bytesEqual(mlDsa65.publicKey(seed), noble.publicKey, "public key");

        const ours = mlDsa65.sign(seed, msg, ctx);
        assert.equal(ours.length, nobleMlDsa65.lengths.signature);
        assert.ok(nobleMlDsa65.verify(ours, msg, noble.publicKey, { context: ctx }), "noble verifies ours");
        const wrong = otherContext(ctx);
        assert.ok(!nobleMlDsa65.verify(ours, msg, noble.publicKey, { context: wrong }), "other context");

        const theirs = nobleMlDsa65.sign(msg, noble.secretKey, { context: ctx, ...noHedge });
        assert.ok(mlDsa65.verify(noble.publicKey, msg, theirs, ctx), "ours verifies noble's");
        assert.ok(!mlDsa65.verify(noble.publicKey, msg, theirs, wrong), "other context");
      }),
      { numRuns: 200 },
    );
  });
});

describe("Ed25519: node:crypto and @noble/curves agree", () => {
  test("raw signing: same seed, same public key, byte-identical deterministic signatures", () => {
    fc.assert(
      fc.property(bytes(32), message, (seed, msg) => {
        const publicKey = nobleEd25519.getPublicKey(seed);
        bytesEqual(ed25519.publicKey(seed), publicKey, "public key");
        const signature = nobleEd25519.sign(msg, seed);
        bytesEqual(ed25519SignRaw(seed, msg), signature, "signature");
        assert.ok(ed25519VerifyRaw(publicKey, msg, signature));
        assert.ok(nobleEd25519.verify(signature, msg, publicKey, { zip215: false }));
      }),
      { numRuns: 400 },
    );
  });

  test("with a context: ours signs len(ctx) || ctx || msg, which noble reproduces and verifies", () => {
    fc.assert(
      fc.property(bytes(32), message, context, (seed, msg, ctx) => {
        const framed = concatBytes(u8(ctx.length), ctx, msg);
        const signature = ed25519.sign(seed, msg, ctx);
        bytesEqual(signature, nobleEd25519.sign(framed, seed), "signature");
        const publicKey = nobleEd25519.getPublicKey(seed);
        assert.ok(nobleEd25519.verify(signature, framed, publicKey, { zip215: false }));
        assert.ok(ed25519.verify(publicKey, msg, signature, ctx));
        assert.ok(!ed25519.verify(publicKey, msg, signature, otherContext(ctx)), "other context");
      }),
      { numRuns: 300 },
    );
  });
});

describe("Ed25519: both refuse malleated signatures", () => {
  // S + L encodes the same scalar mod L; RFC 8032 section 5.1.7 requires S < L, so both must reject it.
  const L = 2n ** 252n + 27742317777372353535851937790883648493n;
  const toLittleEndian = (value: bigint) =>
    Uint8Array.from({ length: 32 }, (_, i) => Number((value >> BigInt(8 * i)) & 0xffn));
  const fromLittleEndian = (bytes: Uint8Array) =>
    bytes.reduceRight((acc, byte) => (acc << 8n) | BigInt(byte), 0n);

  test("S + L (when it fits in 32 bytes) is rejected by ours and by noble with zip215 off", () => {
    let checked = 0;
    fc.assert(
      fc.property(bytes(32), message, (seed, msg) => {
        const signature = ed25519SignRaw(seed, msg);
        const s = fromLittleEndian(signature.subarray(32));
        const publicKey = ed25519.publicKey(seed);
        if (s + L >= 2n ** 256n) return;
        checked++;
        const malleated = concatBytes(signature.subarray(0, 32), toLittleEndian(s + L));
        assert.equal(ed25519VerifyRaw(publicKey, msg, malleated), false);
        assert.equal(nobleEd25519.verify(malleated, msg, publicKey, { zip215: false }), false);
      }),
      { numRuns: 100 },
    );
    assert.ok(checked > 50, "most signatures leave room for S + L");
  });
});

describe("composite ML-DSA-65 + Ed25519: ours against a representative built from noble", () => {
  // DESIGN.md "Standard constructions": M' = Prefix || Label || len(ctx) || ctx || SHA-512(M); ML-DSA signs
  // M' with context = Label, Ed25519 signs M' (pure); signature = mldsaSig || edSig.
  const prefix = utf8("CompositeAlgorithmSignatures2025");
  const label = utf8("COMPSIG-MLDSA65-Ed25519-SHA512");
  const representative = (msg: Uint8Array, ctx: Uint8Array) =>
    concatBytes(prefix, label, u8(ctx.length), ctx, nobleSha512(msg));

  test("same seeds, same public key and M'; each verifies the other; the Ed25519 half is identical", () => {
    fc.assert(
      fc.property(bytes(32), bytes(32), message, context, (mlDsaSeed, edSeed, msg, ctx) => {
        const mlDsa = nobleMlDsa65.keygen(mlDsaSeed);
        const edPublic = nobleEd25519.getPublicKey(edSeed);
        const seed = concatBytes(mlDsaSeed, edSeed);
        const publicKey = concatBytes(mlDsa.publicKey, edPublic);
        bytesEqual(mlDsa65Ed25519.publicKey(seed), publicKey, "public key");
        const mPrime = representative(msg, ctx);
        bytesEqual(compositeMessageRepresentative(msg, ctx), mPrime, "M'");

        const ours = mlDsa65Ed25519.sign(seed, msg, ctx);
        assert.equal(ours.length, 3309 + 64);
        const oursMlDsa = ours.subarray(0, 3309);
        const oursEd = ours.subarray(3309);
        assert.ok(nobleMlDsa65.verify(oursMlDsa, mPrime, mlDsa.publicKey, { context: label }), "ML-DSA half");
        bytesEqual(oursEd, nobleEd25519.sign(mPrime, edSeed), "Ed25519 half");

        const theirs = concatBytes(
          nobleMlDsa65.sign(mPrime, mlDsa.secretKey, { context: label, ...noHedge }),
          nobleEd25519.sign(mPrime, edSeed),
        );
        assert.ok(mlDsa65Ed25519.verify(publicKey, msg, theirs, ctx), "ours verifies noble's");
        assert.ok(!mlDsa65Ed25519.verify(publicKey, msg, theirs, otherContext(ctx)), "other context");
      }),
      { numRuns: 150 },
    );
  });
});
