// The browser home in the page, for test/browser/browser-home.test.ts: each scenario runs here against
// the real IndexedDB and keystore and returns what it saw (error codes, config, seeds as hex), so the
// test in Node asserts on facts.
// First: zod builds its schemas without generating code, as the app's CSP requires.
import "../../../../src/web/jitless-parsing.ts";
import {
  browserHomeNames,
  createBrowserHome,
  deleteBrowserHome,
  hasBrowserHome,
  openBrowserHome,
} from "../../../../src/client/browser-store/browser-home.ts";
import { IdbLocalStore } from "../../../../src/client/browser-store/idb-local-store.ts";
import { requestResult, transactionDone } from "../../../../src/client/browser-store/idb-requests.ts";
import { encodeIdentitySeeds } from "../../../../src/client/home/identity-seeds.ts";
import { toHex, utf8 } from "../../../../src/crypto/bytes.ts";
import type { CryptoProvider } from "../../../../src/crypto/provider/index.ts";
import { createWebProvider } from "../../../../src/crypto/web/index.ts";

/** The smallest cost the keystore accepts: these tests are about the home, not argon2id. */
const CHEAP = Object.freeze({ memoryKiB: 19456, passes: 2, parallelism: 1 });
const RELAY = "http://127.0.0.1:9";

let made: Promise<CryptoProvider> | undefined;
const provider = () => {
  made ??= createWebProvider();
  return made;
};

const codeOf = (error: unknown): string => (error as { code?: string }).code ?? String(error);
async function refusal(work: () => Promise<unknown>): Promise<string> {
  try {
    const result = await work();
    // Something opened that should not have: close it so the scenario can go on, and say so.
    await (result as { close?: () => Promise<void> } | undefined)?.close?.();
    return "no error";
  } catch (error) {
    return codeOf(error);
  }
}

async function databaseNames(): Promise<string[]> {
  return (await indexedDB.databases()).map((entry) => entry.name ?? "").sort();
}

/** Created without a passphrase, the config saved, closed and reopened; refused twice; deleted. */
async function lifecycle(name: string) {
  const p = await provider();
  const home = await createBrowserHome({ provider: p, name, mode: "hybrid", relay: RELAY, passphrase: null });
  const seeds = toHex(encodeIdentitySeeds(p, home.seeds));
  const created = home.config;
  await home.saveConfig({ ...home.config, username: "alice", historyRetentionDays: 30 });
  await home.close();
  const again = await refusal(() =>
    createBrowserHome({ provider: p, name, mode: "classical", relay: RELAY, passphrase: null }),
  );
  // The config row is sealed: its plaintext (the relay's address, the username) is nowhere in the row.
  const raw = await requestResult(indexedDB.open(browserHomeNames(name).store));
  const rows = (await requestResult(raw.transaction("meta").objectStore("meta").getAll())) as {
    record?: Uint8Array;
  }[];
  raw.close();
  const plain = rows.some(
    (row) => row.record !== undefined && toHex(row.record).includes(toHex(utf8("alice"))),
  );
  const reopened = await openBrowserHome({ provider: p, name });
  const facts = {
    created,
    seeds,
    again,
    plain,
    reopenedConfig: reopened.config,
    reopenedSeeds: toHex(encodeIdentitySeeds(p, reopened.seeds)),
    location: reopened.location,
    databases: [] as string[],
    exists: true,
  };
  // A second open of the same home (another tab) is refused while this one holds it.
  const secondTab = await refusal(() => openBrowserHome({ provider: p, name }));
  await reopened.close();
  await deleteBrowserHome({ name });
  facts.databases = (await databaseNames()).filter((db) => db.startsWith(name));
  facts.exists = await hasBrowserHome({ name });
  const missing = await refusal(() => openBrowserHome({ provider: p, name }));
  return { ...facts, secondTab, missing };
}

/** Behind a passphrase: none, a wrong one, the right one. */
async function protectedHome(name: string) {
  const p = await provider();
  const progress: number[] = [];
  const home = await createBrowserHome({
    provider: p,
    name,
    mode: "quantum",
    relay: RELAY,
    passphrase: utf8("correct horse"),
    argon2id: CHEAP,
    onProgress: (fraction) => progress.push(fraction),
  });
  await home.close();
  const none = await refusal(() => openBrowserHome({ provider: p, name }));
  const wrong = await refusal(() => openBrowserHome({ provider: p, name, passphrase: utf8("wrong horse") }));
  const right = await openBrowserHome({ provider: p, name, passphrase: utf8("correct horse") });
  const mode = right.config.cryptoMode;
  await right.close();
  await deleteBrowserHome({ name });
  return { none, wrong, mode, progressed: progress.length > 0 && progress.at(-1) === 1 };
}

/** The config row deleted from the store (a script of the origin): the home is refused, typed. */
async function configRowDeleted(name: string) {
  const p = await provider();
  const home = await createBrowserHome({ provider: p, name, mode: "hybrid", relay: RELAY, passphrase: null });
  await home.close();
  const raw = await requestResult(indexedDB.open(browserHomeNames(name).store));
  const transaction = raw.transaction("meta", "readwrite");
  transaction.objectStore("meta").delete("client-config");
  await transactionDone(transaction);
  raw.close();
  const opened = await refusal(() => openBrowserHome({ provider: p, name }));
  await deleteBrowserHome({ name });
  return { opened };
}

/**
 * A store left without its keystore (a page closed between the two writes of a create, or a keystore
 * deleted by hand): the next create deletes it and starts over instead of failing on its key. And a
 * create that fails at the keystore (a cost out of bounds) leaves no home behind.
 */
async function leftovers(name: string) {
  const p = await provider();
  const orphan = await IdbLocalStore.open({
    name: browserHomeNames(name).store,
    databaseKey: crypto.getRandomValues(new Uint8Array(32)),
    primitives: p.primitives,
  });
  await orphan.close();
  const failed = await refusal(() =>
    createBrowserHome({
      provider: p,
      name,
      mode: "hybrid",
      relay: RELAY,
      passphrase: utf8("x"),
      argon2id: { memoryKiB: 8, passes: 1, parallelism: 1 },
    }),
  );
  const existsAfterFailure = await hasBrowserHome({ name });
  const home = await createBrowserHome({
    provider: p,
    name,
    mode: "classical",
    relay: RELAY,
    passphrase: null,
  });
  const mode = home.config.cryptoMode;
  await home.close();
  const reopened = await openBrowserHome({ provider: p, name });
  const reopenedMode = reopened.config.cryptoMode;
  await reopened.close();
  await deleteBrowserHome({ name });
  return { failed, existsAfterFailure, mode, reopenedMode };
}

(globalThis as { nanoHome?: unknown }).nanoHome = { lifecycle, protectedHome, configRowDeleted, leftovers };
const element = document.getElementById("status");
if (element) element.textContent = "ready";
