import { label, SIGNATURE_CONTEXTS } from "../crypto/labels.ts";
import { NanoError } from "../errors/index.ts";
import { lengthPrefixed } from "./_codec.ts";
import {
  checkUsername,
  type IdentityKeys,
  type IdentityRecord,
  identityKeysFor,
  recordKeysFor,
} from "./identity-record.ts";

/**
 * Username claims and identity updates (docs/protocol.md §4.4-4.5): detached signatures by EVERY
 * signature key of the record, so a claim cannot be made by someone who holds only some of the keys
 * (a quantum attacker who breaks Ed25519 still lacks the ML-DSA key). The relay sends a fresh challenge
 * and receives the record and the claim signature separately; a claim cannot be replayed to another
 * challenge, username or record.
 */
export const CHALLENGE_MIN_BYTES = 16;
export const CHALLENGE_MAX_BYTES = 64;

/** lp(username) || lp(challenge) || lp(H(IR)). */
function claimMessage(username: string, challenge: Uint8Array, record: IdentityRecord): Uint8Array {
  if (challenge.length < CHALLENGE_MIN_BYTES || challenge.length > CHALLENGE_MAX_BYTES) {
    throw new NanoError("challenge_mismatch", "a relay challenge has 16 to 64 bytes");
  }
  return lengthPrefixed(checkUsername(username), challenge, record.hash);
}

/** The signatures of every suite of `record`, in the record's order, concatenated. */
async function signAll(
  identity: IdentityKeys,
  record: IdentityRecord,
  message: Uint8Array,
  context: Uint8Array,
): Promise<Uint8Array> {
  const parts = await Promise.all(
    record.keys.map((entry) =>
      entry.suite.signature.sign(identityKeysFor(identity, entry.suite).signature.seed, message, context),
    ),
  );
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** True when `signature` is exactly one valid signature per suite of `record`, in order. */
async function verifyAll(
  record: IdentityRecord,
  message: Uint8Array,
  signature: Uint8Array,
  context: Uint8Array,
): Promise<boolean> {
  const expected = record.keys.reduce((n, entry) => n + entry.suite.signature.lengths.signature, 0);
  if (signature.length !== expected) return false;
  let offset = 0;
  let ok = true;
  for (const entry of record.keys) {
    const length = entry.suite.signature.lengths.signature;
    const part = signature.subarray(offset, offset + length);
    offset += length;
    // Every part is verified even after a failure: the time does not say which key's signature failed.
    const valid = await entry.suite.signature.verify(
      recordKeysFor(record, entry.suite).signature,
      message,
      part,
      context,
    );
    ok = valid && ok;
  }
  return ok;
}

export function signUsernameClaim(
  identity: IdentityKeys,
  record: IdentityRecord,
  challenge: Uint8Array,
): Promise<Uint8Array> {
  if (record.username !== identity.username) throw new RangeError("record and keys name different users");
  return signAll(
    identity,
    record,
    claimMessage(record.username, challenge, record),
    label(SIGNATURE_CONTEXTS.usernameClaim),
  );
}

/**
 * What the relay calls before binding `username`: the (already verified) record names exactly that
 * username and every identity signature key in it signed the claim over this challenge.
 */
export async function verifyUsernameClaim(
  record: IdentityRecord,
  username: string,
  challenge: Uint8Array,
  signature: Uint8Array,
): Promise<boolean> {
  if (record.username !== username) return false;
  if (challenge.length < CHALLENGE_MIN_BYTES || challenge.length > CHALLENGE_MAX_BYTES) return false;
  return verifyAll(
    record,
    claimMessage(username, challenge, record),
    signature,
    label(SIGNATURE_CONTEXTS.usernameClaim),
  );
}

/** lp(H(current)) || lp(H(next)). */
function updateMessage(current: IdentityRecord, next: IdentityRecord): Uint8Array {
  return lengthPrefixed(current.hash, next.hash);
}

/** The current keys authorize the next record (key rotation, a changed suite list or a lowered pin). */
export function signIdentityUpdate(
  currentKeys: IdentityKeys,
  current: IdentityRecord,
  next: IdentityRecord,
): Promise<Uint8Array> {
  return signAll(
    currentKeys,
    current,
    updateMessage(current, next),
    label(SIGNATURE_CONTEXTS.identityUpdate),
  );
}

/**
 * An update is valid when `next` names the same user with a greater record version and every signature
 * key of `current` signed `H(current) || H(next)`.
 */
export async function verifyIdentityUpdate(
  current: IdentityRecord,
  next: IdentityRecord,
  signature: Uint8Array,
): Promise<void> {
  if (next.username !== current.username || next.recordVersion <= current.recordVersion) {
    throw new NanoError(
      "certificate_mismatch",
      "an update must keep the username and raise the record version",
    );
  }
  if (
    !(await verifyAll(
      current,
      updateMessage(current, next),
      signature,
      label(SIGNATURE_CONTEXTS.identityUpdate),
    ))
  ) {
    throw new NanoError("invalid_signature", "identity update signature");
  }
}

/**
 * The owner deletes its account at the relay (docs/compliance.md, "Erasure"): every identity signature
 * key of the current record signs lp(username) || lp(challenge) || lp(H(IR)) under
 * nano/v1/sig/account-delete, over a fresh relay challenge, so a deletion can be neither replayed nor
 * taken for a claim or a login.
 */
export function signAccountDeletion(
  identity: IdentityKeys,
  record: IdentityRecord,
  challenge: Uint8Array,
): Promise<Uint8Array> {
  return signAll(
    identity,
    record,
    claimMessage(record.username, challenge, record),
    label(SIGNATURE_CONTEXTS.accountDelete),
  );
}

export async function verifyAccountDeletion(
  record: IdentityRecord,
  username: string,
  challenge: Uint8Array,
  signature: Uint8Array,
): Promise<boolean> {
  if (record.username !== username) return false;
  if (challenge.length < CHALLENGE_MIN_BYTES || challenge.length > CHALLENGE_MAX_BYTES) return false;
  return verifyAll(
    record,
    claimMessage(username, challenge, record),
    signature,
    label(SIGNATURE_CONTEXTS.accountDelete),
  );
}
