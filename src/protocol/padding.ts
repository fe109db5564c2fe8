import { NanoError } from "../errors/index.ts";

/**
 * Body padding (docs/protocol.md §9.1): `u32 length || content || zeros` filled to a bucket, buckets
 * the powers of two from 256 B to 32 KiB. An observer learns only the bucket, at most 8 distinct sizes.
 * Deviation: DESIGN.md allows Padmé or powers of two; powers of two leak at most 3 bits per message
 * (Padmé leaks O(log log n) bits but yields many more distinct sizes at this range), and with a 32 KiB
 * cap the worst-case overhead (2x) is bounded in bytes.
 */
export const MIN_BUCKET = 256;
export const MAX_BUCKET = 32768;
const LENGTH_PREFIX = 4;
export const MAX_PADDED_CONTENT = MAX_BUCKET - LENGTH_PREFIX;

export function bucketFor(contentLength: number): number {
  if (contentLength > MAX_PADDED_CONTENT) {
    throw new NanoError(
      "content_too_large",
      `content of ${contentLength} bytes exceeds ${MAX_PADDED_CONTENT}`,
    );
  }
  let bucket = MIN_BUCKET;
  while (bucket < contentLength + LENGTH_PREFIX) bucket *= 2;
  return bucket;
}

export function isBucket(length: number): boolean {
  for (let bucket = MIN_BUCKET; bucket <= MAX_BUCKET; bucket *= 2) if (bucket === length) return true;
  return false;
}

export function pad(content: Uint8Array): Uint8Array {
  const out = new Uint8Array(bucketFor(content.length));
  new DataView(out.buffer).setUint32(0, content.length);
  out.set(content, LENGTH_PREFIX);
  return out;
}

/** Strict: the size must be a bucket, the length must fit, and every padding byte must be zero. */
export function unpad(padded: Uint8Array): Uint8Array {
  if (!isBucket(padded.length)) throw new NanoError("malformed", "padded body is not a bucket size");
  const length = new DataView(padded.buffer, padded.byteOffset, padded.byteLength).getUint32(0);
  if (length > padded.length - LENGTH_PREFIX) throw new NanoError("malformed", "padded length too large");
  let nonZero = 0;
  for (let i = LENGTH_PREFIX + length; i < padded.length; i++) nonZero |= padded[i]!;
  if (nonZero !== 0) throw new NanoError("malformed", "padding bytes must be zero");
  return padded.slice(LENGTH_PREFIX, LENGTH_PREFIX + length);
}
