import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { x25519 as nobleX25519 } from "@noble/curves/ed25519.js";
import { blake2b as nobleBlake2b } from "@noble/hashes/blake2.js";
import { hkdf as nobleHkdf } from "@noble/hashes/hkdf.js";
import { ml_kem768_x25519 as nobleXWing } from "@noble/post-quantum/hybrid.js";
import { ml_kem768 as nobleMlKem768 } from "@noble/post-quantum/ml-kem.js";
import fc from "fast-check";
import { concatBytes, mlKem768, utf8, x25519, x25519Kem, xWing } from "../../src/crypto/index.ts";
import { bytesEqual } from "./_assert.ts";

/**
 * Key agreement and KEMs: src/crypto (node:crypto / OpenSSL 3.5) against @noble, byte for byte.
 * Two independent implementations that agree on hundreds of random seeds catch what one set of vectors
 * misses (seed layout, byte order, combiner input order). Runs per property, chosen so the file stays
 * under ~20 s on a loaded 2-core machine (noble's ML-KEM costs ~1-2 ms per operation):
 *   ML-KEM-768 300, X-Wing 200, X25519 500, X25519-KEM 300.
 */

const bytes = (length: number) => fc.uint8Array({ minLength: length, maxLength: length });

describe("ML-KEM-768: node:crypto and @noble/post-quantum agree", () => {
  test("the same 64-byte seed (d || z) gives the same encapsulation key; secrets cross both ways", () => {
    fc.assert(
      fc.property(bytes(64), bytes(32), (seed, m) => {
        const noble = nobleMlKem768.keygen(seed);
        bytesEqual(mlKem768.publicKey(seed), noble.publicKey, "public key");

        // ours encapsulates, noble decapsulates
        const ours = mlKem768.encapsulate(noble.publicKey);
        assert.equal(ours.ciphertext.length, nobleMlKem768.lengths.cipherText);
        bytesEqual(
          nobleMlKem768.decapsulate(ours.ciphertext, noble.secretKey),
          ours.sharedSecret,
          "noble decaps",
        );

        // noble encapsulates (with explicit randomness m), ours decapsulates from the seed
        const theirs = nobleMlKem768.encapsulate(noble.publicKey, m);
        bytesEqual(mlKem768.decapsulate(seed, theirs.cipherText), theirs.sharedSecret, "ours decaps");
      }),
      { numRuns: 300 },
    );
  });

  test("implicit rejection: a changed ciphertext yields the same pseudorandom secret in both", () => {
    fc.assert(
      fc.property(bytes(64), bytes(32), fc.nat({ max: 1088 * 8 - 1 }), (seed, m, bit) => {
        const noble = nobleMlKem768.keygen(seed);
        const { cipherText } = nobleMlKem768.encapsulate(noble.publicKey, m);
        const changed = cipherText.slice();
        changed[bit >> 3]! ^= 1 << (bit & 7);
        bytesEqual(mlKem768.decapsulate(seed, changed), nobleMlKem768.decapsulate(changed, noble.secretKey));
      }),
      { numRuns: 100 },
    );
  });
});

describe("X-Wing: ours against noble's ml_kem768_x25519 (draft-connolly-cfrg-xwing-kem)", () => {
  test("the same 32-byte seed gives the same 1216-byte public key; secrets cross both ways", () => {
    fc.assert(
      fc.property(bytes(32), bytes(64), (seed, eseed) => {
        const noble = nobleXWing.keygen(seed);
        bytesEqual(xWing.publicKey(seed), noble.publicKey, "public key");

        const ours = xWing.encapsulate(noble.publicKey);
        assert.equal(ours.ciphertext.length, 1120);
        bytesEqual(
          nobleXWing.decapsulate(ours.ciphertext, noble.secretKey),
          ours.sharedSecret,
          "noble decaps",
        );

        // Derandomized encapsulation: eseed[0:32] is ML-KEM's m, eseed[32:64] the X25519 ephemeral.
        const theirs = nobleXWing.encapsulate(noble.publicKey, eseed);
        bytesEqual(theirs.cipherText.subarray(1088), x25519.publicKey(eseed.subarray(32)), "ct_X layout");
        bytesEqual(xWing.decapsulate(seed, theirs.cipherText), theirs.sharedSecret, "ours decaps");
      }),
      { numRuns: 200 },
    );
  });
});

describe("X25519: node:crypto and @noble/curves agree", () => {
  test("the same private key gives the same public key and both sides the same secret", () => {
    fc.assert(
      fc.property(bytes(32), bytes(32), (a, b) => {
        const publicA = nobleX25519.getPublicKey(a);
        const publicB = nobleX25519.getPublicKey(b);
        bytesEqual(x25519.publicKey(a), publicA, "public key");
        const shared = nobleX25519.getSharedSecret(a, publicB);
        bytesEqual(x25519.agree(a, publicB), shared, "ours vs noble");
        bytesEqual(x25519.agree(b, publicA), shared, "the other side");
      }),
      { numRuns: 500 },
    );
  });

  test("arbitrary 32-byte peer keys (non-canonical high bit included) give the same secret", () => {
    fc.assert(
      fc.property(bytes(32), bytes(32), (seed, peer) => {
        bytesEqual(x25519.agree(seed, peer), nobleX25519.getSharedSecret(seed, peer));
      }),
      { numRuns: 300 },
    );
  });
});

describe("X25519: both refuse the all-zero shared secret", () => {
  // RFC 7748 section 6.1: the low-order u-coordinates (and their non-canonical encodings).
  const lowOrder = [
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0100000000000000000000000000000000000000000000000000000000000000",
    "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
    "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  ].map((hex) => Uint8Array.from(Buffer.from(hex, "hex")));

  test("every low-order point is refused by ours (low_order_point) and by noble", () => {
    fc.assert(
      fc.property(bytes(32), fc.constantFrom(...lowOrder), (seed, point) => {
        assert.throws(() => x25519.agree(seed, point), { code: "low_order_point" });
        assert.throws(() => nobleX25519.getSharedSecret(seed, point));
      }),
      { numRuns: 50 },
    );
  });
});

describe("X25519-KEM: ours against the same DHKEM shape built from noble", () => {
  // ss = HKDF-BLAKE2b(ikm = dh, salt = empty, info = label || ct || pk_R, 32): see src/crypto/x25519-kem.ts.
  const label = utf8("nano/v1/x25519-kem");
  function nobleDerive(dh: Uint8Array, ciphertext: Uint8Array, recipient: Uint8Array): Uint8Array {
    return nobleHkdf(nobleBlake2b, dh, new Uint8Array(0), concatBytes(label, ciphertext, recipient), 32);
  }

  test("encapsulation by ours is decapsulated by the noble construction and the reverse", () => {
    fc.assert(
      fc.property(bytes(32), bytes(32), (seed, ephemeral) => {
        const recipient = nobleX25519.getPublicKey(seed);
        bytesEqual(x25519Kem.publicKey(seed), recipient, "public key");

        const ours = x25519Kem.encapsulate(recipient);
        const dh = nobleX25519.getSharedSecret(seed, ours.ciphertext);
        bytesEqual(nobleDerive(dh, ours.ciphertext, recipient), ours.sharedSecret, "noble decaps");

        const ciphertext = nobleX25519.getPublicKey(ephemeral);
        const secret = nobleDerive(nobleX25519.getSharedSecret(ephemeral, recipient), ciphertext, recipient);
        bytesEqual(x25519Kem.decapsulate(seed, ciphertext), secret, "ours decaps");
      }),
      { numRuns: 300 },
    );
  });
});
