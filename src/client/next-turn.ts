/**
 * Runs `callback` one turn of the event loop later, after the I/O already queued, so what arrives in
 * the same read (frames, outbox removals) joins one batch. Node has setImmediate for exactly that; a
 * page has none (calling it there throws, and a loop that retries at once then never yields), so a
 * zero-delay timeout stands in for it there.
 */
export function nextTurn(callback: () => void): void {
  if (typeof globalThis.setImmediate === "function") globalThis.setImmediate(callback);
  else setTimeout(callback, 0);
}
