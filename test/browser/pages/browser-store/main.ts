// The browser store in the page: test/browser/idb-store.test.ts runs the local store conformance suite
// against IdbLocalStore (`nanoStore.run`), a commit loop it interrupts by reloading the page
// (`commitLoop` / `verifyLoop`), and the browser keystore (`nanoStore.keystore*`).
// First: zod builds its schemas (the wire contract's among them) without generating code, as the app's CSP requires.
import "../../../../src/web/jitless-parsing.ts";
import {
  BROWSER_ARGON2ID,
  changeBrowserKeystorePassphrase,
  createBrowserKeystore,
  deleteBrowserKeystore,
  hasBrowserKeystore,
  openBrowserKeystore,
  requestPersistentStorage,
} from "../../../../src/client/browser-store/browser-keystore.ts";
import { IdbLocalStore } from "../../../../src/client/browser-store/idb-local-store.ts";
import { requestResult, transactionDone } from "../../../../src/client/browser-store/idb-requests.ts";
import { newKeystoreContents } from "../../../../src/client/keystore/keystore-contents.ts";
import { deriveLocalKeysWith, sealRowWith } from "../../../../src/client/local-store/sealed-row-format.ts";
import { fromHex, utf8 } from "../../../../src/crypto/bytes.ts";
import type { Argon2idParameters } from "../../../../src/crypto/password-parameters.ts";
import type { CryptoProvider } from "../../../../src/crypto/provider/index.ts";
import { createWebProvider } from "../../../../src/crypto/web/index.ts";
import {
  CONFORMANCE_CASES,
  FOREIGN_PLAINTEXT,
  type StoreSubject,
} from "../../../client/local-store-conformance/_suite.ts";

export interface Outcome {
  readonly ok: boolean;
  readonly detail: string;
}

let providerMade: Promise<CryptoProvider> | undefined;
function provider(): Promise<CryptoProvider> {
  providerMade ??= createWebProvider();
  return providerMade;
}

function describeError(error: unknown): string {
  if (error instanceof Error)
    return `${(error as { code?: string }).code ?? error.name}: ${error.message}\n${error.stack ?? ""}`;
  return String(error);
}

function randomKey(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(32));
}

function openRaw(name: string): Promise<IDBDatabase> {
  return requestResult(indexedDB.open(name));
}

/** The conformance subject over IndexedDB: tampering edits the object store under the closed store. */
function idbSubject(name: string, primitives: CryptoProvider["primitives"]): StoreSubject {
  const key = randomKey();
  return {
    open: (databaseKey) => IdbLocalStore.open({ name, databaseKey: databaseKey ?? key, primitives }),
    async tamper(table, action) {
      if (action === "delete-key-check") {
        const db = await openRaw(name);
        try {
          const transaction = db.transaction("meta", "readwrite");
          const done = transactionDone(transaction);
          transaction.objectStore("meta").delete("key-check");
          await done;
        } finally {
          db.close();
        }
        return;
      }
      const db = await openRaw(name);
      // Sealing is asynchronous: the foreign record is sealed before the transaction that writes it.
      let foreign: Uint8Array | null = null;
      if (action === "reseal-foreign") {
        const [firstKey] = await requestResult(db.transaction(table).objectStore(table).getAllKeys());
        const key0 = String(firstKey);
        const rowKey = table === "meta" || table === "outbox" ? utf8(key0) : fromHex(key0);
        foreign = await sealRowWith(
          primitives,
          deriveLocalKeysWith(primitives.hkdf, key),
          table,
          rowKey,
          FOREIGN_PLAINTEXT,
        );
      }
      try {
        const transaction = db.transaction(table, "readwrite");
        const done = transactionDone(transaction);
        const objectStore = transaction.objectStore(table);
        const keys = await requestResult(objectStore.getAllKeys());
        const values = (await requestResult(objectStore.getAll())) as { record: Uint8Array }[];
        const [first, second] = values;
        if (first === undefined) throw new Error(`no row in ${table} to tamper with`);
        if (action === "flip-byte") {
          const changed = Uint8Array.from(first.record);
          changed[changed.length - 20]! ^= 0x01;
          objectStore.put({ ...first, record: changed }, keys[0]!);
        } else if (action === "truncate") {
          objectStore.put({ ...first, record: first.record.slice(0, 20) }, keys[0]!);
        } else if (action === "reseal-foreign") {
          objectStore.put({ ...first, record: foreign }, keys[0]!);
        } else {
          if (second === undefined) throw new Error(`${table} needs two rows to swap`);
          objectStore.put({ ...first, record: second.record }, keys[0]!);
          objectStore.put({ ...second, record: first.record }, keys[1]!);
        }
        await done;
      } finally {
        db.close();
      }
    },
  };
}

