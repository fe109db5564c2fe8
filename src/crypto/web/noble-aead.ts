import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { checkAeadKeyAndNonce } from "../aead-checks.ts";
import { CHACHA20_POLY1305 } from "../parameters.ts";
import type { AsyncAead } from "../provider/types.ts";

/** ChaCha20-Poly1305 from @noble/ciphers: the browser's fallback where WebCrypto lacks it. */
export const nobleAead: AsyncAead = Object.freeze({
  async seal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, ad: Uint8Array) {
    checkAeadKeyAndNonce(key, nonce);
    return chacha20poly1305(key, nonce, ad).encrypt(plaintext);
  },
  async open(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, ad: Uint8Array) {
    checkAeadKeyAndNonce(key, nonce);
    if (sealed.length < CHACHA20_POLY1305.tagLength) return null;
    try {
      return chacha20poly1305(key, nonce, ad).decrypt(sealed);
    } catch {
      return null;
    }
  },
});
