import { timingSafeEqual } from "node:crypto";

/**
 * Compares two byte strings in time that depends only on their length. Lengths are public in every
 * place this is used (tags, hashes, keys of a fixed algorithm), so a length mismatch returns early.
 */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  return timingSafeEqual(a, b);
}

/** True when every byte is zero, without an early exit (used for the X25519 low-order check). */
export function isAllZero(bytes: Uint8Array): boolean {
  let accumulator = 0;
  for (const byte of bytes) accumulator |= byte;
  return accumulator === 0;
}
