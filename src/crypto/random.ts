import { randomBytes as nodeRandomBytes } from "node:crypto";
import { copyBytes } from "./bytes.ts";

/** Cryptographically secure random bytes from the operating system (via node:crypto). */
export function randomBytes(length: number): Uint8Array {
  return copyBytes(nodeRandomBytes(length));
}
