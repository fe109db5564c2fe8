/**
 * Equality of secrets and MACs-to-be without an early exit, in every runtime: XOR-accumulates every
 * byte, so the time depends only on the length (public here: every compared value has a fixed size
 * per format). Not node's timingSafeEqual, which the browser does not have.
 */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a[i]! ^ b[i]!;
  return difference === 0;
}

/** Byte-wise order (unsigned, shorter first on a common prefix), for sorting public values only. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    if (a[i] !== b[i]) return a[i]! < b[i]! ? -1 : 1;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}
