import { NanoError } from "../errors/index.ts";

/** The longest `info` node:crypto's HKDF accepts; the browser's HKDF keeps the same limit. */
export const HKDF_MAX_INFO = 1024;

/** The argument checks of HKDF in every runtime, so both refuse the same requests with the same errors. */
export function checkHkdfRequest(info: Uint8Array, length: number, hashLength: number): void {
  if (!Number.isInteger(length) || length < 1)
    throw new RangeError(`HKDF length must be positive: ${length}`);
  if (info.length > HKDF_MAX_INFO) throw new RangeError(`HKDF info longer than ${HKDF_MAX_INFO} bytes`);
  if (length > 255 * hashLength) {
    throw new NanoError("kdf_output_too_long", `HKDF output of ${length} bytes exceeds ${255 * hashLength}`);
  }
}
