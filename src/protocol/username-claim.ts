import { constantTimeEqual } from "../crypto/index.ts";
import { NanoError } from "../errors/index.ts";
import { decodeExact, Reader, Writer } from "./_codec.ts";
import {
  checkUsername,
  type IdentityKeys,
  type IdentityRecord,
  identityKeysFor,
  MAX_IDENTITY_RECORD_BYTES,
  MAX_USERNAME_BYTES,
  readIdentityRecordField,
} from "./identity-record.ts";
import { label, PROTOCOL_VERSION, SIGNATURE_CONTEXTS } from "./labels.ts";

/**
 * Username claims (docs/protocol.md §4.4): proof of possession of every identity key in the record,
 * over the claim and a fresh relay challenge, so a claim cannot be replayed to this or another relay
 * and a record cannot be registered by someone who holds only some of its keys.
 */
export const CHALLENGE_MIN_BYTES = 16;
export const CHALLENGE_MAX_BYTES = 64;

export interface UsernameClaim {
  readonly username: string;
  readonly created: number;
  readonly record: IdentityRecord;
  readonly challenge: Uint8Array;
  readonly signatures: readonly Uint8Array[];
  readonly encoded: Uint8Array;
}

function encodeBody(
  username: string,
  created: number,
  record: IdentityRecord,
  challenge: Uint8Array,
): Uint8Array {
  if (challenge.length < CHALLENGE_MIN_BYTES || challenge.length > CHALLENGE_MAX_BYTES) {
    throw new RangeError("challenge must be 16..64 bytes");
  }
  return new Writer()
    .u16(PROTOCOL_VERSION)
    .vec8(checkUsername(username))
    .u64(created)
    .vec32(record.encoded)
    .vec8(challenge)
    .finish();
}

export function createUsernameClaim(
  identity: IdentityKeys,
  record: IdentityRecord,
  challenge: Uint8Array,
  created: number = Date.now(),
): Uint8Array {
  if (record.username !== identity.username) throw new RangeError("record and keys name different users");
  const body = encodeBody(identity.username, created, record, challenge);
  const writer = new Writer().bytes(body);
  for (const entry of record.keys) {
    const keys = identityKeysFor(identity, entry.suite);
    writer.bytes(
      entry.suite.signature.sign(keys.signature.seed, body, label(SIGNATURE_CONTEXTS.usernameClaim)),
    );
  }
  return writer.finish();
}

/** Parses a claim and verifies the embedded record (not yet the claim signatures). */
export function decodeUsernameClaim(bytes: Uint8Array, offset: number): [UsernameClaim, number] {
  const reader = new Reader(bytes, offset);
  const version = reader.u16("username claim version");
  if (version !== PROTOCOL_VERSION)
    throw new NanoError("unsupported_version", `username claim version ${version}`);
  const username = new TextDecoder().decode(reader.vec8("username", MAX_USERNAME_BYTES, 1));
  checkUsername(username);
  const created = reader.u64n("created");
  const record = readIdentityRecordField(reader);
  const challenge = reader.vec8("challenge", CHALLENGE_MAX_BYTES, CHALLENGE_MIN_BYTES);
  const signatures = record.keys.map((entry) =>
    reader.fixed(entry.suite.signature.lengths.signature, "claim signature"),
  );
  return [
    { username, created, record, challenge, signatures, encoded: bytes.slice(offset, reader.offset) },
    reader.offset - offset,
  ];
}

/**
 * What the relay calls before binding a username: the record verifies, names the claimed user, and
 * every identity signature key in it signed the claim over exactly `expectedChallenge`.
 */
export function verifyUsernameClaim(bytes: Uint8Array, expectedChallenge: Uint8Array): UsernameClaim {
  if (bytes.length > MAX_IDENTITY_RECORD_BYTES * 2)
    throw new NanoError("malformed", "username claim too large");
  const claim = decodeExact(bytes, decodeUsernameClaim, "username claim");
  if (claim.record.username !== claim.username) {
    throw new NanoError("certificate_mismatch", "the claim and its identity record name different users");
  }
  if (!constantTimeEqual(claim.challenge, expectedChallenge)) {
    throw new NanoError("challenge_mismatch", "the claim is over another challenge");
  }
  const signed = claim.signatures.reduce(
    (length, signature) => length - signature.length,
    claim.encoded.length,
  );
  const body = claim.encoded.subarray(0, signed);
  claim.record.keys.forEach((entry, i) => {
    const ok = entry.suite.signature.verify(
      entry.signature,
      body,
      claim.signatures[i]!,
      label(SIGNATURE_CONTEXTS.usernameClaim),
    );
    if (!ok)
      throw new NanoError("invalid_signature", `username claim signature of the ${entry.suite.name} key`);
  });
  return claim;
}
