import { access, rename, stat } from "node:fs/promises";
import { resolve } from "node:path";
import { type Argon2idParameters, checkArgon2idParameters } from "../../crypto/index.ts";
import { nodeProvider } from "../../crypto/node-provider.ts";
import { type SuiteName, suiteName } from "../../crypto/suite-ids.ts";
import { NanoError } from "../../errors/index.ts";
import { ensurePrivateDirectory } from "../home/atomic-file.ts";
import { deviceFingerprint, identityFingerprint } from "../home/fingerprints.ts";
import { checkRelayUrl, type HomePaths, writeConfig } from "../home/home.ts";
import { encodeIdentitySeeds, generateIdentitySeeds, suitesAcceptedByMode } from "../home/identity-seeds.ts";
import { checkNewPassphrase, type Passphrase, saveKeystore } from "../keystore/keystore.ts";
import { encodeKeystoreContents, newKeystoreContents } from "../keystore/keystore-contents.ts";
import { LocalStore } from "../local-store/local-store.ts";

export interface InitRequest {
  readonly paths: HomePaths;
  readonly mode: SuiteName;
  readonly passphrase: Passphrase;
  readonly relay?: string;
  readonly ca?: string;
  readonly argon2id?: Argon2idParameters;
  readonly now?: number;
}

export interface InitResult {
  readonly home: string;
  readonly mode: SuiteName;
  readonly acceptedSuites: readonly SuiteName[];
  readonly identityFingerprint: string;
  readonly deviceFingerprint: string;
  readonly relay: string | null;
}

/**
 * Creates a home: 0700 directory, the keystore (identity seeds for every accepted suite, a device key
 * and a fresh local database key, sealed under the passphrase), config.json and an empty local store.
 * The keystore is written last but one, and its existence is what makes a home "initialized", so a
 * crash half-way leaves a home that `init` can simply run on again.
 */
export async function initHome(request: InitRequest): Promise<InitResult> {
  const { paths, mode } = request;
  checkNewPassphrase(request.passphrase);
  // Only within the bounds every reader accepts: a weaker keystore could never be opened again.
  if (request.argon2id !== undefined) checkArgon2idParameters(request.argon2id);
  const relay = request.relay === undefined ? null : checkRelayUrl(request.relay);
  let ca: string | null = null;
  if (request.ca !== undefined) {
    ca = resolve(request.ca);
    const info = await stat(ca).catch(() => null);
    if (info === null || !info.isFile())
      throw new NanoError("invalid_argument", `CA file ${ca} does not exist`);
  }
  const exists = await access(paths.keystore).then(
    () => true,
    () => false,
  );
  if (exists) throw new NanoError("keystore_exists", `a keystore already exists in ${paths.root}`);

  await ensurePrivateDirectory(paths.root);
  const now = request.now ?? Date.now();
  const seeds = await generateIdentitySeeds(nodeProvider, mode, now);
  const contents = newKeystoreContents(encodeIdentitySeeds(nodeProvider, seeds));
  await writeConfig(paths, { version: 1, cryptoMode: mode, relay, ca, username: null, createdAt: now });
  await setAsideOrphanedStore(paths, now);
  const store = await LocalStore.open(paths.localStore, contents.localStoreKey);
  await store.close();
  await saveKeystore(
    paths.keystore,
    encodeKeystoreContents(contents),
    request.passphrase,
    request.argon2id ? { argon2id: request.argon2id } : {},
  );
  return {
    home: paths.root,
    mode,
    acceptedSuites: suitesAcceptedByMode(mode).map(suiteName),
    identityFingerprint: await identityFingerprint(nodeProvider, seeds),
    deviceFingerprint: await deviceFingerprint(nodeProvider, seeds),
    relay,
  };
}

/**
 * A local.db without a keystore is left by an `init` that crashed, or by a deleted keystore: it is
 * unreadable without its key. It is renamed aside rather than deleted, so nothing is destroyed.
 */
async function setAsideOrphanedStore(paths: HomePaths, now: number): Promise<void> {
  // The anchor (state-anchor.ts) is sealed under the orphan's key: it goes aside with it.
  for (const suffix of ["", "-wal", "-shm", ".anchor"]) {
    await rename(`${paths.localStore}${suffix}`, `${paths.localStore}.orphaned-${now}${suffix}`).catch(
      (error: NodeJS.ErrnoException) => {
        if (error.code !== "ENOENT") throw error;
      },
    );
  }
}
