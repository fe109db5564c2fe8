import { NanoError } from "../errors/index.ts";
import { CHACHA20_POLY1305 } from "./parameters.ts";

/** Key and nonce sizes of ChaCha20-Poly1305, checked the same way in every runtime. */
export function checkAeadKeyAndNonce(key: Uint8Array, nonce: Uint8Array): void {
  if (key.length !== CHACHA20_POLY1305.keyLength) {
    throw new NanoError("invalid_length", `AEAD key must be 32 bytes, got ${key.length}`);
  }
  if (nonce.length !== CHACHA20_POLY1305.nonceLength) {
    throw new NanoError("invalid_length", `AEAD nonce must be 12 bytes, got ${nonce.length}`);
  }
}
