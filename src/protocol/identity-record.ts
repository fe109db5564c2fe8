import {
  blake2b,
  constantTimeEqual,
  decodeSuitePublicKeys,
  encodeSuitePublicKeys,
  getSuite,
  SUITES,
  type Suite,
  type SuiteId,
  type SuiteKeyPairs,
  type SuitePublicKeys,
  suitePublicKeys,
  suitePublicKeysLength,
  utf8,
} from "../crypto/index.ts";
import { label, PROTOCOL_VERSION, SIGNATURE_CONTEXTS } from "../crypto/labels.ts";
import { NanoError } from "../errors/index.ts";
import { Reader, Writer } from "./_codec.ts";

/**
 * Identity records (docs/protocol.md §4): a user's username, every accepted suite's identity keys and
 * the preferred mode, signed by EVERY signature key it lists, so neither a classical nor a
 * post-quantum forger alone can make a record (a quantum attacker who breaks Ed25519 still cannot
 * forge the ML-DSA half, and vice versa). H(IR) is BLAKE2b-512 over the whole encoding.
 */
export const MAX_USERNAME_BYTES = 64;
/** Three suites with every key and signature is about 13.4 KB; the cap leaves room and nothing more. */
export const MAX_IDENTITY_RECORD_BYTES = 16384;

/**
 * The largest record any identity can have: every suite listed and a 64-byte username (13,306 bytes).
 * A first contact carries the initiator's record in a slot of exactly this size (docs/protocol.md
 * §7.6), so its length says nothing about the sender's username or suite set.
 */
export const IDENTITY_RECORD_SLOT_BYTES =
  2 +
  1 +
  MAX_USERNAME_BYTES +
  4 +
  8 +
  2 +
  1 +
  SUITES.reduce((sum, suite) => sum + suitePublicKeysLength(suite) + suite.signature.lengths.signature, 0);
const USERNAME = /^[a-z0-9._-]{1,64}$/;

export interface IdentityRecord {
  readonly username: string;
  /** Increases with every update the owner publishes. */
  readonly recordVersion: number;
  readonly created: number;
  readonly preferred: SuiteId;
  /** One entry per accepted suite, suite ids strictly ascending. */
  readonly keys: readonly SuitePublicKeys[];
  readonly signatures: readonly Uint8Array[];
  /** The exact bytes; kept so H(IR) and re-encoding are byte-exact. */
  readonly encoded: Uint8Array;
  readonly hash: Uint8Array;
}

/** The owner's private side: one key set per accepted suite. */
export interface IdentityKeys {
  readonly username: string;
  readonly suites: readonly SuiteKeyPairs[];
}

export function checkUsername(username: string): Uint8Array {
  if (!USERNAME.test(username))
    throw new NanoError("invalid_username", "username must match [a-z0-9._-]{1,64}");
  return utf8(username);
}

export function acceptedSuites(record: IdentityRecord): readonly SuiteId[] {
  return record.keys.map((keys) => keys.suite.id);
}

export function recordKeysFor(record: IdentityRecord, suite: Suite): SuitePublicKeys {
  const keys = record.keys.find((entry) => entry.suite.id === suite.id);
  if (keys === undefined) {
    throw new NanoError("suite_not_accepted", `${record.username} does not accept the ${suite.name} suite`);
  }
  return keys;
}

export function identityKeysFor(identity: IdentityKeys, suite: Suite): SuiteKeyPairs {
  const keys = identity.suites.find((entry) => entry.suite.id === suite.id);
  if (keys === undefined)
    throw new NanoError("suite_not_accepted", `no identity keys for the ${suite.name} suite`);
  return keys;
}

function encodeBody(
  username: string,
  recordVersion: number,
  created: number,
  preferred: SuiteId,
  keys: readonly SuitePublicKeys[],
): Uint8Array {
  const writer = new Writer()
    .u16(PROTOCOL_VERSION)
    .vec8(checkUsername(username))
    .u32(recordVersion)
    .u64(created)
    .u16(preferred)
    .u8(keys.length);
  for (const entry of keys) writer.bytes(encodeSuitePublicKeys(entry));
  return writer.finish();
}

function checkSuiteList(ids: readonly number[], preferred: number): void {
  if (ids.length < 1 || ids.length > 3) throw new NanoError("malformed", "an identity lists 1 to 3 suites");
  for (let i = 1; i < ids.length; i++) {
    if (ids[i]! <= ids[i - 1]!)
      throw new NanoError("malformed", "identity suites must be strictly ascending");
  }
  if (!ids.includes(preferred))
    throw new NanoError("malformed", "the preferred suite must be an accepted suite");
}

export interface CreateIdentityOptions {
  readonly recordVersion?: number;
  readonly created?: number;
}

