import type { WebCryptoHandle } from "./subtle.ts";

/** WebCrypto's limit for one getRandomValues call (QuotaExceededError beyond it). */
const MAX_PER_CALL = 65536;

/** Random bytes from the platform's CSPRNG, in chunks the API accepts. */
export function webRandomBytes(webCrypto: WebCryptoHandle): (length: number) => Uint8Array {
  return (length: number): Uint8Array => {
    if (!Number.isInteger(length) || length < 0 || length > 2 ** 31 - 1) {
      throw new RangeError(`randomBytes length out of range: ${length}`);
    }
    const out = new Uint8Array(length);
    for (let offset = 0; offset < length; offset += MAX_PER_CALL) {
      webCrypto.getRandomValues(out.subarray(offset, Math.min(length, offset + MAX_PER_CALL)));
    }
    return out;
  };
}
