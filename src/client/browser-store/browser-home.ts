import type { Argon2idParameters } from "../../crypto/password-parameters.ts";
import type { CryptoProvider } from "../../crypto/provider/index.ts";
import type { SuiteName } from "../../crypto/suite-ids.ts";
import { NanoError } from "../../errors/index.ts";
import { type ClientConfig, CONFIG, checkRelayUrl } from "../home/client-config.ts";
import { decodeIdentitySeeds, encodeIdentitySeeds, generateIdentitySeeds } from "../home/identity-seeds.ts";
import type { UnlockedHome } from "../home/open-home.ts";
import { type KeystoreContents, newKeystoreContents } from "../keystore/keystore-contents.ts";
import type { LocalStoreApi } from "../local-store/local-tables.ts";
import {
  createBrowserKeystore,
  deleteBrowserKeystore,
  hasBrowserKeystore,
  openBrowserKeystore,
} from "./browser-keystore.ts";
import { IdbAttachmentSink } from "./idb-attachment-sink.ts";
import { IdbLocalStore } from "./idb-local-store.ts";
import { indexedDbFactory, requestResult } from "./idb-requests.ts";

/**
 * The client's home in the browser (docs/web.md "Browser home"): what a folder is in Node, as four
 * IndexedDB databases of this origin — the browser keystore (`<name>-keystore`: the identity seeds and
 * the local store key), the local store (`<name>-local`), the quarantine (`<name>-quarantine`, apart
 * from the store as in Node) and the received files (`<name>-files`, idb-attachment-sink.ts). The config (relay, username, mode, retention) is a sealed meta row
 * of the store (`client-config`), so nothing of it is in the clear. It implements the runtime-free
 * `UnlockedHome`, so every operation of the SDK runs on it unchanged.
 */
export const DEFAULT_BROWSER_HOME = "nano";
/** The sealed meta row holding the config (JSON of client-config.ts's schema). */
const CONFIG_META = "client-config";
/** A config row larger than this is refused before parsing (config.json's limit in Node is the same order). */
const MAX_CONFIG_BYTES = 64 * 1024;

export interface BrowserHomeOptions {
  /** The client's crypto (createWebProvider() in the page): seeds, the store's seals. */
  readonly provider: CryptoProvider;
  /** Prefix of the home's databases (DEFAULT_BROWSER_HOME); one home per name. */
  readonly name?: string;
  readonly indexedDB?: IDBFactory;
  /** The Web Locks manager (navigator.locks by default): one tab per store. */
  readonly locks?: LockManager | null;
}

export interface BrowserHomeNames {
  readonly keystore: string;
  readonly store: string;
  readonly quarantine: string;
  readonly files: string;
}

export function browserHomeNames(name: string = DEFAULT_BROWSER_HOME): BrowserHomeNames {
  return {
    keystore: `${name}-keystore`,
    store: `${name}-local`,
    quarantine: `${name}-quarantine`,
    files: `${name}-files`,
  };
}

export interface CreateBrowserHomeOptions extends BrowserHomeOptions {
  readonly mode: SuiteName;
  /** The relay's origin (checked like config.json's: https, or http to loopback). */
  readonly relay: string;
  /** UTF-8 of the passphrase, or null: the keys are protected by the origin's storage alone. */
  readonly passphrase: Uint8Array | null;
  readonly onProgress?: (fraction: number) => void;
  /** The keystore's argon2id cost (BROWSER_ARGON2ID by default). */
  readonly argon2id?: Argon2idParameters;
  readonly now?: number;
}

export interface OpenBrowserHomeOptions extends BrowserHomeOptions {
  readonly passphrase?: Uint8Array | null;
  readonly onProgress?: (fraction: number) => void;
}

/** The browser home opened: the runtime-free home plus its IndexedDB stores as themselves. */
export interface BrowserUnlockedHome extends UnlockedHome {
  readonly names: BrowserHomeNames;
  readonly store: IdbLocalStore;
  readonly quarantine: IdbLocalStore;
  /** Received files, sealed under the store's key: the page's AttachmentSink, and what openFile reads. */
  readonly files: IdbAttachmentSink;
}

