import assert from "node:assert/strict";
import { test } from "node:test";
import { aeadOpen, aeadSeal, aeadTryOpen, randomBytes } from "../../src/crypto/index.ts";
import { throwsCode } from "./_assert.ts";

// aeadTryOpen is aeadOpen for trial decryption: the same result on success, null (not an error) for
// anything that does not authenticate, and still an error for wrong key or nonce sizes.

const key = randomBytes(32);
const nonce = randomBytes(12);
const ad = randomBytes(20);
const plaintext = randomBytes(100);
const sealed = aeadSeal(key, nonce, plaintext, ad);

test("opens what aeadOpen opens, into a fresh array", () => {
  const opened = aeadTryOpen(key, nonce, sealed, ad);
  assert.deepEqual(opened, plaintext);
  assert.deepEqual(opened, aeadOpen(key, nonce, sealed, ad));
  assert.deepEqual(
    aeadTryOpen(key, nonce, aeadSeal(key, nonce, new Uint8Array(0), ad), ad),
    new Uint8Array(0),
  );
  // Never a view into node's shared Buffer pool: the plaintext owns its whole ArrayBuffer.
  for (const size of [1, 12, 100, 5000]) {
    const message = randomBytes(size);
    const out = aeadTryOpen(key, nonce, aeadSeal(key, nonce, message, ad), ad)!;
    assert.ok(!Buffer.isBuffer(out));
    assert.equal(out.byteOffset, 0);
    assert.equal(out.buffer.byteLength, size);
    assert.deepEqual(out, message);
  }
});

test("every tampering is null, and aeadOpen's decryption_failed", () => {
  const cases: [string, Uint8Array, Uint8Array, Uint8Array, Uint8Array][] = [];
  for (let i = 0; i < sealed.length; i += 7) {
    const changed = sealed.slice();
    changed[i] = (changed[i] ?? 0) ^ 0x01;
    cases.push([`byte ${i}`, key, nonce, changed, ad]);
  }
  const otherKey = key.slice();
  otherKey[0] = (otherKey[0] ?? 0) ^ 0x80;
  const otherNonce = nonce.slice();
  otherNonce[11] = (otherNonce[11] ?? 0) ^ 0x01;
  cases.push(["key", otherKey, nonce, sealed, ad]);
  cases.push(["nonce", key, otherNonce, sealed, ad]);
  cases.push(["ad", key, nonce, sealed, ad.subarray(1)]);
  cases.push(["truncated", key, nonce, sealed.subarray(0, sealed.length - 1), ad]);
  cases.push(["shorter than the tag", key, nonce, sealed.subarray(0, 15), ad]);
  cases.push(["empty", key, nonce, new Uint8Array(0), ad]);
  for (const [what, k, n, s, a] of cases) {
    assert.equal(aeadTryOpen(k, n, s, a), null, what);
    throwsCode(() => aeadOpen(k, n, s, a), "decryption_failed", what);
  }
});

test("wrong key and nonce sizes are errors, not trial failures", () => {
  throwsCode(() => aeadTryOpen(key.subarray(0, 31), nonce, sealed, ad), "invalid_length");
  throwsCode(() => aeadTryOpen(key, nonce.subarray(0, 11), sealed, ad), "invalid_length");
});
