// Regression: Wycheproof's low-order X25519 vectors showed that OpenSSL refuses the all-zero output
// itself (ERR_OSSL_FAILED_DURING_DERIVATION), so `agree` leaked a raw Node error instead of the
// documented NanoError `low_order_point`. These points need no vector files, so this runs everywhere.
import assert from "node:assert/strict";
import { test } from "node:test";
import { fromHex, x25519, x25519Kem, xWing } from "../../src/crypto/index.ts";
import { NanoError } from "../../src/errors/index.ts";

/** u = 0, u = 1 and the order-8 point (RFC 7748 section 6.1 lists the points to refuse). */
const LOW_ORDER_POINTS = [
  "0000000000000000000000000000000000000000000000000000000000000000",
  "0100000000000000000000000000000000000000000000000000000000000000",
  "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
].map(fromHex);

test("x25519.agree refuses every low-order point with low_order_point", () => {
  const { seed } = x25519.keygen();
  for (const point of LOW_ORDER_POINTS) {
    assert.throws(
      () => x25519.agree(seed, point),
      (error: unknown) => NanoError.is(error, "low_order_point"),
    );
  }
});

test("X25519-KEM decapsulation of a low-order ephemeral key is low_order_point", () => {
  const { seed } = x25519Kem.keygen();
  for (const point of LOW_ORDER_POINTS) {
    assert.throws(
      () => x25519Kem.decapsulate(seed, point),
      (error: unknown) => NanoError.is(error, "low_order_point"),
    );
  }
});

test("X-Wing decapsulation of a low-order X25519 share returns a secret (no distinct error)", () => {
  const { seed, publicKey } = xWing.keygen();
  const { ciphertext, sharedSecret } = xWing.encapsulate(publicKey);
  for (const point of LOW_ORDER_POINTS) {
    const forged = ciphertext.slice();
    forged.set(point, forged.length - 32);
    const secret = xWing.decapsulate(seed, forged);
    assert.equal(secret.length, 32);
    assert.notDeepEqual(secret, sharedSecret);
  }
});

test("x25519.generateAndAgree equals keygen + agree, and refuses low-order points the same way", () => {
  const peer = x25519.keygen();
  const generateAndAgree = x25519.generateAndAgree!;
  for (let i = 0; i < 8; i++) {
    const { pair, sharedSecret } = generateAndAgree(peer.publicKey);
    assert.deepEqual(x25519.publicKey(pair.seed), pair.publicKey);
    assert.deepEqual(x25519.agree(pair.seed, peer.publicKey), sharedSecret);
    assert.deepEqual(x25519.agree(peer.seed, pair.publicKey), sharedSecret);
  }
  for (const point of LOW_ORDER_POINTS) {
    assert.throws(
      () => generateAndAgree(point),
      (error: unknown) => NanoError.is(error, "low_order_point"),
    );
  }
  assert.throws(
    () => generateAndAgree(new Uint8Array(31)),
    (error: unknown) => NanoError.is(error, "invalid_length"),
  );
});
