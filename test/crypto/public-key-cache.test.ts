import assert from "node:assert/strict";
import { test } from "node:test";
import {
  clearPublicKeyCache,
  exportRawPublic,
  PUBLIC_KEY_CACHE_SIZE,
  publicKeyCacheSize,
  publicKeyFromRaw,
} from "../../src/crypto/_key-objects.ts";
import { ed25519, mlKem768, x25519 } from "../../src/crypto/index.ts";

// The public-key cache (src/crypto/_key-objects.ts) must be invisible: every lookup returns the key
// for exactly the bytes asked for, whatever was cached before, and it never grows past its bound.

test("a cached public key is returned only for identical bytes and algorithm", () => {
  clearPublicKeyCache();
  const a = x25519.keygen().publicKey;
  const b = a.slice();
  b[31] = (b[31] ?? 0) ^ 1;
  const keyA = publicKeyFromRaw("x25519", a);
  assert.deepEqual(exportRawPublic(keyA), a);
  assert.equal(publicKeyFromRaw("x25519", a.slice()), keyA, "same bytes, another array: a hit");
  // One changed byte (here the last) is a different key.
  const keyB = publicKeyFromRaw("x25519", b);
  assert.notEqual(keyB, keyA);
  assert.deepEqual(exportRawPublic(keyB), b);
  // Same 32 bytes under another algorithm: a different object of that algorithm.
  const asEd = publicKeyFromRaw("ed25519", ed25519.keygen().publicKey);
  assert.equal(asEd.asymmetricKeyType, "ed25519");
  const sameBytesOtherAlg = publicKeyFromRaw("ed25519", a);
  assert.equal(sameBytesOtherAlg.asymmetricKeyType, "ed25519");
  assert.equal(publicKeyFromRaw("x25519", a).asymmetricKeyType, "x25519");
});

test("mutating the caller's array after an import never returns the old key", () => {
  clearPublicKeyCache();
  const bytes = x25519.keygen().publicKey;
  const original = bytes.slice();
  publicKeyFromRaw("x25519", bytes);
  bytes.set(x25519.keygen().publicKey);
  assert.deepEqual(exportRawPublic(publicKeyFromRaw("x25519", bytes)), bytes);
  assert.deepEqual(exportRawPublic(publicKeyFromRaw("x25519", original)), original);
  // Views at an offset are keyed by their own bytes only.
  const framed = new Uint8Array(40);
  framed.set(original, 4);
  assert.deepEqual(exportRawPublic(publicKeyFromRaw("x25519", framed.subarray(4, 36))), original);
});

test("keys that fail the validity check are never cached", () => {
  clearPublicKeyCache();
  // An ML-KEM encapsulation key whose coefficients are all 0xfff fails FIPS 203's modulus check.
  const bad = new Uint8Array(mlKem768.lengths.publicKey).fill(0xff);
  for (let i = 0; i < 2; i++) {
    assert.throws(
      () => publicKeyFromRaw("ml-kem-768", bad),
      (e: unknown) => (e as { code?: string }).code === "invalid_public_key",
    );
  }
  assert.equal(publicKeyCacheSize(), 0);
});

test("the cache is bounded and evicts the least recently used key", () => {
  clearPublicKeyCache();
  const first = x25519.keygen().publicKey;
  const firstKey = publicKeyFromRaw("x25519", first);
  const others = Array.from({ length: PUBLIC_KEY_CACHE_SIZE + 20 }, () => x25519.keygen().publicKey);
  for (const [i, key] of others.entries()) {
    publicKeyFromRaw("x25519", key);
    // Using `first` keeps it recent: it must survive all the insertions.
    if (i % 16 === 0) assert.equal(publicKeyFromRaw("x25519", first), firstKey);
    assert.ok(publicKeyCacheSize() <= PUBLIC_KEY_CACHE_SIZE);
  }
  assert.equal(publicKeyCacheSize(), PUBLIC_KEY_CACHE_SIZE);
  assert.equal(publicKeyFromRaw("x25519", first), firstKey);
  // The oldest of the others was evicted: a fresh import, still the right key.
  assert.deepEqual(exportRawPublic(publicKeyFromRaw("x25519", others[0]!)), others[0]);
});
