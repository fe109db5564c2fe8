import { NanoError } from "../errors/index.ts";
import { USERNAME, USERNAME_INPUT_MAX } from "../wire/index.ts";

/**
 * Username rules (docs/relay.md "Usernames"). A username is what people type and compare by eye, so
 * the rules aim at "one name, one look":
 * - normalized with NFKC then lowercased (fullwidth "ａｌｉｃｅ" is "alice");
 * - after that only a-z 0-9 and the separators . _ - may remain: every non-ASCII letter is refused,
 *   which rules out cross-script confusables (Cyrillic "а" for Latin "a") without a Unicode table;
 * - 3 to 32 characters, starting with a letter, no separator at the end or next to another;
 * - reserved names are refused, compared by skeleton so "adm1n" is as reserved as "admin";
 * - two accounts may not share a skeleton, which folds the ASCII look-alikes
 *   (0/o, 1/l/i, 5/s, rn/m, vv/w, and the separators) so "alice" and "al1ce" cannot both exist.
 */

// The shape and lengths are the wire contract's (src/wire/limits.ts USERNAME): clients check the same.

export const BUILT_IN_RESERVED: readonly string[] = Object.freeze([
  "abuse",
  "admin",
  "administrator",
  "api",
  "help",
  "hostmaster",
  "info",
  "moderator",
  "nano",
  "nano-relay",
  "noreply",
  "null",
  "operator",
  "postmaster",
  "relay",
  "root",
  "security",
  "support",
  "system",
  "undefined",
  "webmaster",
  "www",
]);

export function normalizeUsername(input: string): string {
  // The raw input is bounded before normalizing: NFKC can expand, so bound the work first.
  if (typeof input !== "string" || input.length === 0 || input.length > USERNAME_INPUT_MAX) {
    throw new NanoError("username_invalid", `username must be ${USERNAME.min}-${USERNAME.max} characters`);
  }
  const normalized = input.normalize("NFKC").toLowerCase();
  if (normalized.length < USERNAME.min || normalized.length > USERNAME.max) {
    throw new NanoError("username_invalid", `username must be ${USERNAME.min}-${USERNAME.max} characters`);
  }
  if (!/^[\x21-\x7e]+$/.test(normalized)) {
    throw new NanoError(
      "username_invalid",
      "username may only use a-z, 0-9 and . _ - (no other scripts, spaces or symbols)",
    );
  }
  if (!USERNAME.pattern.test(normalized)) {
    throw new NanoError(
      "username_invalid",
      "username must start with a letter and use a-z, 0-9 with single . _ - between them",
    );
  }
  return normalized;
}

/** Folds ASCII look-alikes so visually confusable names compare equal. Input must be normalized. */
export function usernameSkeleton(normalized: string): string {
  return normalized
    .replaceAll(/[._-]/g, "")
    .replaceAll("rn", "m")
    .replaceAll("vv", "w")
    .replaceAll("0", "o")
    .replaceAll(/[1i]/g, "l")
    .replaceAll("5", "s");
}

export class UsernamePolicy {
  readonly #reserved: ReadonlySet<string>;

  constructor(extraReserved: readonly string[] = []) {
    const skeletons = new Set<string>();
    for (const name of [...BUILT_IN_RESERVED, ...extraReserved]) {
      skeletons.add(usernameSkeleton(name.normalize("NFKC").toLowerCase()));
    }
    this.#reserved = skeletons;
  }

  /** Normalizes and validates a name someone wants to claim; returns the name and its skeleton. */
  checkClaimable(input: string): { username: string; skeleton: string } {
    const username = normalizeUsername(input);
    const skeleton = usernameSkeleton(username);
    if (this.#reserved.has(skeleton)) {
      throw new NanoError("username_reserved", "this username is reserved");
    }
    return { username, skeleton };
  }
}
