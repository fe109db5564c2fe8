import { NanoError } from "../errors/index.ts";

/**
 * The one length check of every primitive's input, in both runtimes: a wrong size is the typed
 * `invalid_length` (the caller's input), a value that is not bytes a TypeError (the caller's bug).
 */
export function checkLength(what: string, bytes: Uint8Array, expected: number): void {
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`${what} must be a Uint8Array`);
  if (bytes.length !== expected) {
    throw new NanoError("invalid_length", `${what} must be ${expected} bytes, got ${bytes.length}`);
  }
}