/** Builds and signs the record for `identity`; `preferred` must be one of its suites. */
export function createIdentityRecord(
  identity: IdentityKeys,
  preferred: SuiteId,
  options: CreateIdentityOptions = {},
): IdentityRecord {
  const sorted = [...identity.suites].sort((a, b) => a.suite.id - b.suite.id);
  checkSuiteList(
    sorted.map((entry) => entry.suite.id),
    preferred,
  );
  const keys = sorted.map(suitePublicKeys);
  const body = encodeBody(
    identity.username,
    options.recordVersion ?? 1,
    options.created ?? Date.now(),
    preferred,
    keys,
  );
  const context = label(SIGNATURE_CONTEXTS.identityRecord);
  const signatures = sorted.map((entry) => entry.suite.signature.sign(entry.signature.seed, body, context));
  const writer = new Writer().bytes(body);
  for (const signature of signatures) writer.bytes(signature);
  return decodeIdentityRecordExact(writer.finish());
}

/**
 * Decodes AND verifies a record at `offset`: length, version, fields, then every signature. A record
 * that does not verify is never returned, so callers cannot forget the check.
 */
export function decodeIdentityRecord(bytes: Uint8Array, offset: number): [IdentityRecord, number] {
  const reader = new Reader(bytes, offset);
  const version = reader.u16("identity record version");
  if (version !== PROTOCOL_VERSION) {
    throw new NanoError("unsupported_version", `identity record version ${version} is not supported`);
  }
  const usernameBytes = reader.vec8("username", MAX_USERNAME_BYTES, 1);
  const username = new TextDecoder("utf-8", { fatal: false }).decode(usernameBytes);
  checkUsername(username);
  const recordVersion = reader.u32("record version");
  if (recordVersion === 0) throw new NanoError("malformed", "record version starts at 1");
  const created = reader.u64n("created");
  const preferred = reader.u16("preferred suite");
  const count = reader.u8("suite count");
  if (count < 1 || count > 3) throw new NanoError("malformed", "an identity lists 1 to 3 suites");
  const keys: SuitePublicKeys[] = [];
  for (let i = 0; i < count; i++) {
    const [entry, read] = decodeSuitePublicKeys(bytes, reader.offset);
    reader.offset += read;
    keys.push(entry);
  }
  checkSuiteList(
    keys.map((entry) => entry.suite.id),
    preferred,
  );
  const bodyEnd = reader.offset;
  const signatures = keys.map((entry) => reader.fixed(entry.suite.signature.lengths.signature, "signature"));
  const encoded = bytes.slice(offset, reader.offset);
  if (encoded.length > MAX_IDENTITY_RECORD_BYTES)
    throw new NanoError("malformed", "identity record too large");
  const body = bytes.subarray(offset, bodyEnd);
  const context = label(SIGNATURE_CONTEXTS.identityRecord);
  keys.forEach((entry, i) => {
    if (!entry.suite.signature.verify(entry.signature, body, signatures[i]!, context)) {
      throw new NanoError("invalid_signature", `identity record signature of the ${entry.suite.name} key`);
    }
  });
  const record: IdentityRecord = {
    username,
    recordVersion,
    created,
    preferred: getSuite(preferred).id,
    keys,
    signatures,
    encoded,
    hash: blake2b(encoded),
  };
  return [record, reader.offset - offset];
}

export function decodeIdentityRecordExact(bytes: Uint8Array): IdentityRecord {
  if (bytes.length > MAX_IDENTITY_RECORD_BYTES) throw new NanoError("malformed", "identity record too large");
  const [record, read] = decodeIdentityRecord(bytes, 0);
  if (read !== bytes.length) throw new NanoError("trailing_bytes", "bytes after the identity record");
  return record;
}

/**
 * Reads a `u32 length || record` field as used inside bundles and claims. A `trusted` record whose
 * bytes are exactly these is returned as it is: it was verified already, and equal bytes verify equally.
 */
export function readIdentityRecordField(reader: Reader, trusted?: IdentityRecord): IdentityRecord {
  const bytes = reader.vec32("identity record", MAX_IDENTITY_RECORD_BYTES, 1);
  if (trusted !== undefined && constantTimeEqual(trusted.encoded, bytes)) return trusted;
  return decodeIdentityRecordExact(bytes);
}

/**
 * The username a record claims, reading only its version and name (docs/protocol.md §7.7 step 3): the
 * cheap check of a first contact against the relay-authenticated sender, before anything in the
 * record is trusted. Says nothing about who made the record.
 */
export function claimedUsername(bytes: Uint8Array): string {
  const reader = new Reader(bytes);
  const version = reader.u16("identity record version");
  if (version !== PROTOCOL_VERSION) {
    throw new NanoError("unsupported_version", `identity record version ${version} is not supported`);
  }
  const username = new TextDecoder("utf-8", { fatal: false }).decode(
    reader.vec8("username", MAX_USERNAME_BYTES, 1),
  );
  checkUsername(username);
  return username;
}

/** Fresh identity keys for `suites` (by id). */
export function generateIdentityKeys(username: string, suites: readonly SuiteId[]): IdentityKeys {
  checkUsername(username);
  return {
    username,
    suites: [...new Set(suites)].map((id) => {
      const suite = getSuite(id);
      return {
        suite,
        signature: suite.signature.keygen(),
        agreement: suite.agreement?.keygen() ?? null,
        kem: suite.kem.keygen(),
      };
    }),
  };
}
