import { utf8 } from "../crypto/bytes.ts";
import { label, PROTOCOL_VERSION, SIGNATURE_CONTEXTS } from "../crypto/labels.ts";
import {
  COMPOSITE_LENGTHS,
  ED25519_LENGTHS,
  ML_DSA_65_LENGTHS,
  ML_KEM_768_LENGTHS,
  X_WING_LENGTHS,
  X25519_KEM_LENGTHS,
  X25519_LENGTHS,
} from "../crypto/parameters.ts";
import type { CryptoProvider, ProviderSuite } from "../crypto/provider/index.ts";
import type { SuiteId } from "../crypto/suite-ids.ts";
import {
  decodeSuitePublicKeysWith,
  encodeSuitePublicKeys,
  publicKeysOf,
  type SuiteKeyPairsOf,
  type SuitePublicKeysOf,
} from "../crypto/suite-keys.ts";
import { NanoError } from "../errors/index.ts";
import { Reader, Writer } from "./_codec.ts";
import { constantTimeEqual } from "./_constant-time.ts";

/** A suite's identity public keys, and the owner's key pairs, over the provider's suites. */
export type SuitePublicKeys = SuitePublicKeysOf<ProviderSuite>;
export type SuiteKeyPairs = SuiteKeyPairsOf<ProviderSuite>;

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
/** Per suite: u16 id, then each key with its algorithm byte, then the record signature. */
const CLASSICAL_ENTRY =
  2 + 1 + ED25519_LENGTHS.publicKey + 1 + X25519_LENGTHS.publicKey + 1 + X25519_KEM_LENGTHS.publicKey;
const HYBRID_ENTRY =
  2 + 1 + COMPOSITE_LENGTHS.publicKey + 1 + X25519_LENGTHS.publicKey + 1 + X_WING_LENGTHS.publicKey;
const QUANTUM_ENTRY = 2 + 1 + ML_DSA_65_LENGTHS.publicKey + 1 + ML_KEM_768_LENGTHS.publicKey;
export const IDENTITY_RECORD_SLOT_BYTES =
  2 +
  1 +
  MAX_USERNAME_BYTES +
  4 +
  8 +
  2 +
  1 +
  CLASSICAL_ENTRY +
  ED25519_LENGTHS.signature +
  HYBRID_ENTRY +
  COMPOSITE_LENGTHS.signature +
  QUANTUM_ENTRY +
  ML_DSA_65_LENGTHS.signature;
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

export function recordKeysFor(record: IdentityRecord, suite: ProviderSuite): SuitePublicKeys {
  const keys = record.keys.find((entry) => entry.suite.id === suite.id);
  if (keys === undefined) {
    throw new NanoError("suite_not_accepted", `${record.username} does not accept the ${suite.name} suite`);
  }
  return keys;
}

export function identityKeysFor(identity: IdentityKeys, suite: ProviderSuite): SuiteKeyPairs {
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
export async function createIdentityRecord(
  provider: CryptoProvider,
  identity: IdentityKeys,
  preferred: SuiteId,
  options: CreateIdentityOptions = {},
): Promise<IdentityRecord> {
  const sorted = [...identity.suites].sort((a, b) => a.suite.id - b.suite.id);
  checkSuiteList(
    sorted.map((entry) => entry.suite.id),
    preferred,
  );
  const keys = sorted.map(publicKeysOf);
  const body = encodeBody(
    identity.username,
    options.recordVersion ?? 1,
    options.created ?? Date.now(),
    preferred,
    keys,
  );
  const context = label(SIGNATURE_CONTEXTS.identityRecord);
  const signatures = await Promise.all(
    sorted.map((entry) => entry.suite.signature.sign(entry.signature.seed, body, context)),
  );
  const writer = new Writer().bytes(body);
  for (const signature of signatures) writer.bytes(signature);
  return decodeIdentityRecordExact(provider, writer.finish());
}

/**
 * Decodes AND verifies a record at `offset`: length, version, fields, then every signature. A record
 * that does not verify is never returned, so callers cannot forget the check.
 */
export async function decodeIdentityRecord(
  provider: CryptoProvider,
  bytes: Uint8Array,
  offset: number,
): Promise<[IdentityRecord, number]> {
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
    const [entry, read] = decodeSuitePublicKeysWith(bytes, reader.offset, provider.suite);
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
  for (const [i, entry] of keys.entries()) {
    if (!(await entry.suite.signature.verify(entry.signature, body, signatures[i]!, context))) {
      throw new NanoError("invalid_signature", `identity record signature of the ${entry.suite.name} key`);
    }
  }
  const record: IdentityRecord = {
    username,
    recordVersion,
    created,
    preferred: provider.suite(preferred).id,
    keys,
    signatures,
    encoded,
    hash: provider.primitives.blake2b(encoded),
  };
  return [record, reader.offset - offset];
}

export async function decodeIdentityRecordExact(
  provider: CryptoProvider,
  bytes: Uint8Array,
): Promise<IdentityRecord> {
  if (bytes.length > MAX_IDENTITY_RECORD_BYTES) throw new NanoError("malformed", "identity record too large");
  const [record, read] = await decodeIdentityRecord(provider, bytes, 0);
  if (read !== bytes.length) throw new NanoError("trailing_bytes", "bytes after the identity record");
  return record;
}

/**
 * Reads a `u32 length || record` field as used inside bundles and claims. A `trusted` record whose
 * bytes are exactly these is returned as it is: it was verified already, and equal bytes verify equally.
 */
export async function readIdentityRecordField(
  provider: CryptoProvider,
  reader: Reader,
  trusted?: IdentityRecord,
): Promise<IdentityRecord> {
  const bytes = reader.vec32("identity record", MAX_IDENTITY_RECORD_BYTES, 1);
  if (trusted !== undefined && constantTimeEqual(trusted.encoded, bytes)) return trusted;
  return decodeIdentityRecordExact(provider, bytes);
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
export async function generateIdentityKeys(
  provider: CryptoProvider,
  username: string,
  suites: readonly SuiteId[],
): Promise<IdentityKeys> {
  checkUsername(username);
  return {
    username,
    suites: await Promise.all(
      [...new Set(suites)].map(async (id): Promise<SuiteKeyPairs> => {
        const suite = provider.suite(id);
        return {
          suite,
          signature: await suite.signature.keygen(),
          agreement: suite.agreement ? await suite.agreement.keygen() : null,
          kem: await suite.kem.keygen(),
        };
      }),
    ),
  };
}
