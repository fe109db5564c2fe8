import { randomBytes as nodeRandomBytes, randomFillSync } from "node:crypto";
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

/** Pool size for `publicRandomBytes`: one OS call serves ~340 nonces of 12 bytes. */
const PUBLIC_POOL_BYTES = 4096;
const publicPool = new Uint8Array(PUBLIC_POOL_BYTES);
let publicPoolOffset = PUBLIC_POOL_BYTES;

/**
 * Random bytes for values that are PUBLIC as soon as they are used (nonces sent in clear, such as the
 * ratchet's header nonces), from a pool refilled from the same CSPRNG. One CSPRNG call per message
 * was ~10 % of the symmetric ratchet's time in context (docs/benchmarks.md); a pool makes it one per
 * ~340 messages. Never use this for keys or seeds: pooled bytes wait in memory before they are used.
 * Every byte is handed out once and cleared from the pool.
 */
export function publicRandomBytes(length: number): Uint8Array {
  if (!Number.isInteger(length) || length < 0) throw new RangeError(`length out of range: ${length}`);
  if (length > PUBLIC_POOL_BYTES / 8) return randomBytes(length);
  if (publicPoolOffset + length > PUBLIC_POOL_BYTES) {
    randomFillSync(publicPool);
    publicPoolOffset = 0;
  }
  const out = publicPool.slice(publicPoolOffset, publicPoolOffset + length);
  publicPool.fill(0, publicPoolOffset, publicPoolOffset + length);
  publicPoolOffset += length;
  return out;
}
