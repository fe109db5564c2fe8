import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { chacha20poly1305 as nobleChaCha } from "@noble/ciphers/chacha.js";
import { blake2b as nobleBlake2b } from "@noble/hashes/blake2.js";
import { hkdf as nobleHkdf } from "@noble/hashes/hkdf.js";
import { sha512 as nobleSha512 } from "@noble/hashes/sha2.js";
import { sha3_256 as nobleSha3_256, shake256 as nobleShake256 } from "@noble/hashes/sha3.js";
import fc from "fast-check";
import { aeadOpen, aeadSeal, blake2b, hkdf, sha3_256, sha512, shake256 } from "../../src/crypto/index.ts";
import { bytesEqual } from "./_assert.ts";

/**
 * Symmetric primitives: src/crypto (node:crypto) against @noble/ciphers and @noble/hashes. All cheap:
 * 500 runs per property, inputs up to 4 KiB (plus the block-boundary sizes that break buffering bugs).
 */

const bytes = (length: number) => fc.uint8Array({ minLength: length, maxLength: length });
/** Lengths around the ChaCha20 (64 B) and BLAKE2b (128 B) block sizes, and larger random ones. */
const data = fc.oneof(
  fc.uint8Array({ maxLength: 300 }),
  fc.constantFrom(63, 64, 65, 127, 128, 129, 255, 256, 257).chain((n) => bytes(n)),
  fc.uint8Array({ maxLength: 4096 }),
);

describe("ChaCha20-Poly1305: node:crypto and @noble/ciphers agree", () => {
  test("identical ciphertext || tag; each opens the other's", () => {
    fc.assert(
      fc.property(
        bytes(32),
        bytes(12),
        data,
        fc.uint8Array({ maxLength: 300 }),
        (key, nonce, plaintext, ad) => {
          const ours = aeadSeal(key, nonce, plaintext, ad);
          const theirs = nobleChaCha(key, nonce, ad).encrypt(plaintext);
          bytesEqual(ours, theirs);
          bytesEqual(nobleChaCha(key, nonce, ad).decrypt(ours), plaintext, "noble opens ours");
          bytesEqual(aeadOpen(key, nonce, theirs, ad), plaintext, "ours opens noble's");
        },
      ),
      { numRuns: 500 },
    );
  });

  test("a tampered ciphertext is refused by both", () => {
    fc.assert(
      fc.property(
        bytes(32),
        bytes(12),
        fc.uint8Array({ maxLength: 100 }),
        fc.nat(),
        (key, nonce, plaintext, at) => {
          const sealed = aeadSeal(key, nonce, plaintext, new Uint8Array(0));
          sealed[at % sealed.length]! ^= 0x80;
          assert.throws(() => aeadOpen(key, nonce, sealed, new Uint8Array(0)));
          assert.throws(() => nobleChaCha(key, nonce).decrypt(sealed));
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe("hashes: node:crypto and @noble/hashes agree", () => {
  test("BLAKE2b-512, including input split across several parts", () => {
    fc.assert(
      fc.property(data, fc.uint8Array({ maxLength: 200 }), (a, b) => {
        const expected = nobleBlake2b(new Uint8Array([...a, ...b]));
        bytesEqual(blake2b(a, b), expected);
        bytesEqual(blake2b(new Uint8Array([...a, ...b])), expected);
      }),
      { numRuns: 500 },
    );
  });

  test("SHA3-256, SHAKE256 (any output length) and SHA-512 used by X-Wing and the composite", () => {
    fc.assert(
      fc.property(data, fc.nat({ max: 300 }), (input, length) => {
        bytesEqual(sha3_256(input), nobleSha3_256(input), "sha3-256");
        bytesEqual(shake256(input, length), nobleShake256(input, { dkLen: length }), "shake256");
        bytesEqual(sha512(input), nobleSha512(input), "sha512");
      }),
      { numRuns: 300 },
    );
  });
});

describe("HKDF over HMAC-BLAKE2b-512: node:crypto and @noble/hashes agree", () => {
  test("random ikm, salt, info and output lengths up to several blocks", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 200 }),
        fc.uint8Array({ maxLength: 200 }),
        fc.uint8Array({ maxLength: 1024 }),
        fc.oneof(fc.integer({ min: 1, max: 300 }), fc.constantFrom(64, 65, 128, 255 * 64)),
        (ikm, salt, info, length) => {
          bytesEqual(hkdf(ikm, salt, info, length), nobleHkdf(nobleBlake2b, ikm, salt, info, length));
        },
      ),
      { numRuns: 500 },
    );
  });
});
