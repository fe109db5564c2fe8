import { checkAeadKeyAndNonce } from "../aead-checks.ts";
import { CHACHA20_POLY1305 } from "../parameters.ts";
import type { AsyncAead } from "../provider/types.ts";
import { bytesOf, type ModernSubtle } from "./subtle.ts";

/** ChaCha20-Poly1305 over WebCrypto; the key imports per call as `raw-secret` and is never extractable. */
export function webAead(subtle: ModernSubtle): AsyncAead {
  const algorithm = { name: "ChaCha20-Poly1305" } as const;
  return Object.freeze({
    async seal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, ad: Uint8Array) {
      checkAeadKeyAndNonce(key, nonce);
      const imported = await subtle.importKey("raw-secret", key, algorithm, false, ["encrypt"]);
      return bytesOf(
        await subtle.encrypt({ ...algorithm, iv: nonce, additionalData: ad }, imported, plaintext),
      );
    },
    async open(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, ad: Uint8Array) {
      checkAeadKeyAndNonce(key, nonce);
      if (sealed.length < CHACHA20_POLY1305.tagLength) return null;
      const imported = await subtle.importKey("raw-secret", key, algorithm, false, ["decrypt"]);
      try {
        return bytesOf(
          await subtle.decrypt({ ...algorithm, iv: nonce, additionalData: ad }, imported, sealed),
        );
      } catch {
        return null;
      }
    },
  });
}