async function run(index: number): Promise<Outcome> {
  const conformance = CONFORMANCE_CASES[index];
  if (conformance === undefined) return { ok: false, detail: `no case #${index}` };
  const name = `conformance-${index}-${Array.from(randomKey().subarray(0, 6), (b) => b.toString(16)).join("")}`;
  try {
    await conformance.run(idbSubject(name, (await provider()).primitives));
    return { ok: true, detail: conformance.name };
  } catch (error) {
    return { ok: false, detail: describeError(error) };
  } finally {
    await IdbLocalStore.destroy(name).catch(() => {});
  }
}

const LOOP_ROWS = 6;
const LOOP_KEY_META = "loop-key";

/**
 * Commits transactions 1, 2, 3... until the page goes away, each writing LOOP_ROWS contacts, a session
 * and a meta row that all carry its number; `committed` counts the transactions whose promise resolved.
 */
async function commitLoop(name: string, keyHex: string): Promise<void> {
  const databaseKey = Uint8Array.from(keyHex.match(/../g)!.map((pair) => Number.parseInt(pair, 16)));
  const store = await IdbLocalStore.open({ name, databaseKey, primitives: (await provider()).primitives });
  const state = globalThis as { committed?: number };
  state.committed = 0;
  const start = await store.read((tables) => {
    const meta = tables.getSecretMeta(LOOP_KEY_META);
    return meta === null ? 0 : Number(new TextDecoder().decode(meta));
  });
  for (let round = start + 1; round <= start + 100_000; round++) {
    await store.transaction((tables) => {
      for (let row = 0; row < LOOP_ROWS; row++) {
        tables.putContact({
          username: `u${round}-${row}`,
          identityRecord: new Uint8Array(2000).fill(round % 256),
          pinnedSuite: 2,
          verified: false,
          safetyNumberConfirmedAt: null,
          identityChanged: false,
          addedAt: round,
          updatedAt: round,
        });
      }
      tables.putSession({
        sessionId: new Uint8Array(16).fill(7),
        peer: "bob",
        state: new Uint8Array(4000).fill(round % 256),
        updatedAt: round,
        archived: false,
      });
      tables.putSecretMeta(LOOP_KEY_META, new TextEncoder().encode(String(round)));
    });
    state.committed = round - start;
  }
}

/** After the reload: every transaction in the store is there completely, and they are 1..n without gaps. */
async function verifyLoop(name: string, keyHex: string): Promise<Outcome & { readonly rounds: number }> {
  const databaseKey = Uint8Array.from(keyHex.match(/../g)!.map((pair) => Number.parseInt(pair, 16)));
  try {
    const store = await IdbLocalStore.open({ name, databaseKey, primitives: (await provider()).primitives });
    try {
      return await store.read((tables) => {
        const meta = tables.getSecretMeta(LOOP_KEY_META);
        const rounds = meta === null ? 0 : Number(new TextDecoder().decode(meta));
        const contacts = tables.listContacts();
        const problems: string[] = [];
        if (contacts.length !== rounds * LOOP_ROWS)
          problems.push(`${contacts.length} contacts for ${rounds} rounds`);
        for (let round = 1; round <= rounds; round++) {
          for (let row = 0; row < LOOP_ROWS; row++) {
            if (tables.getContact(`u${round}-${row}`) === null)
              problems.push(`round ${round} lacks row ${row}`);
          }
        }
        const [session] = tables.getSessions("bob");
        if (rounds > 0 && session?.updatedAt !== rounds)
          problems.push(`session at ${session?.updatedAt}, meta at ${rounds}`);
        if (rounds > 0 && tables.stateVersion() !== rounds)
          problems.push(`state counter ${tables.stateVersion()} for ${rounds} rounds`);
        return { ok: problems.length === 0, detail: problems.slice(0, 5).join("; "), rounds };
      });
    } finally {
      await store.close();
    }
  } catch (error) {
    return { ok: false, detail: describeError(error), rounds: -1 };
  }
}

