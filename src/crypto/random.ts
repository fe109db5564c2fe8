import { randomBytes as nodeRandomBytes } from "node:crypto";
import { copyBytes } from "./bytes.ts";

/** node:crypto's limit for one call. */
const MAX_RANDOM_BYTES = 2 ** 31 - 1;

/** Cryptographically secure random bytes from the operating system (via node:crypto). */
export function randomBytes(length: number): Uint8Array {
  if (!Number.isInteger(length) || length < 0 || length > MAX_RANDOM_BYTES) {
    throw new RangeError(`randomBytes length out of range: ${length}`);
  }
  return copyBytes(nodeRandomBytes(length));
}