interface OpenStores {
  readonly store: IdbLocalStore;
  readonly quarantine: IdbLocalStore;
  readonly files: IdbAttachmentSink;
}

async function closeStores(stores: OpenStores): Promise<void> {
  await Promise.all([stores.store.close(), stores.quarantine.close()]);
  stores.files.close();
}

/**
 * Whether a home (its keystore) exists under `options.name`. Asked at every start of the app: where the
 * browser lists its databases, a missing keystore is answered from the list, because opening it to
 * look would create it (empty), and a deleted home would leave a database behind at each reload.
 */
export async function hasBrowserHome(options: Omit<BrowserHomeOptions, "provider">): Promise<boolean> {
  const names = browserHomeNames(options.name);
  const factory = indexedDbFactory(options.indexedDB);
  if (typeof factory.databases === "function") {
    const listed = await factory.databases();
    if (!listed.some((database) => database.name === names.keystore)) return false;
  }
  return hasBrowserKeystore({
    name: names.keystore,
    ...(options.indexedDB === undefined ? {} : { indexedDB: options.indexedDB }),
  });
}

function encodeConfig(config: ClientConfig): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(CONFIG.parse(config)));
}

function readConfig(store: LocalStoreApi): Promise<ClientConfig> {
  return store.read((tables) => {
    const bytes = tables.getSecretMeta(CONFIG_META);
    // The store opened under the keystore's key, so its rows are this home's: a missing config row was
    // deleted (meta rows are keyed in the clear), a malformed one cannot have been sealed by this app.
    if (bytes === null) throw new NanoError("client_config_invalid", "the browser home has no config row");
    if (bytes.length > MAX_CONFIG_BYTES)
      throw new NanoError("client_config_invalid", "the browser home's config row is too large");
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
    } catch {
      throw new NanoError("client_config_invalid", "the browser home's config row is not JSON");
    }
    const parsed = CONFIG.safeParse(json);
    if (!parsed.success)
      throw new NanoError("client_config_invalid", "the browser home's config row does not match the schema");
    return parsed.data;
  });
}

async function openStores(
  options: BrowserHomeOptions,
  names: BrowserHomeNames,
  key: Uint8Array,
): Promise<OpenStores> {
  const indexedDB = options.indexedDB === undefined ? {} : { indexedDB: options.indexedDB };
  const files = await IdbAttachmentSink.open({
    name: names.files,
    databaseKey: key,
    primitives: options.provider.primitives,
    ...indexedDB,
  });
  const common = {
    databaseKey: key,
    primitives: options.provider.primitives,
    ...indexedDB,
    ...(options.locks === undefined ? {} : { locks: options.locks }),
  };
  try {
    // A message's file goes with it when its timer runs out (the store's sweep names them).
    const store = await IdbLocalStore.open({
      ...common,
      name: names.store,
      removeFiles: (locations) => files.removeAll(locations),
    });
    try {
      const quarantine = await IdbLocalStore.open({ ...common, name: names.quarantine });
      return { store, quarantine, files };
    } catch (error) {
      await store.close();
      throw error;
    }
  } catch (error) {
    files.close();
    throw error;
  }
}

function homeOf(
  options: BrowserHomeOptions,
  names: BrowserHomeNames,
  contents: KeystoreContents,
  stores: OpenStores,
  config: ClientConfig,
): BrowserUnlockedHome {
  const seeds = decodeIdentitySeeds(options.provider, contents.identity);
  const { store, quarantine, files } = stores;
  return {
    names,
    location: `this browser (IndexedDB "${names.store}")`,
    config,
    seeds,
    store,
    quarantine,
    files,
    saveConfig: async (next) => {
      const bytes = encodeConfig(next);
      await store.transaction((tables) => tables.putSecretMeta(CONFIG_META, bytes));
    },
    async close() {
      await closeStores(stores);
      for (const entry of seeds.suites) {
        entry.signature.fill(0);
        entry.kem.fill(0);
        entry.agreement?.fill(0);
      }
      seeds.device.fill(0);
    },
  };
}