async function destroy(name: string): Promise<void> {
  await IdbLocalStore.destroy(name);
}

function contactNamed(username: string) {
  return {
    username,
    identityRecord: new Uint8Array(40).fill(3),
    pinnedSuite: 2 as const,
    verified: false,
    safetyNumberConfirmedAt: null,
    identityChanged: false,
    addedAt: 1,
    updatedAt: 1,
  };
}

async function openNamed(name: string, databaseKey: Uint8Array): Promise<IdbLocalStore> {
  return IdbLocalStore.open({ name, databaseKey, primitives: (await provider()).primitives });
}

const codeOf = (error: unknown): string => String((error as { code?: string }).code ?? (error as Error).name);

/**
 * A commit that fails inside IndexedDB: `how` = "throw" makes the third put throw as it is made,
 * "abort" lets it through and aborts the transaction right after. Either way the work's promise must
 * reject, the open store must still show the state before it, and so must the reopened store.
 */
async function failedCommit(how: "throw" | "abort"): Promise<Outcome> {
  const name = `failed-${how}-${hex(randomKey().subarray(0, 6))}`;
  const key = randomKey();
  const realPut = IDBObjectStore.prototype.put;
  try {
    const store = await openNamed(name, key);
    await store.transaction((tables) => tables.putContact(contactNamed("kept")));
    let calls = 0;
    IDBObjectStore.prototype.put = function (
      this: IDBObjectStore,
      ...args: Parameters<IDBObjectStore["put"]>
    ) {
      calls += 1;
      if (calls === 3 && how === "throw") throw new DOMException("injected", "DataCloneError");
      const request = realPut.apply(this, args);
      if (calls === 3) this.transaction.abort();
      return request;
    };
    let code = "none";
    try {
      await store.transaction((tables) => {
        for (const username of ["a", "b", "c", "d"]) tables.putContact(contactNamed(username));
        tables.deleteContact("kept");
      });
    } catch (error) {
      code = codeOf(error);
    } finally {
      IDBObjectStore.prototype.put = realPut;
    }
    const inMemory = await store.read((tables) => tables.listContacts().map((c) => c.username));
    await store.transaction((tables) => tables.putContact(contactNamed("after")));
    await store.close();
    const reopened = await openNamed(name, key);
    const onDisk = await reopened.read((tables) => tables.listContacts().map((c) => c.username));
    await reopened.close();
    const ok =
      code === "browser_storage_unavailable" && inMemory.join() === "kept" && onDisk.join() === "after,kept";
    return {
      ok,
      detail: `${calls} puts; rejected with ${code}; in memory [${inMemory}]; reopened [${onDisk}]`,
    };
  } catch (error) {
    return { ok: false, detail: describeError(error) };
  } finally {
    IDBObjectStore.prototype.put = realPut;
    await IdbLocalStore.destroy(name).catch(() => {});
  }
}

/** A second open of the same store while the first is open: `local_store_busy`; after close, fine. */
async function secondTab(): Promise<Outcome> {
  const name = `tabs-${hex(randomKey().subarray(0, 6))}`;
  const key = randomKey();
  try {
    const first = await openNamed(name, key);
    let code = "none";
    try {
      await (await openNamed(name, key)).close();
    } catch (error) {
      code = codeOf(error);
    }
    await first.close();
    const later = await openNamed(name, key);
    await later.close();
    return { ok: code === "local_store_busy", detail: `second open: ${code}` };
  } catch (error) {
    return { ok: false, detail: describeError(error) };
  } finally {
    await IdbLocalStore.destroy(name).catch(() => {});
  }
}

