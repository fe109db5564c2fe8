// What every attack of the page shares (test/browser/browser-store-attacks.test.ts): the outcome it
// reports, the checks it collects, raw IndexedDB as a script or a person with the profile sees it, and
// the store's records.
import { IdbLocalStore } from "../../../../src/client/browser-store/idb-local-store.ts";
import { requestResult, transactionDone } from "../../../../src/client/browser-store/idb-requests.ts";
import type { ContactRecord, SessionRecord } from "../../../../src/client/local-store/local-records.ts";
import type { LocalTables } from "../../../../src/client/local-store/local-tables.ts";
import type { CryptoProvider } from "../../../../src/crypto/provider/index.ts";
import { createWebProvider } from "../../../../src/crypto/web/index.ts";

export interface Outcome {
  readonly ok: boolean;
  readonly detail: string;
}

let providerMade: Promise<CryptoProvider> | undefined;
export function provider(): Promise<CryptoProvider> {
  providerMade ??= createWebProvider();
  return providerMade;
}

export const hex = (bytes: Uint8Array): string =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
export const randomKey = (): Uint8Array => crypto.getRandomValues(new Uint8Array(32));
export const uniqueName = (prefix: string): string => `${prefix}-${hex(randomKey().subarray(0, 6))}`;
export const codeOf = (error: unknown): string =>
  String((error as { code?: string }).code ?? (error as Error).name ?? error);

export function describeError(error: unknown): string {
  if (error instanceof Error)
    return `${(error as { code?: string }).code ?? error.name}: ${error.message}\n${error.stack ?? ""}`;
  return String(error);
}

/** Collects what differed from what was expected; the outcome is ok when nothing did. */
export class Checks {
  readonly #lines: string[] = [];
  readonly #failures: string[] = [];

  equal(label: string, actual: unknown, expected: unknown): void {
    const a = JSON.stringify(actual);
    const e = JSON.stringify(expected);
    this.#lines.push(`${label}: ${a}`);
    if (a !== e) this.#failures.push(`${label}: got ${a}, expected ${e}`);
  }

