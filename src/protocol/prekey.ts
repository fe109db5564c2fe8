import { ALG, type AlgId } from "../crypto/algorithms.ts";
import { wipe } from "../crypto/bytes.ts";
import { label, SIGNATURE_CONTEXTS } from "../crypto/labels.ts";
import type { CryptoProvider, ProviderSuite } from "../crypto/provider/index.ts";
import type { SuiteId } from "../crypto/suite-ids.ts";
import { NanoError } from "../errors/index.ts";
import { decodeExact, Reader, Writer } from "./_codec.ts";
import { type IdentityKeys, type IdentityRecord, identityKeysFor, recordKeysFor } from "./identity-record.ts";
import { checkValidityPeriod } from "./validity.ts";

/**
 * Signed prekeys (docs/protocol.md §6). Every prekey — one-time ML-KEM and X25519 keys included — is
 * signed over `suite || alg || role || id || pk || created || expires || last_resort || H(IR)`, so the
 * relay cannot swap a key into another slot, another suite, another identity or another lifetime.
 */
export const PREKEY_ROLES = Object.freeze({
  signedDh: 1,
  oneTimeDh: 2,
  pqOneTime: 3,
  pqLastResort: 4,
} as const);
export type PrekeyRole = (typeof PREKEY_ROLES)[keyof typeof PREKEY_ROLES];

/** Lifetimes: signed prekeys are replaced weekly and accepted for 30 days; one-time keys for 90. */
export const PREKEY_LIFETIMES = Object.freeze({
  signedMs: 30 * 24 * 3600 * 1000,
  rotateAfterMs: 7 * 24 * 3600 * 1000,
  oneTimeMs: 90 * 24 * 3600 * 1000,
});

export interface SignedPrekey {
  readonly suite: ProviderSuite;
  readonly alg: AlgId;
  readonly role: PrekeyRole;
  readonly id: number;
  readonly publicKey: Uint8Array;
  readonly created: number;
  readonly expires: number;
  readonly lastResort: boolean;
  readonly signature: Uint8Array;
  readonly encoded: Uint8Array;
}

/** The owner's side: the public prekey and its private seed. */
export interface PrekeySecret {
  readonly prekey: SignedPrekey;
  readonly seed: Uint8Array;
}

/** Which algorithm each role takes in a suite; null when the suite has no such role. */
export function roleAlgorithm(suite: ProviderSuite, role: PrekeyRole): AlgId | null {
  if (role === PREKEY_ROLES.signedDh || role === PREKEY_ROLES.oneTimeDh)
    return suite.agreement ? ALG.x25519 : null;
  return suite.ratchetKem ? ALG.mlKem768 : null;
}

function publicKeyLength(alg: AlgId): number {
  return alg === ALG.x25519 ? 32 : 1184;
}

function isRole(value: number): value is PrekeyRole {
  return value >= 1 && value <= 4;
}

/** suite || alg || role || id || pk || created || expires || last_resort: the encoded prefix. */
function encodeFields(
  suite: ProviderSuite,
  alg: AlgId,
  role: PrekeyRole,
  id: number,
  publicKey: Uint8Array,
  created: number,
  expires: number,
  lastResort: boolean,
): Uint8Array {
  return new Writer()
    .u16(suite.id)
    .u8(alg)
    .u8(role)
    .u32(id)
    .bytes(publicKey)
    .u64(created)
    .u64(expires)
    .bool(lastResort)
    .finish();
}

export function prekeySignedMessage(fields: Uint8Array, identityHash: Uint8Array): Uint8Array {
  return new Writer().bytes(fields).bytes(identityHash).finish();
}

export interface GeneratePrekeyOptions {
  readonly id?: number;
  readonly created?: number;
  readonly expires?: number;
}

/** Generates and signs one prekey of `role` for `suite`, bound to the owner's current record. */
export async function generatePrekey(
  provider: CryptoProvider,
  identity: IdentityKeys,
  record: IdentityRecord,
  suiteId: SuiteId,
  role: PrekeyRole,
  options: GeneratePrekeyOptions = {},
): Promise<PrekeySecret> {
  const suite = provider.suite(suiteId);
  const alg = roleAlgorithm(suite, role);
  if (alg === null)
    throw new NanoError("prekey_mismatch", `the ${suite.name} suite has no prekeys of role ${role}`);
  const scheme = alg === ALG.x25519 ? suite.agreement! : suite.ratchetKem!;
  const pair = await scheme.keygen();
  const created = options.created ?? Date.now();
  const lifetime =
    role === PREKEY_ROLES.signedDh || role === PREKEY_ROLES.pqLastResort
      ? PREKEY_LIFETIMES.signedMs
      : PREKEY_LIFETIMES.oneTimeMs;
  const expires = options.expires ?? created + lifetime;
  const id = options.id ?? new DataView(provider.primitives.randomBytes(4).buffer).getUint32(0);
  const fields = encodeFields(
    suite,
    alg,
    role,
    id,
    pair.publicKey,
    created,
    expires,
    role === PREKEY_ROLES.pqLastResort,
  );
  const keys = identityKeysFor(identity, suite);
  const signature = await suite.signature.sign(
    keys.signature.seed,
    prekeySignedMessage(fields, record.hash),
    label(SIGNATURE_CONTEXTS.prekey),
  );
  const prekey = decodeSignedPrekeyExact(provider, new Writer().bytes(fields).bytes(signature).finish());
  return { prekey, seed: pair.seed };
}