async function snapshot(name: string): Promise<Map<string, [IDBValidKey[], unknown[]]>> {
  const db = await openRaw(name);
  try {
    const out = new Map<string, [IDBValidKey[], unknown[]]>();
    const transaction = db.transaction([...db.objectStoreNames], "readonly");
    for (const table of db.objectStoreNames) {
      const objectStore = transaction.objectStore(table);
      out.set(table, [
        await requestResult(objectStore.getAllKeys()),
        await requestResult(objectStore.getAll()),
      ]);
    }
    return out;
  } finally {
    db.close();
  }
}

async function restore(name: string, saved: Map<string, [IDBValidKey[], unknown[]]>): Promise<void> {
  const db = await openRaw(name);
  try {
    const transaction = db.transaction([...saved.keys()], "readwrite");
    const done = transactionDone(transaction);
    for (const [table, [keys, values]] of saved) {
      const objectStore = transaction.objectStore(table);
      objectStore.clear();
      for (const [i, key] of keys.entries()) objectStore.put(values[i], key);
    }
    await done;
  } finally {
    db.close();
  }
}

/**
 * The store database put back from an older copy (the anchor database left as it is): refused at open
 * with `local_state_rolled_back`; so is an older state-counter row alone under newer sessions.
 */
async function rollback(): Promise<Outcome> {
  const name = `rollback-${hex(randomKey().subarray(0, 6))}`;
  const key = randomKey();
  const sessionAt = (updatedAt: number) => ({
    sessionId: new Uint8Array(16).fill(1),
    peer: "bob",
    state: new Uint8Array(64).fill(updatedAt),
    updatedAt,
    archived: false,
  });
  try {
    const store = await openNamed(name, key);
    await store.transaction((tables) => tables.putSession(sessionAt(1)));
    await store.close();
    const older = await snapshot(name);
    const again = await openNamed(name, key);
    await again.transaction((tables) => tables.putSession(sessionAt(2)));
    await again.transaction((tables) => tables.putSession(sessionAt(3)));
    await again.close();
    const newer = await snapshot(name);
    await restore(name, older);
    let wholeCopy = "none";
    try {
      await (await openNamed(name, key)).close();
    } catch (error) {
      wholeCopy = codeOf(error);
    }
    // Only the meta table (the counter) from the older copy, the sessions from the newer state.
    const partial = new Map(newer);
    partial.set("meta", older.get("meta")!);
    await restore(name, partial);
    let partialCopy = "none";
    try {
      const opened = await openNamed(name, key);
      try {
        await opened.read((tables) => tables.getSessions("bob"));
      } finally {
        await opened.close();
      }
    } catch (error) {
      partialCopy = codeOf(error);
    }
    await restore(name, newer);
    const current = await openNamed(name, key);
    const version = await current.read((tables) => tables.stateVersion());
    await current.close();
    return {
      ok:
        wholeCopy === "local_state_rolled_back" && partialCopy === "local_state_rolled_back" && version === 3,
      detail: `older copy: ${wholeCopy}; older counter row: ${partialCopy}; newest state opens at ${version}`,
    };
  } catch (error) {
    return { ok: false, detail: describeError(error) };
  } finally {
    await IdbLocalStore.destroy(name).catch(() => {});
  }
}

/** A contact and a session written by the browser store, as stored: Node opens them with openRow. */
async function sealedSample(keyHex: string): Promise<{ table: string; key: string; record: number[] }[]> {
  const name = `sample-${hex(randomKey().subarray(0, 6))}`;
  const databaseKey = Uint8Array.from(keyHex.match(/../g)!.map((pair) => Number.parseInt(pair, 16)));
  try {
    const store = await openNamed(name, databaseKey);
    await store.transaction((tables) => {
      tables.putContact(contactNamed("bob"));
      tables.putSecretMeta("own-identity", new Uint8Array(8).fill(5));
    });
    await store.close();
    const saved = await snapshot(name);
    const out: { table: string; key: string; record: number[] }[] = [];
    for (const table of ["contacts", "meta"]) {
      const [keys, values] = saved.get(table)!;
      for (const [i, key] of keys.entries()) {
        out.push({ table, key: String(key), record: [...(values[i] as { record: Uint8Array }).record] });
      }
    }
    return out;
  } finally {
    await IdbLocalStore.destroy(name).catch(() => {});
  }
}

