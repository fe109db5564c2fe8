import { argon2idAsync } from "@noble/hashes/argon2.js";
import { type Argon2idParameters, checkArgon2idInputs } from "../password-parameters.ts";

/**
 * argon2id (RFC 9106) in the browser: WebCrypto has none in Chromium, so @noble/hashes' asynchronous
 * variant, which yields to the event loop so the page stays responsive. Same checks as node's.
 * `onProgress` gets the completed fraction (0..1) as it runs: an unlock takes seconds in a page
 * (docs/web.md "Browser keystore"), so the app shows it.
 */
export async function nobleArgon2id(
  passphrase: Uint8Array,
  salt: Uint8Array,
  parameters: Argon2idParameters,
  length = 32,
  onProgress?: (fraction: number) => void,
): Promise<Uint8Array> {
  checkArgon2idInputs(salt, parameters, length);
  return argon2idAsync(passphrase, salt, {
    t: parameters.passes,
    m: parameters.memoryKiB,
    p: parameters.parallelism,
    dkLen: length,
    ...(onProgress === undefined ? {} : { onProgress }),
  });
}