/** Parses one prekey (structure only; `verifySignedPrekey` checks signature, role and time). */
export function decodeSignedPrekey(
  provider: CryptoProvider,
  bytes: Uint8Array,
  offset: number,
): [SignedPrekey, number] {
  const reader = new Reader(bytes, offset);
  const suite = provider.suite(reader.u16("prekey suite"));
  const alg = reader.u8("prekey algorithm");
  const role = reader.u8("prekey role");
  if (!isRole(role)) throw new NanoError("malformed", `unknown prekey role ${role}`);
  if (roleAlgorithm(suite, role) !== alg) {
    throw new NanoError(
      "prekey_mismatch",
      `prekey algorithm ${alg} does not fit role ${role} in ${suite.name}`,
    );
  }
  const id = reader.u32("prekey id");
  const publicKey = reader.fixed(publicKeyLength(alg as AlgId), "prekey public key");
  const created = reader.u64n("prekey created");
  const expires = reader.u64n("prekey expires");
  const lastResort = reader.bool("last resort flag");
  if (lastResort !== (role === PREKEY_ROLES.pqLastResort)) {
    throw new NanoError(
      "prekey_mismatch",
      "the last-resort flag must be set exactly for last-resort PQ prekeys",
    );
  }
  if (expires <= created) throw new NanoError("malformed", "prekey expires before it is created");
  const signature = reader.fixed(suite.signature.lengths.signature, "prekey signature");
  const prekey: SignedPrekey = {
    suite,
    alg: alg as AlgId,
    role,
    id,
    publicKey,
    created,
    expires,
    lastResort,
    signature,
    encoded: bytes.slice(offset, reader.offset),
  };
  return [prekey, reader.offset - offset];
}

export function decodeSignedPrekeyExact(provider: CryptoProvider, bytes: Uint8Array): SignedPrekey {
  return decodeExact(bytes, (b, o) => decodeSignedPrekey(provider, b, o), "signed prekey");
}

/**
 * Checks a prekey against its owner's record: the suite is accepted, the signature by that suite's
 * identity key over the fields and H(IR) verifies, and `created <= now < expires`.
 */
export async function verifySignedPrekey(
  prekey: SignedPrekey,
  record: IdentityRecord,
  now: number = Date.now(),
): Promise<void> {
  const keys = recordKeysFor(record, prekey.suite);
  const fields = prekey.encoded.subarray(0, prekey.encoded.length - prekey.signature.length);
  const ok = await prekey.suite.signature.verify(
    keys.signature,
    prekeySignedMessage(fields, record.hash),
    prekey.signature,
    label(SIGNATURE_CONTEXTS.prekey),
  );
  if (!ok) throw new NanoError("invalid_signature", `prekey ${prekey.id} signature`);
  checkValidityPeriod(prekey, now, PREKEY_VALIDITY_CODES, `prekey ${prekey.id}`);
}

const PREKEY_VALIDITY_CODES = Object.freeze({
  early: "prekey_not_yet_valid",
  late: "prekey_expired",
} as const);

/**
 * Relay upload format: `u16 count || prekeys`, 1 to MAX_PREKEYS_PER_UPLOAD entries; every entry must
 * verify against the uploader's record. An empty list is malformed: it uploads nothing, and accepting
 * it would make `00 00` (or any two zero bytes) a valid list.
 */
export function encodePrekeyList(prekeys: readonly SignedPrekey[]): Uint8Array {
  const writer = new Writer().u16(prekeys.length);
  for (const prekey of prekeys) writer.bytes(prekey.encoded);
  return writer.finish();
}

export const MAX_PREKEYS_PER_UPLOAD = 200;

export async function decodePrekeyList(
  provider: CryptoProvider,
  bytes: Uint8Array,
  record: IdentityRecord,
  now: number = Date.now(),
): Promise<SignedPrekey[]> {
  const reader = new Reader(bytes);
  const count = reader.u16("prekey count");
  if (count === 0 || count > MAX_PREKEYS_PER_UPLOAD) {
    throw new NanoError("malformed", `1 to ${MAX_PREKEYS_PER_UPLOAD} prekeys`);
  }
  const prekeys: SignedPrekey[] = [];
  for (let i = 0; i < count; i++) {
    const [prekey, read] = decodeSignedPrekey(provider, bytes, reader.offset);
    reader.offset += read;
    await verifySignedPrekey(prekey, record, now);
    prekeys.push(prekey);
  }
  reader.end("prekey list");
  return prekeys;
}

/** Rotation (docs/protocol.md §6.4): what the owner should generate and what it may delete at `now`. */
export interface RotationPlan {
  /** Roles of `suite` whose newest signed key is older than rotateAfterMs (or missing). */
  readonly renew: readonly { suite: SuiteId; role: PrekeyRole }[];
  /** Expired prekeys: delete their secrets (and, for last-resort keys, their replay-cache entries). */
  readonly expired: readonly SignedPrekey[];
}

export function planRotation(
  provider: CryptoProvider,
  held: readonly SignedPrekey[],
  suites: readonly SuiteId[],
  now: number = Date.now(),
): RotationPlan {
  const renew: { suite: SuiteId; role: PrekeyRole }[] = [];
  for (const suiteId of suites) {
    const suite = provider.suite(suiteId);
    for (const role of [PREKEY_ROLES.signedDh, PREKEY_ROLES.pqLastResort] as const) {
      if (roleAlgorithm(suite, role) === null) continue;
      const newest = held
        .filter((p) => p.suite.id === suiteId && p.role === role && p.expires > now)
        .reduce((latest, p) => Math.max(latest, p.created), Number.NEGATIVE_INFINITY);
      if (now - newest >= PREKEY_LIFETIMES.rotateAfterMs) renew.push({ suite: suiteId, role });
    }
  }
  return { renew, expired: held.filter((p) => p.expires <= now) };
}

/** Wipes a prekey secret that was consumed or expired. */
export function wipePrekeySecret(secret: PrekeySecret): void {
  wipe(secret.seed);
}
