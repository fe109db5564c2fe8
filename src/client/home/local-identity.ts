import { getSuite, type SuiteKeyPairs, utf8 } from "../../crypto/index.ts";
import { NanoError } from "../../errors/index.ts";
import {
  createDevice,
  createIdentityRecord,
  type DeviceCertificate,
  decodeDeviceCertificateExact,
  decodeIdentityRecordExact,
  type IdentityKeys,
  type IdentityRecord,
} from "../../protocol/index.ts";
import type { LocalTables } from "../local-store/local-store.ts";
import type { IdentitySeeds } from "./identity-seeds.ts";

/**
 * The owner's protocol identity. The keystore holds the identity seeds from `init`; the identity
 * record names a username, so it is created (and signed by every identity key) when the username is
 * claimed, together with the device key the relay authenticates (DESIGN.md: an identity key that
 * signs relay challenges would be a signing oracle). Record, certificate and device seed live in one
 * sealed `meta` row of the local store: the device seed is secret, so it is never in the clear.
 */
export interface OwnIdentity {
  readonly keys: IdentityKeys;
  readonly record: IdentityRecord;
  readonly certificate: DeviceCertificate;
  readonly deviceSeed: Uint8Array;
}

const META_NAME = "own-identity";
/**
 * A device certificate starts this long before it is made: the relay judges it by its own clock, and
 * a client clock a few minutes ahead must not make a fresh certificate "not valid now". Long enough for
 * an unsynchronized clock, short enough to say little about when the device was really made.
 */
const DEVICE_BACKDATE_MS = 60 * 60_000;

/** When a device certificate made at `now` starts (DEVICE_BACKDATE_MS before, never before 1970). */
export function deviceValidFrom(now: number): number {
  return Math.max(0, now - DEVICE_BACKDATE_MS);
}
/** A replacement identity staged by `init --replace` and not yet completed. */
export const PENDING_IDENTITY = "pending-identity";

/** The protocol's key pairs, recomputed from the seeds (public keys are derived, never stored). */
export function identityKeysFromSeeds(seeds: IdentitySeeds, username: string): IdentityKeys {
  return {
    username,
    suites: seeds.suites.map(
      (entry): SuiteKeyPairs => ({
        suite: entry.suite,
        signature: { seed: entry.signature, publicKey: entry.suite.signature.publicKey(entry.signature) },
        agreement:
          entry.suite.agreement && entry.agreement
            ? { seed: entry.agreement, publicKey: entry.suite.agreement.publicKey(entry.agreement) }
            : null,
        kem: { seed: entry.kem, publicKey: entry.suite.kem.publicKey(entry.kem) },
      }),
    ),
  };
}

interface StoredIdentity {
  readonly record: string;
  readonly certificate: string;
  readonly deviceSeed: string;
}

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");
const unb64 = (text: string) => new Uint8Array(Buffer.from(text, "base64"));

export function loadOwnIdentity(
  tables: LocalTables,
  seeds: IdentitySeeds,
  options: { allowStaged?: boolean } = {},
): OwnIdentity | null {
  if (options.allowStaged !== true && tables.getSecretMeta(PENDING_IDENTITY) !== null) {
    // The keystore may already hold the new keys while the stored record is the old one.
    throw new NanoError(
      "identity_replacement_incomplete",
      "an identity replacement was interrupted; run `nano-client init --replace` again to finish it",
    );
  }
  const bytes = tables.getSecretMeta(META_NAME);
  if (bytes === null) return null;
  const stored = JSON.parse(new TextDecoder().decode(bytes)) as StoredIdentity;
  const record = decodeIdentityRecordExact(unb64(stored.record));
  return {
    keys: identityKeysFromSeeds(seeds, record.username),
    record,
    certificate: decodeDeviceCertificateExact(unb64(stored.certificate)),
    deviceSeed: unb64(stored.deviceSeed),
  };
}

/**
 * Creates the record and the device for `username`, or returns the stored ones when they already
 * name it (a retried claim must present the same record, or the relay sees another identity).
 */
export function ensureOwnIdentity(
  tables: LocalTables,
  seeds: IdentitySeeds,
  username: string,
  now: number,
): OwnIdentity {
  const existing = loadOwnIdentity(tables, seeds);
  if (existing !== null) {
    if (existing.record.username !== username) {
      throw new NanoError(
        "invalid_argument",
        `this identity already claimed ${existing.record.username}; one username per identity`,
      );
    }
    return existing;
  }
  const keys = identityKeysFromSeeds(seeds, username);
  const preferred = getSuite(seeds.preferred.id);
  const record = createIdentityRecord(keys, preferred.id, { created: seeds.createdAt });
  const { deviceKey, certificate } = createDevice(keys, preferred, { created: deviceValidFrom(now) });
  const own = { keys, record, certificate, deviceSeed: deviceKey.seed };
  storeOwnIdentity(tables, own);
  return own;
}

/**
 * Drops the stored record and device of `username` (the relay refused the claim for good): the home is
 * again as `init` left it. Never touches a record that names another username or a replacement in
 * progress.
 */
export function forgetUnclaimedIdentity(tables: LocalTables, seeds: IdentitySeeds, username: string): void {
  const own = loadOwnIdentity(tables, seeds);
  if (own?.record.username === username) tables.deleteSecretMeta(META_NAME);
}

export function storeOwnIdentity(tables: LocalTables, own: OwnIdentity): void {
  const stored: StoredIdentity = {
    record: b64(own.record.encoded),
    certificate: b64(own.certificate.encoded),
    deviceSeed: b64(own.deviceSeed),
  };
  tables.putSecretMeta(META_NAME, utf8(JSON.stringify(stored)));
}

/**
 * The own identity, or a typed refusal. `claimed` is config.json's username: a home that claimed a
 * name and whose local.db holds no identity lost or swapped its local database (issue 13, loss 4).
 * Claiming again from there would mint a new device and prekeys and leave every message waiting at the
 * relay unreadable, so that is refused with the way back instead of the usual "claim a username" hint.
 */
export function requireOwnIdentity(identity: OwnIdentity | null, claimed: string | null = null): OwnIdentity {
  if (identity === null && claimed !== null) throw localStoreLost(claimed);
  if (identity === null) {
    throw new NanoError("username_not_claimed", "this identity has no username yet");
  }
  return identity;
}

export function localStoreLost(claimed: string): NanoError {
  return new NanoError(
    "local_store_mismatch",
    `this home claimed ${claimed}, but its local.db holds no identity: the local database was lost or replaced by another one`,
  );
}
