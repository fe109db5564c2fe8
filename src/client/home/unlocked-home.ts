import { access } from "node:fs/promises";
import { wipe } from "../../crypto/bytes.ts";
import { nodeProvider } from "../../crypto/node-provider.ts";
import { NanoError } from "../../errors/index.ts";
import { loadKeystore, type Passphrase } from "../keystore/keystore.ts";
import { decodeKeystoreContents, type KeystoreContents } from "../keystore/keystore-contents.ts";
import { LocalStore } from "../local-store/local-store.ts";
import { assertNotWritableByOthers } from "./atomic-file.ts";
import { type HomePaths, readConfig, writeConfig } from "./home.ts";
import { decodeIdentitySeeds } from "./identity-seeds.ts";
import type { UnlockedHome } from "./open-home.ts";

export type { UnlockedHome } from "./open-home.ts";

/**
 * The Node home opened with its passphrase (open-home.ts): its folder's paths, and the SQLite store and
 * quarantine (local.db, quarantine.db) as themselves, for the Node-only commands and the tests.
 * Every command but `init` starts here.
 */
export interface NodeUnlockedHome extends UnlockedHome {
  readonly paths: HomePaths;
  readonly store: LocalStore;
  readonly quarantine: LocalStore;
}

/**
 * `opening`: this home's keystore already being opened with `passphrase` (`loadKeystore(paths.keystore,
 * passphrase)`, started by the caller so that argon2id runs on the thread pool while the caller does
 * other work — the CLI loads the client's modules meanwhile). It is awaited where the keystore would be
 * read, after the same checks, so the errors and their order are those of an unlock started here; the
 * caller wipes the payload if this throws before taking it.
 */
export async function unlockHome(
  paths: HomePaths,
  passphrase: Passphrase,
  opening: Promise<Uint8Array> | null = null,
): Promise<NodeUnlockedHome> {
  try {
    await access(paths.keystore);
  } catch {
    throw new NanoError("keystore_missing", `no keystore in ${paths.root}`);
  }
  await assertNotWritableByOthers(paths.root, "home directory");
  const config = await readConfig(paths);
  const payload = await (opening ?? loadKeystore(paths.keystore, passphrase));
  let contents: KeystoreContents;
  try {
    contents = decodeKeystoreContents(payload);
  } finally {
    wipe(payload);
  }
  const seeds = decodeIdentitySeeds(nodeProvider, contents.identity);
  let store: LocalStore;
  let quarantine: LocalStore;
  try {
    store = await LocalStore.open(paths.localStore, contents.localStoreKey);
    try {
      quarantine = await LocalStore.open(paths.quarantine, contents.localStoreKey);
    } catch (error) {
      await store.close();
      throw error;
    }
  } finally {
    wipe(contents.localStoreKey, contents.identity);
  }
  return {
    paths,
    location: paths.root,
    config,
    seeds,
    store,
    quarantine,
    saveConfig: (next) => writeConfig(paths, next),
    async close() {
      await Promise.all([store.close(), quarantine.close()]);
      for (const entry of seeds.suites)
        wipe(entry.signature, entry.kem, ...(entry.agreement ? [entry.agreement] : []));
      wipe(seeds.device);
    },
  };
}
