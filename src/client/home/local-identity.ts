import { utf8 } from "../../crypto/bytes.ts";
import type { CryptoProvider } from "../../crypto/provider/index.ts";
import { NanoError } from "../../errors/index.ts";
import {
  createDevice,
  createIdentityRecord,
  decodeDeviceCertificateExact,
  decodeIdentityRecordExact,
  type IdentityKeys,
  type SuiteKeyPairs,
} from "../../protocol/index.ts";
import { PORTABLE_BASE64 } from "../../text/base64.ts";
import type { LocalStoreApi, LocalTables } from "../local-store/local-tables.ts";
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
 * The protocol's key pairs, recomputed from the seeds (public keys are derived, never stored) with the
 * client's provider, whose suites the pairs then name: node:crypto in Node, WebCrypto/@noble in the page.
 */
export async function identityKeysFromSeeds(
  provider: CryptoProvider,
  seeds: IdentitySeeds,
  username: string,
): Promise<IdentityKeys> {
  const suites = await Promise.all(
    seeds.suites.map(async (entry): Promise<SuiteKeyPairs> => {
      const suite = provider.suite(entry.suite);
      const [signature, agreement, kem] = await Promise.all([
        suite.signature.publicKey(entry.signature),
        suite.agreement && entry.agreement ? suite.agreement.publicKey(entry.agreement) : null,
        suite.kem.publicKey(entry.kem),
      ]);
      return {
        suite,
        signature: { seed: entry.signature, publicKey: signature },
        agreement:
          agreement !== null && entry.agreement ? { seed: entry.agreement, publicKey: agreement } : null,
        kem: { seed: entry.kem, publicKey: kem },
      };
    }),
  );
  return { username, suites };
}

interface StoredIdentity {
  readonly record: string;
  readonly certificate: string;
  readonly deviceSeed: string;
}

const b64 = PORTABLE_BASE64.encode;
const unb64 = PORTABLE_BASE64.decode;

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

export async function openStoredIdentity(
  provider: CryptoProvider,
  stored: StoredIdentity,
  seeds: IdentitySeeds,
): Promise<OwnIdentity> {
  const record = await decodeIdentityRecordExact(provider, unb64(stored.record));
  return {
    keys: await identityKeysFromSeeds(provider, seeds, record.username),
    record,
    certificate: decodeDeviceCertificateExact(provider, unb64(stored.certificate)),
    deviceSeed: unb64(stored.deviceSeed),
  };
}

export async function loadOwnIdentity(
  provider: CryptoProvider,
  store: Pick<LocalStoreApi, "read">,
  seeds: IdentitySeeds,
  options: { allowStaged?: boolean } = {},
): Promise<OwnIdentity | null> {
  const stored = await store.read((tables) => readStoredIdentity(tables, options));
  return stored === null ? null : openStoredIdentity(provider, stored, seeds);
}

/** A new record and device for `username` (not stored). */
export async function createOwnIdentity(
  provider: CryptoProvider,
  seeds: IdentitySeeds,
  username: string,
  now: number,
  recordVersion = 1,
): Promise<OwnIdentity> {
  const keys = await identityKeysFromSeeds(provider, seeds, username);
  const preferred = provider.suite(seeds.preferred);
  const record = await createIdentityRecord(provider, keys, preferred.id, {
    recordVersion,
    created: recordVersion === 1 ? seeds.createdAt : now,
  });
  const { deviceKey, certificate } = await createDevice(provider, keys, preferred, {
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
  provider: CryptoProvider,
  store: Pick<LocalStoreApi, "read" | "transaction">,
  seeds: IdentitySeeds,
  username: string,
  now: number,
  claimed: string | null = null,
): Promise<OwnIdentity> {
  const existing = await loadOwnIdentity(provider, store, seeds);
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
  const own = await createOwnIdentity(provider, seeds, username, now);
  // Stored only if nothing was stored meanwhile; otherwise the stored one wins, as a retry would.
  const raced = await store.transaction((tables) => {
    const stored = readStoredIdentity(tables);
    if (stored === null) storeOwnIdentity(tables, own);
    return stored;
  });
  return raced === null ? own : ensureOwnIdentity(provider, store, seeds, username, now);
}

/**
 * Drops the stored record and device of `username` (the relay refused the claim for good): the home is
 * again as `init` left it. Never touches a record that names another username or a replacement in
 * progress.
 */
export async function forgetUnclaimedIdentity(
  provider: CryptoProvider,
  store: Pick<LocalStoreApi, "read" | "transaction">,
  seeds: IdentitySeeds,
  username: string,
): Promise<void> {
  const own = await loadOwnIdentity(provider, store, seeds);
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