/**
 * For `npm run bench -- browser-storage`: a store holding `messages` received messages (1 KiB each),
 * 20 contacts and 20 sessions (4 KiB of state each); the wall-clock time of a send-shaped transaction
 * (session, outbox entry, sent row) and of reopening the store (every row read and opened).
 */
async function storeCosts(
  messages: number,
  variant: "detect" | "noble",
): Promise<{ sendMs: number[]; openMs: number; readMs: number; rows: number }> {
  const name = `costs-${hex(randomKey().subarray(0, 6))}`;
  const key = randomKey();
  const { primitives } = variant === "detect" ? await provider() : await createWebProvider({ use: "noble" });
  const openNamed = (storeName: string, databaseKey: Uint8Array) =>
    IdbLocalStore.open({ name: storeName, databaseKey, primitives });
  try {
    const store = await openNamed(name, key);
    await store.transaction((tables) => {
      for (let i = 0; i < 20; i++) {
        tables.putContact(contactNamed(`peer${i}`));
        tables.putSession({
          sessionId: new Uint8Array(16).fill(i),
          peer: `peer${i}`,
          state: new Uint8Array(4096).fill(i),
          updatedAt: 1,
          archived: false,
        });
      }
    });
    for (let start = 0; start < messages; start += 200) {
      await store.transaction((tables) => {
        for (let i = start; i < Math.min(messages, start + 200); i++) {
          tables.insertReceived({
            messageId: `m${i}`,
            sender: `peer${i % 20}`,
            contentType: "text",
            body: new Uint8Array(1024).fill(i % 256),
            receivedAt: i,
          });
        }
      });
    }
    const sendMs: number[] = [];
    for (let i = 0; i < 30; i++) {
      const started = performance.now();
      await store.transaction((tables) => {
        const [current] = tables.getSessions("peer1");
        tables.putSession({ ...current!, state: new Uint8Array(4096).fill(i), updatedAt: 10 + i });
        tables.insertOutbox({
          clientMessageId: `c${i}`,
          recipient: "peer1",
          envelope: new Uint8Array(1200).fill(i),
          createdAt: i,
        });
        tables.insertSent({
          clientMessageId: `c${i}`,
          recipient: "peer1",
          contentType: "text",
          body: new Uint8Array(1024),
          sentAt: i,
          contentId: "ab",
          suite: 2,
        });
      });
      sendMs.push(performance.now() - started);
    }
    await store.close();
    // The IndexedDB read alone (every object store's keys and values, as the store's open reads them).
    const readStarted = performance.now();
    await snapshot(name);
    const readMs = performance.now() - readStarted;
    const started = performance.now();
    const reopened = await openNamed(name, key);
    const openMs = performance.now() - started;
    const rows = await reopened.read(
      (tables) => tables.listReceived(0, 1_000_000).length + tables.listContacts().length,
    );
    await reopened.close();
    return { sendMs, openMs, readMs, rows };
  } finally {
    await IdbLocalStore.destroy(name).catch(() => {});
  }
}

const hex = (bytes: Uint8Array): string => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
const passphraseBytes = (text: string | null): Uint8Array | null =>
  text === null ? null : new TextEncoder().encode(text);

/** Creates a keystore; returns the contents (hex) so the test can compare what a reopen gives. */
async function keystoreCreate(
  name: string,
  passphrase: string | null,
  argon2id: Argon2idParameters | null,
): Promise<{ localStoreKey: string; identity: string; progress: number[]; ms: number }> {
  const contents = newKeystoreContents(crypto.getRandomValues(new Uint8Array(96)));
  const progress: number[] = [];
  const started = performance.now();
  await createBrowserKeystore(contents, {
    name,
    passphrase: passphraseBytes(passphrase),
    ...(argon2id === null ? {} : { argon2id }),
    onProgress: (fraction) => progress.push(fraction),
  });
  return {
    localStoreKey: hex(contents.localStoreKey),
    identity: hex(contents.identity),
    progress,
    ms: performance.now() - started,
  };
}

