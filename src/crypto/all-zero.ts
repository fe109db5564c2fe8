/** True when every byte is zero, without an early exit (the X25519 low-order check, in every runtime). */
export function isAllZero(bytes: Uint8Array): boolean {
  let accumulator = 0;
  for (const byte of bytes) accumulator |= byte;
  return accumulator === 0;
}