/**
 * Makes a home with a new identity and opens it. The store (with its config row) is written first and
 * the keystore last, as `init` writes config and store before the keystore file: the keystore is the
 * commit point, so a page closed half-way leaves no keystore, and the next create starts over. Stores
 * found without a keystore are such leftovers (sealed under a key nobody holds any more) and are deleted.
 */
export async function createBrowserHome(options: CreateBrowserHomeOptions): Promise<BrowserUnlockedHome> {
  const names = browserHomeNames(options.name);
  if (await hasBrowserHome(options))
    throw new NanoError("keystore_exists", "this browser already holds an identity for this app");
  const relay = checkRelayUrl(options.relay);
  const now = options.now ?? Date.now();
  const seeds = await generateIdentitySeeds(options.provider, options.mode, now);
  const contents = newKeystoreContents(encodeIdentitySeeds(options.provider, seeds));
  await destroyStores(names, options.indexedDB);
  const config: ClientConfig = {
    version: 1,
    cryptoMode: options.mode,
    relay,
    ca: null,
    username: null,
    createdAt: now,
  };
  const stores = await openStores(options, names, contents.localStoreKey);
  try {
    const bytes = encodeConfig(config);
    await stores.store.transaction((tables) => tables.putSecretMeta(CONFIG_META, bytes));
    await createBrowserKeystore(contents, {
      name: names.keystore,
      passphrase: options.passphrase,
      ...(options.indexedDB === undefined ? {} : { indexedDB: options.indexedDB }),
      ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
      ...(options.argon2id === undefined ? {} : { argon2id: options.argon2id }),
    });
    return homeOf(options, names, contents, stores, config);
  } catch (error) {
    await closeStores(stores);
    throw error;
  } finally {
    contents.localStoreKey.fill(0);
    contents.identity.fill(0);
  }
}

/**
 * Opens the home: the keystore (`passphrase_required` when it has a passphrase and none was given,
 * `wrong_passphrase`, `keystore_missing`, `keystore_tampered`), then the store and the quarantine under
 * its key, then the config row (`client_config_invalid`).
 */
export async function openBrowserHome(options: OpenBrowserHomeOptions): Promise<BrowserUnlockedHome> {
  const names = browserHomeNames(options.name);
  const contents = await openBrowserKeystore({
    name: names.keystore,
    passphrase: options.passphrase ?? null,
    ...(options.indexedDB === undefined ? {} : { indexedDB: options.indexedDB }),
    ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
  });
  try {
    const stores = await openStores(options, names, contents.localStoreKey);
    try {
      const config = await readConfig(stores.store);
      return homeOf(options, names, contents, stores, config);
    } catch (error) {
      await closeStores(stores);
      throw error;
    }
  } finally {
    contents.localStoreKey.fill(0);
    contents.identity.fill(0);
  }
}

/**
 * Deletes the home (after the relay deleted the account, or to start over): the keystore first — its
 * wrapping key is what makes the rest readable — then the store, the quarantine and the files. The home must be
 * closed (an open store holds its databases).
 */
export async function deleteBrowserHome(options: Omit<BrowserHomeOptions, "provider">): Promise<void> {
  const names = browserHomeNames(options.name);
  await deleteBrowserKeystore({
    name: names.keystore,
    ...(options.indexedDB === undefined ? {} : { indexedDB: options.indexedDB }),
  });
  await destroyStores(names, options.indexedDB);
}

async function destroyStores(names: BrowserHomeNames, indexedDB: IDBFactory | undefined): Promise<void> {
  await IdbLocalStore.destroy(names.store, indexedDB);
  await IdbLocalStore.destroy(names.quarantine, indexedDB);
  await requestResult(indexedDbFactory(indexedDB).deleteDatabase(names.files));
}