/** Opens a keystore: its contents (hex) and the time it took, or the error code. */
async function keystoreOpen(
  name: string,
  passphrase: string | null,
): Promise<
  | { localStoreKey: string; identity: string; ms: number; progressCalls: number }
  | { code: string; message: string }
> {
  const started = performance.now();
  let progressCalls = 0;
  try {
    const contents = await openBrowserKeystore({
      name,
      passphrase: passphraseBytes(passphrase),
      onProgress: () => progressCalls++,
    });
    return {
      localStoreKey: hex(contents.localStoreKey),
      identity: hex(contents.identity),
      ms: performance.now() - started,
      progressCalls,
    };
  } catch (error) {
    return {
      code: String((error as { code?: string }).code ?? (error as Error).name),
      message: String((error as Error).message),
    };
  }
}

/** Edits the stored blob: one byte at `offset` (negative: from the end) XOR 1. */
async function keystoreTamper(name: string, offset: number): Promise<void> {
  const db = await openRaw(name);
  try {
    const transaction = db.transaction("keystore", "readwrite");
    const done = transactionDone(transaction);
    const store = transaction.objectStore("keystore");
    const blob = Uint8Array.from((await requestResult(store.get("sealed"))) as Uint8Array);
    blob[offset < 0 ? blob.length + offset : offset]! ^= 0x01;
    store.put(blob, "sealed");
    await done;
  } finally {
    db.close();
  }
}

/** What the page can do with the stored wrapping key: its flags, and what exportKey does. */
async function keystoreKeyFacts(
  name: string,
): Promise<{ extractable: boolean; type: string; exportError: string | null; usages: string[] }> {
  const db = await openRaw(name);
  try {
    const key = (await requestResult(
      db.transaction("keystore").objectStore("keystore").get("wrapping-key"),
    )) as CryptoKey;
    let exportError: string | null = null;
    try {
      await crypto.subtle.exportKey("raw", key);
    } catch (error) {
      exportError = (error as Error).name;
    }
    return { extractable: key.extractable, type: key.type, exportError, usages: [...key.usages] };
  } finally {
    db.close();
  }
}

/** Changes the passphrase (from `from` to `to`, either may be null); the error code, or "changed". */
async function keystoreChange(
  name: string,
  from: string | null,
  to: string | null,
  argon2id: Argon2idParameters | null,
): Promise<string> {
  try {
    await changeBrowserKeystorePassphrase({
      name,
      passphrase: passphraseBytes(from),
      newPassphrase: passphraseBytes(to),
      ...(argon2id === null ? {} : { argon2id }),
    });
    return "changed";
  } catch (error) {
    return codeOf(error);
  }
}

/** Whether a keystore exists, and what the browser answers to a request for persistent storage. */
async function storageFacts(name: string): Promise<{ exists: boolean; persisted: boolean; asked: boolean }> {
  const asked = await requestPersistentStorage();
  return {
    exists: await hasBrowserKeystore({ name }),
    persisted: await navigator.storage.persisted(),
    asked,
  };
}

async function keystoreDelete(name: string): Promise<void> {
  await deleteBrowserKeystore({ name });
}

(globalThis as { nanoStore?: unknown }).nanoStore = {
  failedCommit,
  storeCosts,
  secondTab,
  rollback,
  sealedSample,
  keystoreCreate,
  keystoreOpen,
  keystoreTamper,
  keystoreKeyFacts,
  keystoreDelete,
  keystoreChange,
  storageFacts,
  browserArgon2id: BROWSER_ARGON2ID,
  run,
  commitLoop,
  verifyLoop,
  destroy,
  cases: CONFORMANCE_CASES.length,
};
const element = document.getElementById("status");
if (element) element.textContent = "ready";
