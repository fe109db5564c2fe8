/**
 * Salted commitments for personal data in an append-only log (erasure without breaking the log).
 *
 * A log cannot forget: deleting or editing an entry changes every later root. So a leaf never holds
 * personal data (a username, an address, an event's subject) itself; it holds
 *   commitment = SHA-256(salt || data), salt = 32 fresh random bytes per entry,
 * and (salt, data) live in a side table keyed by the leaf index, outside the tree. To erase, delete the
 * side-table row: the leaf, every root and every proof stay valid, and the commitment alone reveals
 * nothing (the salt is random and secret, so the data cannot be guessed and checked against it, even
 * for low-entropy data such as a username). While the row exists, anyone holding it can show that the
 * logged commitment is exactly that data. A fresh salt per entry also keeps two entries about the same
 * person unlinkable once erased.
 *
 * Runtime-free: SHA-256 and the salt's randomness come from the caller (the relay's node:crypto, a
 * client's provider), since a client in the page opens commitments too (key transparency).
 */

import type { CryptoPrimitives } from "../crypto/provider/index.ts";
import { NanoError } from "../errors/index.ts";
import { constantTimeEqual } from "../protocol/_constant-time.ts";
import type { Sha256 } from "./merkle-hash.ts";

/** What committing needs: the hash, and randomness for a fresh salt. */
export type CommitmentPrimitives = Pick<CryptoPrimitives, "sha256" | "randomBytes">;

export const COMMITMENT_SALT_LENGTH = 32;

export interface SaltedCommitment {
  /** Goes into the log entry. */
  readonly commitment: Uint8Array;
  /** Goes into the deletable side table, next to the data. */
  readonly salt: Uint8Array;
}

function digest(sha256: Sha256, salt: Uint8Array, data: Uint8Array): Uint8Array {
  if (salt.length !== COMMITMENT_SALT_LENGTH)
    throw new NanoError("invalid_length", `commitment salt must be ${COMMITMENT_SALT_LENGTH} bytes`);
  // Fixed-length salt first, so (salt, data) splits one way only.
  return sha256(salt, data);
}

/** Commits to `data` with a fresh random salt (or a given one, for tests and re-derivation). */
export function commitPersonalData(
  primitives: CommitmentPrimitives,
  data: Uint8Array,
  salt: Uint8Array = primitives.randomBytes(COMMITMENT_SALT_LENGTH),
): SaltedCommitment {
  return { commitment: digest(primitives.sha256, salt, data), salt };
}

/** Throws salted_commitment_mismatch unless (salt, data) opens `commitment`. */
export function verifyPersonalData(
  sha256: Sha256,
  commitment: Uint8Array,
  salt: Uint8Array,
  data: Uint8Array,
): void {
  if (!constantTimeEqual(digest(sha256, salt, data), commitment))
    throw new NanoError("salted_commitment_mismatch", "side-table data does not match the logged commitment");
}
