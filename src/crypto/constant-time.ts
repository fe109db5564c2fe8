import { timingSafeEqual } from "node:crypto";

export { isAllZero } from "./all-zero.ts";

/**
 * Compares two byte strings in time that depends only on their length. Lengths are public in every
 * place this is used (tags, hashes, keys of a fixed algorithm), so a length mismatch returns early.
 */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  return timingSafeEqual(a, b);
}
