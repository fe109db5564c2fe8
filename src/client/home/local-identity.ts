import { utf8 } from "../../crypto/index.ts";
import { nodeProvider } from "../../crypto/node-provider.ts";
import { NanoError } from "../../errors/index.ts";
import {
  createDevice,
  createIdentityRecord,
  decodeDeviceCertificateExact,
  decodeIdentityRecordExact,
  type IdentityKeys,
  type SuiteKeyPairs,
} from "../../protocol/index.ts";
import type { LocalStore, LocalTables } from "../local-store/local-store.ts";
import type { IdentitySeeds } from "./identity-seeds.ts";
import type { OwnIdentity } from "./own-identity.ts";

export type { OwnIdentity } from "./own-identity.ts";

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

/**
 * The protocol's key pairs, recomputed from the seeds (public keys are derived, never stored). The
 * home is Node-only (SQLite, the file system): its seeds expand with src/crypto synchronously and the
 * pairs name the node provider's suites, which the protocol then uses.
 */
export function identityKeysFromSeeds(seeds: IdentitySeeds, username: string): IdentityKeys {
  return {
    username,
    suites: seeds.suites.map(
      (entry): SuiteKeyPairs => ({
        suite: nodeProvider.suite(entry.suite.id),
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

/** The stored row, read inside a transaction; decoding (signature checks, async) happens after it. */
export function readStoredIdentity(
  tables: LocalTables,
  options: { allowStaged?: boolean } = {},
): StoredIdentity | null {
  if (options.allowStaged !== true && tables.getSecretMeta(PENDING_IDENTITY) !== null) {
    // The keystore may already hold the new keys while the stored record is the old one.
    throw new NanoError(
      "identity_replacement_incomplete",
      "an identity replacement was interrupted; run `nano-client init --replace` again to finish it",
    );
  }
  const bytes = tables.getSecretMeta(META_NAME);
  if (bytes === null) return null;
  return JSON.parse(new TextDecoder().decode(bytes)) as StoredIdentity;
}

export async function openStoredIdentity(stored: StoredIdentity, seeds: IdentitySeeds): Promise<OwnIdentity> {
  const record = await decodeIdentityRecordExact(nodeProvider, unb64(stored.record));
  return {
    keys: identityKeysFromSeeds(seeds, record.username),
    record,
    certificate: decodeDeviceCertificateExact(nodeProvider, unb64(stored.certificate)),
    deviceSeed: unb64(stored.deviceSeed),
  };
}

export async function loadOwnIdentity(
  store: Pick<LocalStore, "read">,
  seeds: IdentitySeeds,
  options: { allowStaged?: boolean } = {},
): Promise<OwnIdentity | null> {
  const stored = await store.read((tables) => readStoredIdentity(tables, options));
  return stored === null ? null : openStoredIdentity(stored, seeds);
}

/** A new record and device for `username` (not stored). */
export async function createOwnIdentity(
  seeds: IdentitySeeds,
  username: string,
  now: number,
  recordVersion = 1,
): Promise<OwnIdentity> {
  const keys = identityKeysFromSeeds(seeds, username);
  const preferred = nodeProvider.suite(seeds.preferred.id);
  const record = await createIdentityRecord(nodeProvider, keys, preferred.id, {
    recordVersion,
    created: recordVersion === 1 ? seeds.createdAt : now,
  });
  const { deviceKey, certificate } = await createDevice(nodeProvider, keys, preferred, {
    created: deviceValidFrom(now),
  });
  return { keys, record, certificate, deviceSeed: deviceKey.seed };
}

/**
 * Creates the record and the device for `username`, or returns the stored ones when they already
 * name it (a retried claim must present the same record, or the relay sees another identity).
 * `claimed` is config.json's username: a home that claimed one and holds no identity lost its local
 * database (`local_store_mismatch`).
 */
export async function ensureOwnIdentity(
  store: Pick<LocalStore, "read" | "transaction">,
  seeds: IdentitySeeds,
  username: string,
  now: number,
  claimed: string | null = null,
): Promise<OwnIdentity> {
  const existing = await loadOwnIdentity(store, seeds);
  if (existing === null && claimed !== null) throw localStoreLost(claimed);
  if (existing !== null) {
    if (existing.record.username !== username) {
      throw new NanoError(
        "invalid_argument",
        `this identity already claimed ${existing.record.username}; one username per identity`,
      );
    }
    return existing;
  }
  const own = await createOwnIdentity(seeds, username, now);
  // Stored only if nothing was stored meanwhile; otherwise the stored one wins, as a retry would.
  const raced = await store.transaction((tables) => {
    const stored = readStoredIdentity(tables);
    if (stored === null) storeOwnIdentity(tables, own);
    return stored;
  });
  return raced === null ? own : ensureOwnIdentity(store, seeds, username, now);
}

/**
 * Drops the stored record and device of `username` (the relay refused the claim for good): the home is
 * again as `init` left it. Never touches a record that names another username or a replacement in
 * progress.
 */
export async function forgetUnclaimedIdentity(
  store: Pick<LocalStore, "read" | "transaction">,
  seeds: IdentitySeeds,
  username: string,
): Promise<void> {
  const own = await loadOwnIdentity(store, seeds);
  if (own?.record.username !== username) return;
  const encoded = b64(own.record.encoded);
  await store.transaction((tables) => {
    // Only the record just read: a record stored meanwhile is not this claim's.
    if (readStoredIdentity(tables)?.record === encoded) tables.deleteSecretMeta(META_NAME);
  });
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
