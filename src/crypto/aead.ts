import { createCipheriv, createDecipheriv, createSecretKey, type KeyObject } from "node:crypto";
import { NanoError } from "../errors/index.ts";
import { checkAeadKeyAndNonce } from "./aead-checks.ts";
import { concatBytes, copyBytes } from "./bytes.ts";
import { CHACHA20_POLY1305 } from "./parameters.ts";

export { CHACHA20_POLY1305 };

const checkKeyAndNonce = checkAeadKeyAndNonce;

/**
 * The key as a per-call secret KeyObject. Node's cipher setup probes a raw Uint8Array with two
 * exception-based brand checks (isKeyObject, isCryptoKey) that cost more than the 1 KiB encryption
 * itself; an explicit KeyObject skips them (docs/benchmarks.md: 19 to 8 us per 1 KiB seal). Node copies
 * a raw key internally either way, so this holds no secret longer: the object dies with the call.
 */
function secretKey(key: Uint8Array): KeyObject {
  return createSecretKey(key);
}

/** Encrypts and authenticates; returns ciphertext || 16-byte tag. */
export function aeadSeal(
  key: Uint8Array,
  nonce: Uint8Array,
  plaintext: Uint8Array,
  ad: Uint8Array,
): Uint8Array {
  return seal(key, nonce, plaintext, ad, false);
}

/**
 * `nonce || aeadSeal(...)` in one buffer (the local store's sealed-row layout): the ciphertext is copied
 * once, not twice — for a megabyte text stored in a row, one copy of it (docs/performance.md).
 */
export function aeadSealAfterNonce(
  key: Uint8Array,
  nonce: Uint8Array,
  plaintext: Uint8Array,
  ad: Uint8Array,
): Uint8Array {
  return seal(key, nonce, plaintext, ad, true);
}

function seal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, ad: Uint8Array, withNonce: boolean) {
  checkKeyAndNonce(key, nonce);
  const cipher = createCipheriv("chacha20-poly1305", secretKey(key), nonce, {
    authTagLength: CHACHA20_POLY1305.tagLength,
  });
  cipher.setAAD(ad, { plaintextLength: plaintext.length });
  const ciphertext = cipher.update(plaintext);
  const final = cipher.final();
  const tag = cipher.getAuthTag();
  return withNonce ? concatBytes(nonce, ciphertext, final, tag) : concatBytes(ciphertext, final, tag);
}

/**
 * Verifies and decrypts ciphertext || tag. Any failure (short input, wrong key, changed byte, changed
 * associated data) is the single error `decryption_failed`, so callers cannot leak which check failed.
 */
export function aeadOpen(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, ad: Uint8Array): Uint8Array {
  const plaintext = aeadTryOpen(key, nonce, sealed, ad);
  if (plaintext === null) throw new NanoError("decryption_failed", "authentication failed");
  return plaintext;
}

/**
 * `aeadOpen` for trial decryption (header keys tried in turn): an input that does not authenticate is
 * `null` instead of an error, because building and unwinding an error with its stack cost twice the
 * decryption itself. Wrong key or nonce sizes are still errors: they are bugs, not trials.
 */
export function aeadTryOpen(
  key: Uint8Array,
  nonce: Uint8Array,
  sealed: Uint8Array,
  ad: Uint8Array,
): Uint8Array | null {
  checkKeyAndNonce(key, nonce);
  if (sealed.length < CHACHA20_POLY1305.tagLength) return null;
  const split = sealed.length - CHACHA20_POLY1305.tagLength;
  const decipher = createDecipheriv("chacha20-poly1305", secretKey(key), nonce, {
    authTagLength: CHACHA20_POLY1305.tagLength,
  });
  decipher.setAuthTag(sealed.subarray(split));
  decipher.setAAD(ad, { plaintextLength: split });
  const plaintext = decipher.update(sealed.subarray(0, split));
  try {
    decipher.final();
  } catch {
    plaintext.fill(0);
    return null;
  }
  return owned(plaintext);
}

/**
 * A plain Uint8Array over node's output. node allocates cipher output in a buffer of its own (not the
 * shared Buffer pool); then a view over all of it is as private as a copy and saves copying every
 * message body and header once more. Anything else is copied.
 */
function owned(buffer: Buffer): Uint8Array {
  if (buffer.byteOffset === 0 && buffer.buffer.byteLength === buffer.length && buffer.length > 0) {
    return new Uint8Array(buffer.buffer, 0, buffer.length);
  }
  return copyBytes(buffer);
}