  outcome(): Outcome {
    return this.#failures.length === 0
      ? { ok: true, detail: this.#lines.join("; ") }
      : { ok: false, detail: this.#failures.join("; ") };
  }
}

/** What a promise settled to: "ok" (or its value), else the error's code. */
export async function settled<T>(promise: Promise<T>): Promise<string> {
  try {
    await promise;
    return "ok";
  } catch (error) {
    return codeOf(error);
  }
}

export async function attack(run: (checks: Checks) => Promise<void>): Promise<Outcome> {
  const checks = new Checks();
  try {
    await run(checks);
    return checks.outcome();
  } catch (error) {
    return { ok: false, detail: describeError(error) };
  }
}

// ---- raw IndexedDB, as a script or a person with the profile sees it

export function openRaw(
  name: string,
  version?: number,
  upgrade?: (db: IDBDatabase) => void,
): Promise<IDBDatabase> {
  const request = version === undefined ? indexedDB.open(name) : indexedDB.open(name, version);
  if (upgrade !== undefined) request.onupgradeneeded = () => upgrade(request.result);
  return requestResult(request);
}

export async function rawWrite(
  name: string,
  table: string,
  edit: (objectStore: IDBObjectStore) => void,
): Promise<void> {
  const db = await openRaw(name);
  try {
    const transaction = db.transaction(table, "readwrite");
    const done = transactionDone(transaction);
    edit(transaction.objectStore(table));
    await done;
  } finally {
    db.close();
  }
}

export async function rawGet(name: string, table: string, key: IDBValidKey): Promise<unknown> {
  const db = await openRaw(name);
  try {
    return await requestResult(db.transaction(table).objectStore(table).get(key));
  } finally {
    db.close();
  }
}

export async function rawKeys(name: string, table: string): Promise<IDBValidKey[]> {
  const db = await openRaw(name);
  try {
    return await requestResult(db.transaction(table).objectStore(table).getAllKeys());
  } finally {
    db.close();
  }
}

export type Snapshot = Map<string, [IDBValidKey[], unknown[]]>;

export async function snapshot(name: string): Promise<Snapshot> {
  const db = await openRaw(name);
  try {
    const out: Snapshot = new Map();
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

export async function restore(name: string, saved: Snapshot): Promise<void> {
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

export async function deleteRaw(name: string): Promise<void> {
  await requestResult(indexedDB.deleteDatabase(name));
}

// ---- the store's records

export function contact(username: string, fill = 3): ContactRecord {
  return {
    username,
    identityRecord: new Uint8Array(40).fill(fill),
    pinnedSuite: 2,
    verified: false,
    safetyNumberConfirmedAt: null,
    identityChanged: false,
    addedAt: 1,
    updatedAt: 1,
  };
}

export function session(peer: string, updatedAt: number, id = 1): SessionRecord {
  return {
    sessionId: new Uint8Array(16).fill(id),
    peer,
    state: new Uint8Array(64).fill(updatedAt % 256),
    updatedAt,
    archived: false,
  };
}

export async function openStore(name: string, databaseKey: Uint8Array): Promise<IdbLocalStore> {
  return IdbLocalStore.open({ name, databaseKey, primitives: (await provider()).primitives });
}

/** A store with one row in every table that seals a record, closed; its name and key. */
export async function populated(prefix: string): Promise<{ name: string; key: Uint8Array }> {
  const name = uniqueName(prefix);
  const key = randomKey();
  const store = await openStore(name, key);
  await store.transaction((tables) => {
    tables.putContact(contact("bob"));
    tables.putContact(contact("carol"));
    tables.putSession(session("bob", 10));
    tables.putSecretMeta("own-identity", new Uint8Array(8).fill(5));
    tables.insertOutbox({
      clientMessageId: "c1",
      recipient: "bob",
      envelope: new Uint8Array(9),
      createdAt: 1,
    });
    tables.insertSent({
      clientMessageId: "c1",
      recipient: "bob",
      contentType: "text",
      body: new Uint8Array(5).fill(1),
      sentAt: 2,
      contentId: "ab",
      suite: 2,
    });
    tables.insertSent({
      clientMessageId: "c2",
      recipient: "carol",
      contentType: "text",
      body: new Uint8Array(5).fill(2),
      sentAt: 3,
      contentId: "cd",
      suite: 2,
    });
    for (const [i, sender] of ["bob", "carol"].entries()) {
      tables.insertReceived({
        messageId: `m${i}`,
        sender,
        contentType: "text",
        body: new Uint8Array(5).fill(i),
        receivedAt: 4 + i,
      });
    }
    tables.quarantine({
      messageId: "q1",
      from: "mallory",
      envelope: new Uint8Array(7),
      code: "x",
      message: "y",
      firstContact: true,
      quarantinedAt: 6,
    });
  });
  await store.close();
  return { name, key };
}

/** Every read a client makes at start, as one summary (throws what a broken row throws). */
export function everything(tables: LocalTables): string {
  return JSON.stringify({
    contacts: tables.listContacts().map((c) => c.username),
    sessions: tables.getSessions("bob").map((s) => s.updatedAt),
    meta: tables.getSecretMeta("own-identity")?.length ?? null,
    outbox: tables.listOutbox().map((o) => o.clientMessageId),
    pending: tables.listPendingSent().map((p) => p.sent?.clientMessageId ?? null),
    received: tables.listReceived().map((m) => m.messageId),
    history: tables.history({ limit: 100 }).length,
    conversations: tables.conversations().length,
    quarantine: tables.listQuarantine().map((q) => q.messageId),
  });
}

/** Opens the store and reads everything: the summary, or the error code of the open or the read. */
export async function openAndReadAll(name: string, key: Uint8Array): Promise<string> {
  let store: IdbLocalStore;
  try {
    store = await openStore(name, key);
  } catch (error) {
    return `open: ${codeOf(error)}`;
  }
  try {
    return await store.read(everything);
  } catch (error) {
    return `read: ${codeOf(error)}`;
  } finally {
    await store.close();
  }
}
