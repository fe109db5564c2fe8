// The attacker's page (test/browser/browser-store-attacks.test.ts): someone with the profile's
// IndexedDB edits, swaps, deletes and replays what the browser store and keystore wrote; the machine
// fails under them (quota, a connection closed by another page, huge rows, thousands of rows); the
// store's own users race it (works that await, a work that throws half-way, re-entrancy, tables used
// after their work). Each attack returns what the store answered; the test asserts it refused with a
// typed error, lost nothing committed and never showed a half-commit.
import {
  changeBrowserKeystorePassphrase,
  createBrowserKeystore,
  deleteBrowserKeystore,
  hasBrowserKeystore,
  openBrowserKeystore,
} from "../../../../src/client/browser-store/browser-keystore.ts";
import { IdbLocalStore } from "../../../../src/client/browser-store/idb-local-store.ts";
import { requestResult, transactionDone } from "../../../../src/client/browser-store/idb-requests.ts";
import { newKeystoreContents } from "../../../../src/client/keystore/keystore-contents.ts";
import type { ContactRecord, SessionRecord } from "../../../../src/client/local-store/local-records.ts";
import type { LocalTables } from "../../../../src/client/local-store/local-tables.ts";
import type { CryptoProvider } from "../../../../src/crypto/provider/index.ts";
import { createWebProvider } from "../../../../src/crypto/web/index.ts";

export interface Outcome {
  readonly ok: boolean;
  readonly detail: string;
}

let providerMade: Promise<CryptoProvider> | undefined;
function provider(): Promise<CryptoProvider> {
  providerMade ??= createWebProvider();
  return providerMade;
}

const hex = (bytes: Uint8Array): string => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
const randomKey = (): Uint8Array => crypto.getRandomValues(new Uint8Array(32));
const uniqueName = (prefix: string): string => `${prefix}-${hex(randomKey().subarray(0, 6))}`;
const codeOf = (error: unknown): string =>
  String((error as { code?: string }).code ?? (error as Error).name ?? error);

function describeError(error: unknown): string {
  if (error instanceof Error)
    return `${(error as { code?: string }).code ?? error.name}: ${error.message}\n${error.stack ?? ""}`;
  return String(error);
}

/** Collects what differed from what was expected; the outcome is ok when nothing did. */
class Checks {
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
async function settled<T>(promise: Promise<T>): Promise<string> {
  try {
    await promise;
    return "ok";
  } catch (error) {
    return codeOf(error);
  }
}

async function attack(run: (checks: Checks) => Promise<void>): Promise<Outcome> {
  const checks = new Checks();
  try {
    await run(checks);
    return checks.outcome();
  } catch (error) {
    return { ok: false, detail: describeError(error) };
  }
}

// ---- raw IndexedDB, as a script or a person with the profile sees it

function openRaw(name: string, version?: number, upgrade?: (db: IDBDatabase) => void): Promise<IDBDatabase> {
  const request = version === undefined ? indexedDB.open(name) : indexedDB.open(name, version);
  if (upgrade !== undefined) request.onupgradeneeded = () => upgrade(request.result);
  return requestResult(request);
}

async function rawWrite(
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

async function rawGet(name: string, table: string, key: IDBValidKey): Promise<unknown> {
  const db = await openRaw(name);
  try {
    return await requestResult(db.transaction(table).objectStore(table).get(key));
  } finally {
    db.close();
  }
}

async function rawKeys(name: string, table: string): Promise<IDBValidKey[]> {
  const db = await openRaw(name);
  try {
    return await requestResult(db.transaction(table).objectStore(table).getAllKeys());
  } finally {
    db.close();
  }
}

type Snapshot = Map<string, [IDBValidKey[], unknown[]]>;

async function snapshot(name: string): Promise<Snapshot> {
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

async function restore(name: string, saved: Snapshot): Promise<void> {
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

async function deleteRaw(name: string): Promise<void> {
  await requestResult(indexedDB.deleteDatabase(name));
}

// ---- the store's records

function contact(username: string, fill = 3): ContactRecord {
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

function session(peer: string, updatedAt: number, id = 1): SessionRecord {
  return {
    sessionId: new Uint8Array(16).fill(id),
    peer,
    state: new Uint8Array(64).fill(updatedAt % 256),
    updatedAt,
    archived: false,
  };
}

async function openStore(name: string, databaseKey: Uint8Array): Promise<IdbLocalStore> {
  return IdbLocalStore.open({ name, databaseKey, primitives: (await provider()).primitives });
}

/** A store with one row in every table that seals a record, closed; its name and key. */
async function populated(prefix: string): Promise<{ name: string; key: Uint8Array }> {
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
function everything(tables: LocalTables): string {
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
async function openAndReadAll(name: string, key: Uint8Array): Promise<string> {
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

// ---- the profile edited: rows moved, copied, keyed oddly; the key-check, the schema, the anchor

/**
 * Sealed rows copied to another table or to another key of their own table: each one must make the
 * reads that reach it throw `local_record_tampered` (never open as what it was not), and putting the
 * rows back must give everything back.
 */
async function copiedRows(): Promise<Outcome> {
  return attack(async (checks) => {
    const { name, key } = await populated("copies");
    try {
      const original = await snapshot(name);
      const honest = await openAndReadAll(name, key);
      const row = (table: string, index: number): [IDBValidKey, unknown] => {
        const [keys, values] = original.get(table)!;
        return [keys[index]!, values[index]];
      };
      const edits: [string, string, (objectStore: IDBObjectStore) => void][] = [
        // a received message's row put into the quarantine under its own blind index
        ["received → quarantine", "quarantine", (s) => s.put(row("received", 0)[1], row("received", 0)[0])],
        // a contact's row under the other contact's blind index
        [
          "contact → other contact's key",
          "contacts",
          (s) => s.put(row("contacts", 0)[1], row("contacts", 1)[0]),
        ],
        // the own identity sealed value under the state counter's name
        ["meta → state-version", "meta", (s) => s.put(row("meta", 0)[1], "state-version")],
        // a sent row under the other sent row's client message id
        ["sent → other sent id", "sent", (s) => s.put(row("sent", 0)[1], row("sent", 1)[0])],
        // an outbox row (its envelope) as a sent row of the same id
        ["outbox → sent", "sent", (s) => s.put(row("outbox", 0)[1], row("outbox", 0)[0])],
        // a session row as a contact row (both blind-keyed)
        ["session → contacts", "contacts", (s) => s.put(row("sessions", 0)[1], row("contacts", 0)[0])],
      ];
      for (const [label, table, edit] of edits) {
        await rawWrite(name, table, edit);
        const answer = await openAndReadAll(name, key);
        checks.equal(label, answer.endsWith("local_record_tampered"), true);
        await restore(name, original);
      }
      checks.equal("every row put back: the store reads as before", await openAndReadAll(name, key), honest);
    } finally {
      await IdbLocalStore.destroy(name).catch(() => {});
    }
  });
}

/**
 * Keys this store never writes: a number or an array key is never read (it cannot be anyone's row);
 * a blind index in upper case, or too short, is a row the store cannot place, kept as broken: the
 * listing it belongs to throws instead of leaving it out.
 */
async function oddKeys(): Promise<Outcome> {
  return attack(async (checks) => {
    const { name, key } = await populated("keys");
    try {
      const original = await snapshot(name);
      const [contactKeys, contactValues] = original.get("contacts")!;
      const honest = await openAndReadAll(name, key);
      await rawWrite(name, "contacts", (s) => {
        s.put(contactValues[0], 7);
        s.put(contactValues[0], ["x"]);
      });
      checks.equal("number and array keys ignored", await openAndReadAll(name, key), honest);
      await rawWrite(name, "contacts", (s) => s.put(contactValues[0], String(contactKeys[0]).toUpperCase()));
      checks.equal("upper-case blind index", await openAndReadAll(name, key), "read: local_record_tampered");
      await restore(name, original);
      await rawWrite(name, "contacts", (s) => s.put(contactValues[0], "abcd"));
      checks.equal("short blind index", await openAndReadAll(name, key), "read: local_record_tampered");
      await restore(name, original);
      // (A row without its clear columns is not selected by listings that select on them — received by
      // seq, history by peer — like a row whose columns were edited: those are not authenticated.)
      await rawWrite(name, "contacts", (s) => s.put("not a record", "ab".repeat(32)));
      checks.equal("a string as a row", await openAndReadAll(name, key), "read: local_record_tampered");
      await restore(name, original);
      checks.equal("restored", await openAndReadAll(name, key), honest);
    } finally {
      await IdbLocalStore.destroy(name).catch(() => {});
    }
  });
}

/**
 * Rows reordered and re-pointed through their clear columns (not authenticated, as in SQLite): where
 * it matters the sealed record decides — sessions are ordered by the `updatedAt` sealed in them, a
 * session re-pointed to another contact is refused, and a peer's history never shows a message whose
 * peer column was re-pointed to it.
 */
async function columnsEdited(): Promise<Outcome> {
  return attack(async (checks) => {
    const name = uniqueName("columns");
    const key = randomKey();
    try {
      const store = await openStore(name, key);
      await store.transaction((tables) => {
        tables.putSession(session("bob", 10, 1));
        tables.putSession(session("bob", 20, 2));
        tables.putSession(session("carol", 30, 3));
        tables.insertReceived({
          messageId: "from-bob",
          sender: "bob",
          contentType: "text",
          body: new Uint8Array(3),
          receivedAt: 5,
        });
        tables.insertReceived({
          messageId: "from-carol",
          sender: "carol",
          contentType: "text",
          body: new Uint8Array(3),
          receivedAt: 6,
        });
      });
      await store.close();
      const original = await snapshot(name);
      const [sessionKeys, sessionValues] = original.get("sessions")!;
      const rows = sessionKeys.map((k, i) => ({
        key: k,
        value: sessionValues[i] as { peer: string; updatedAt: number },
      }));
      const older = rows.find((row) => row.value.updatedAt === 10)!;
      const newer = rows.find((row) => row.value.updatedAt === 20)!;
      const carols = rows.find((row) => row.value.updatedAt === 30)!;
      await rawWrite(name, "sessions", (s) => {
        s.put({ ...older.value, updatedAt: 99 }, older.key);
        s.put({ ...newer.value, updatedAt: 1 }, newer.key);
      });
      const bobFirst = async (): Promise<number | string> => {
        const reopened = await openStore(name, key);
        try {
          return await reopened.read((tables) => tables.getSessions("bob")[0]?.updatedAt ?? -1);
        } catch (error) {
          return codeOf(error);
        } finally {
          await reopened.close();
        }
      };
      checks.equal("sessions ordered by the sealed updatedAt", await bobFirst(), 20);
      await restore(name, original);
      await rawWrite(name, "sessions", (s) => s.put({ ...newer.value, peer: carols.value.peer }, newer.key));
      const reopened = await openStore(name, key);
      try {
        checks.equal(
          "a session re-pointed to carol",
          await settled(reopened.read((tables) => tables.getSessions("carol"))),
          "local_record_tampered",
        );
      } finally {
        await reopened.close();
      }
      await restore(name, original);
      const [receivedKeys, receivedValues] = original.get("received")!;
      const fromBob = receivedValues.findIndex((value) => (value as { at: number }).at === 5);
      await rawWrite(name, "received", (s) =>
        s.put({ ...(receivedValues[fromBob] as object), peer: carols.value.peer }, receivedKeys[fromBob]!),
      );
      const history = await openStore(name, key);
      const carolsHistory = await history.read((tables) =>
        tables
          .history({ peer: "carol", limit: 10 })
          .map((entry) => (entry.direction === "in" ? entry.message.messageId : "out")),
      );
      await history.close();
      checks.equal("carol's history", carolsHistory, ["from-carol"]);
    } finally {
      await IdbLocalStore.destroy(name).catch(() => {});
    }
  });
}

/**
 * The key-check row deleted from a store that holds rows: the store must not take the next key it is
 * given as its own (it would seal a new key-check under a keystore from another identity and run on
 * rows it cannot open); it is refused, under any key, and nothing is written.
 */
async function keyCheckDeleted(): Promise<Outcome> {
  return attack(async (checks) => {
    const { name, key } = await populated("keycheck");
    try {
      await rawWrite(name, "meta", (s) => s.delete("key-check"));
      checks.equal("another key", await openAndReadAll(name, randomKey()), "open: local_record_tampered");
      checks.equal("no key-check written", await rawGet(name, "meta", "key-check"), undefined);
      checks.equal("the store's own key", await openAndReadAll(name, key), "open: local_record_tampered");
      // An empty store (one created and never written to but for its key-check) is still new.
      const empty = uniqueName("keycheck-empty");
      await (await openStore(empty, key)).close();
      await rawWrite(empty, "meta", (s) => s.delete("key-check"));
      const fresh = await openStore(empty, randomKey());
      await fresh.close();
      await IdbLocalStore.destroy(empty);
      checks.equal("an empty store without its key-check opens as new", true, true);
    } finally {
      await IdbLocalStore.destroy(name).catch(() => {});
    }
  });
}

/**
 * The database replaced by one of the same version without the store's object stores (deleted and
 * made again by a script, or by another app on the origin): a typed refusal, not a DOMException, and
 * the lock released (a second try gives the same answer, not `local_store_busy`).
 */
async function missingObjectStores(): Promise<Outcome> {
  return attack(async (checks) => {
    const { name, key } = await populated("schema");
    try {
      await deleteRaw(name);
      (await openRaw(name, 1, (db) => db.createObjectStore("meta"))).close();
      checks.equal(
        "store database without its tables",
        await openAndReadAll(name, key),
        "open: local_store_damaged",
      );
      checks.equal("again", await openAndReadAll(name, key), "open: local_store_damaged");
      await IdbLocalStore.destroy(name);
      // The anchor database without its object store.
      await (await openStore(name, key)).close();
      await deleteRaw(`${name}.anchor`);
      (await openRaw(`${name}.anchor`, 1, () => {})).close();
      checks.equal(
        "anchor database without its store",
        await openAndReadAll(name, key),
        "open: local_store_damaged",
      );
    } finally {
      await IdbLocalStore.destroy(name).catch(() => {});
    }
  });
}

/**
 * The anchor database attacked: a flipped byte or a value that is not bytes is refused as tampered;
 * a newer schema as unsupported; the store database deleted under an anchor that has seen sessions is
 * a rollback (a fresh empty store is not this identity's state). An older anchor value (less strict)
 * is accepted. The store's state is intact when the anchor is put back.
 */
async function anchorAttacks(): Promise<Outcome> {
  return attack(async (checks) => {
    const { name, key } = await populated("anchor");
    const anchor = `${name}.anchor`;
    try {
      const honest = await openAndReadAll(name, key);
      const sealed = (await rawGet(anchor, "anchor", "state-version")) as Uint8Array;
      checks.equal("anchor written", sealed instanceof Uint8Array, true);
      const flipped = Uint8Array.from(sealed);
      flipped[flipped.length - 1]! ^= 1;
      await rawWrite(anchor, "anchor", (s) => s.put(flipped, "state-version"));
      checks.equal("flipped anchor", await openAndReadAll(name, key), "open: local_record_tampered");
      await rawWrite(anchor, "anchor", (s) => s.put("9999", "state-version"));
      checks.equal("anchor not bytes", await openAndReadAll(name, key), "open: local_record_tampered");
      await rawWrite(anchor, "anchor", (s) => s.put(sealed.subarray(0, 10), "state-version"));
      checks.equal("anchor truncated", await openAndReadAll(name, key), "open: local_record_tampered");
      await rawWrite(anchor, "anchor", (s) => s.delete("state-version"));
      checks.equal("anchor row deleted (less strict, accepted)", await openAndReadAll(name, key), honest);
      await rawWrite(anchor, "anchor", (s) => s.put(sealed, "state-version"));
      checks.equal("anchor put back", await openAndReadAll(name, key), honest);
      const saved = await snapshot(name);
      await deleteRaw(name);
      checks.equal(
        "store deleted, anchor kept",
        await openAndReadAll(name, key),
        "open: local_state_rolled_back",
      );
      await deleteRaw(name);
      (
        await openRaw(name, 1, (db) => {
          for (const table of saved.keys()) db.createObjectStore(table);
        })
      ).close();
      await restore(name, saved);
      checks.equal("store put back", await openAndReadAll(name, key), honest);
      (await openRaw(anchor, 2)).close();
      checks.equal(
        "anchor of a newer schema",
        await openAndReadAll(name, key),
        "open: local_store_version_unsupported",
      );
    } finally {
      await IdbLocalStore.destroy(name).catch(() => {});
    }
  });
}

/**
 * A column update (markShown, recordOutboxFailure) on a row whose seal is broken keeps the stored
 * bytes as they are, as SQLite's UPDATE of a clear column does: the evidence is not replaced by a row
 * without a record, and the row still reads as tampered.
 */
async function brokenRowUpdated(): Promise<Outcome> {
  return attack(async (checks) => {
    const { name, key } = await populated("broken-update");
    try {
      const [keys, values] = (await snapshot(name)).get("received")!;
      const stored = values[0] as { record: Uint8Array };
      const flipped = Uint8Array.from(stored.record);
      flipped[flipped.length - 20]! ^= 1;
      await rawWrite(name, "received", (s) => s.put({ ...stored, record: flipped }, keys[0]!));
      const outboxRow = (await rawGet(name, "outbox", "c1")) as { record: Uint8Array };
      const outboxFlipped = Uint8Array.from(outboxRow.record);
      outboxFlipped[5]! ^= 1;
      await rawWrite(name, "outbox", (s) => s.put({ ...outboxRow, record: outboxFlipped }, "c1"));
      const store = await openStore(name, key);
      try {
        await store.transaction((tables) => {
          tables.markShown("m0", true);
          tables.markShown("m1", true);
          tables.recordOutboxFailure("c1", 99, "relay_unreachable");
        });
      } finally {
        await store.close();
      }
      const after = (await rawGet(name, "received", keys[0]!)) as { record?: Uint8Array };
      checks.equal(
        "received sealed bytes kept",
        after.record !== undefined && hex(after.record) === hex(flipped),
        true,
      );
      const outboxAfter = (await rawGet(name, "outbox", "c1")) as { record?: Uint8Array; attempts?: number };
      checks.equal(
        "outbox sealed bytes kept",
        outboxAfter.record !== undefined && hex(outboxAfter.record) === hex(outboxFlipped),
        true,
      );
      checks.equal("still tampered", await openAndReadAll(name, key), "read: local_record_tampered");
    } finally {
      await IdbLocalStore.destroy(name).catch(() => {});
    }
  });
}

// ---- the machine failing

const LOOP_ROWS = 6;

/**
 * Commits rounds 1, 2, 3... (each: LOOP_ROWS contacts, the session, a meta row with its number) until
 * one fails; `globalThis.loop` reports the rounds acknowledged and how the loop ended.
 */
async function commitLoop(name: string, keyHex: string, rows = 200): Promise<void> {
  const state = globalThis as { loop?: { committed: number; ended: string | null; memory?: number } };
  state.loop = { committed: 0, ended: null };
  const store = await openStore(name, fromHex(keyHex));
  try {
    for (let round = 1; round <= 100_000; round++) {
      await store.transaction((tables) => {
        for (let row = 0; row < LOOP_ROWS; row++) tables.putContact(contact(`u${round}-${row}`, round % 256));
        tables.putSession({ ...session("bob", round), state: new Uint8Array(rows * 20).fill(round % 256) });
        tables.putSecretMeta("loop", new TextEncoder().encode(String(round)));
      });
      state.loop.committed = round;
    }
    await store.close();
    state.loop.ended = "done";
  } catch (error) {
    // What the open store shows after the failure: the last acknowledged round, not the failed one.
    state.loop.memory = await store
      .read((tables) => Number(new TextDecoder().decode(tables.getSecretMeta("loop") ?? new Uint8Array())))
      .catch(() => -1);
    await store.close().catch(() => {});
    state.loop.ended = codeOf(error);
  }
}

function fromHex(text: string): Uint8Array {
  return Uint8Array.from(text.match(/../g)!.map((pair) => Number.parseInt(pair, 16)));
}

/** The rounds in the store, and whether each is whole (every row, the session, the counter). */
async function verifyLoop(name: string, keyHex: string): Promise<Outcome & { rounds: number }> {
  try {
    const store = await openStore(name, fromHex(keyHex));
    try {
      return await store.read((tables) => {
        const meta = tables.getSecretMeta("loop");
        const rounds = meta === null ? 0 : Number(new TextDecoder().decode(meta));
        const problems: string[] = [];
        if (tables.listContacts().length !== rounds * LOOP_ROWS)
          problems.push(`${tables.listContacts().length} contacts for ${rounds} rounds`);
        for (let round = 1; round <= rounds; round++)
          for (let row = 0; row < LOOP_ROWS; row++)
            if (tables.getContact(`u${round}-${row}`) === null)
              problems.push(`round ${round} lacks row ${row}`);
        const [current] = tables.getSessions("bob");
        if (rounds > 0 && current?.updatedAt !== rounds) problems.push(`session at ${current?.updatedAt}`);
        return { ok: problems.length === 0, detail: problems.slice(0, 5).join("; "), rounds };
      });
    } finally {
      await store.close();
    }
  } catch (error) {
    return { ok: false, detail: describeError(error), rounds: -1 };
  }
}

/**
 * Over quota (the test lowers the origin's quota through the DevTools protocol, a real
 * QuotaExceededError): a commit too large for it is refused with `browser_storage_unavailable` and
 * the quota message, the open store and the reopened one show the state before it, and a small commit
 * afterwards still works.
 */
async function overQuota(bigBytes: number): Promise<Outcome> {
  return attack(async (checks) => {
    const name = uniqueName("quota");
    const key = randomKey();
    try {
      const store = await openStore(name, key);
      await store.transaction((tables) => tables.putContact(contact("before")));
      let failure: unknown = null;
      try {
        await store.transaction((tables) => {
          tables.putContact(contact("big-1"));
          tables.putSecretMeta("big", new Uint8Array(bigBytes).fill(7));
          tables.putSession(session("before", 5));
        });
      } catch (error) {
        failure = error;
      }
      checks.equal("refused", codeOf(failure), "browser_storage_unavailable");
      checks.equal(
        "cause",
        ((failure as { cause?: DOMException })?.cause as DOMException | undefined)?.name,
        "QuotaExceededError",
      );
      checks.equal("said so", /quota/.test(String((failure as Error)?.message)), true);
      const memory = await store.read((tables) => ({
        contacts: tables.listContacts().map((c) => c.username),
        big: tables.getSecretMeta("big") === null,
        version: tables.stateVersion(),
      }));
      checks.equal("memory", memory, { contacts: ["before"], big: true, version: 0 });
      await store.transaction((tables) => tables.putContact(contact("after")));
      await store.close();
      const reopened = await openStore(name, key);
      const disk = await reopened.read((tables) => ({
        contacts: tables.listContacts().map((c) => c.username),
        big: tables.getSecretMeta("big") === null,
        version: tables.stateVersion(),
      }));
      await reopened.close();
      checks.equal("disk", disk, { contacts: ["after", "before"], big: true, version: 0 });
    } finally {
      await IdbLocalStore.destroy(name).catch(() => {});
    }
  });
}

/**
 * Opens (creating) the store `name` and closes it: "ok", or the error's code. `full`: every put throws
 * QuotaExceededError meanwhile.
 */
async function openNew(name: string, full: boolean): Promise<string> {
  const realPut = IDBObjectStore.prototype.put;
  if (full) {
    IDBObjectStore.prototype.put = () => {
      throw new DOMException("injected", "QuotaExceededError");
    };
  }
  try {
    return await settled(openStore(name, randomKey()).then((store) => store.close()));
  } finally {
    IDBObjectStore.prototype.put = realPut;
  }
}

/**
 * Another page closes the store's connection mid-loop (`how`: it opens the database at a newer
 * version, or deletes it): the commit in flight finishes or fails whole, the next ones are refused
 * with `browser_storage_unavailable`, the open store's memory stays at the last acknowledged round,
 * and close does not hang.
 */
async function connectionClosedMidLoop(how: "upgrade" | "delete"): Promise<Outcome & { committed: number }> {
  const name = uniqueName(`closed-${how}`);
  const keyHex = hex(randomKey());
  const state = globalThis as { loop?: { committed: number; ended: string | null; memory?: number } };
  const checks = new Checks();
  try {
    const loop = commitLoop(name, keyHex);
    while ((state.loop?.committed ?? 0) < 5) await new Promise((resolve) => setTimeout(resolve, 5));
    if (how === "upgrade") (await openRaw(name, 2)).close();
    else await deleteRaw(name);
    await loop;
    const { committed, ended, memory } = state.loop!;
    checks.equal("loop ended with", ended, "browser_storage_unavailable");
    checks.equal("memory at the last acknowledged round", memory, committed);
    if (how === "upgrade") {
      // What is on disk (the store refuses the newer schema): every acknowledged round, whole.
      const contacts = await rawKeys(name, "contacts");
      checks.equal("acknowledged rounds on disk", contacts.length, committed * LOOP_ROWS);
      checks.equal(
        "reopen",
        await settled(openStore(name, fromHex(keyHex))),
        "local_store_version_unsupported",
      );
    } else {
      // The store database was deleted, its anchor not: a new empty store is not this state.
      checks.equal("reopen", await settled(openStore(name, fromHex(keyHex))), "local_state_rolled_back");
    }
    return { ...checks.outcome(), committed };
  } catch (error) {
    return { ok: false, detail: describeError(error), committed: -1 };
  } finally {
    await IdbLocalStore.destroy(name).catch(() => {});
  }
}

/**
 * A request that fails after it was made (an `add` over a key that exists: a real ConstraintError
 * from IndexedDB, injected in place of one of the commit's puts): the transaction must abort whole.
 * Handled as "done" it would commit the other requests — half a work on disk, reported as failed.
 */
async function failedRequest(): Promise<Outcome> {
  return attack(async (checks) => {
    const name = uniqueName("failed-request");
    const key = randomKey();
    const realPut = IDBObjectStore.prototype.put;
    try {
      const store = await openStore(name, key);
      await store.transaction((tables) => tables.putContact(contact("kept")));
      let puts = 0;
      IDBObjectStore.prototype.put = function (
        this: IDBObjectStore,
        ...args: Parameters<IDBObjectStore["put"]>
      ) {
        puts += 1;
        // The second put of the commit becomes an add over the existing "kept" row's key.
        return puts === 2 && this.name === "contacts" ? this.add(...args) : realPut.apply(this, args);
      };
      let code: string;
      try {
        code = await settled(
          store.transaction((tables) => {
            tables.putContact(contact("new-1"));
            tables.putContact(contact("kept", 9));
            tables.putContact(contact("new-2"));
            tables.putSecretMeta("marker", new Uint8Array(3));
          }),
        );
      } finally {
        IDBObjectStore.prototype.put = realPut;
      }
      checks.equal("refused", code, "browser_storage_unavailable");
      const read = (tables: LocalTables) => ({
        contacts: tables.listContacts().map((c) => `${c.username}:${c.identityRecord[0]}`),
        marker: tables.getSecretMeta("marker") !== null,
      });
      checks.equal("memory", await store.read(read), { contacts: ["kept:3"], marker: false });
      await store.close();
      const reopened = await openStore(name, key);
      checks.equal("disk", await reopened.read(read), { contacts: ["kept:3"], marker: false });
      await reopened.close();
    } finally {
      IDBObjectStore.prototype.put = realPut;
      await IdbLocalStore.destroy(name).catch(() => {});
    }
  });
}

/** Large rows: 16 MiB in a meta value, 8 MiB in a message body; a row key too long is refused. */
async function largeRows(): Promise<Outcome> {
  return attack(async (checks) => {
    const name = uniqueName("large");
    const key = randomKey();
    const digest = async (bytes: Uint8Array | null | undefined): Promise<string> =>
      bytes == null
        ? "none"
        : hex(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>)));
    try {
      const meta = crypto.getRandomValues(new Uint8Array(65536)).slice();
      const big = new Uint8Array(16 << 20);
      for (let i = 0; i < big.length; i += meta.length)
        big.set(meta.subarray(0, Math.min(meta.length, big.length - i)), i);
      const body = big.slice(0, 8 << 20).reverse();
      const store = await openStore(name, key);
      await store.transaction((tables) => {
        tables.putSecretMeta("big", big);
        tables.insertReceived({ messageId: "big", sender: "bob", contentType: "text", body, receivedAt: 1 });
      });
      const longId = "x".repeat(70_000);
      checks.equal(
        "a client message id longer than a row key may be",
        await settled(
          store.transaction((tables) => {
            tables.putContact(contact("with-long"));
            tables.insertOutbox({
              clientMessageId: longId,
              recipient: "bob",
              envelope: new Uint8Array(1),
              createdAt: 1,
            });
          }),
        ),
        "RangeError",
      );
      checks.equal(
        "nothing of it in memory",
        await store.read((tables) => tables.getContact("with-long")),
        null,
      );
      await store.close();
      const reopened = await openStore(name, key);
      const [metaBack, bodyBack, longContact] = await reopened.read(
        (tables) =>
          [
            tables.getSecretMeta("big"),
            tables.listReceived()[0]?.body,
            tables.getContact("with-long"),
          ] as const,
      );
      await reopened.close();
      checks.equal("16 MiB meta value back", await digest(metaBack), await digest(big));
      checks.equal("8 MiB body back", await digest(bodyBack), await digest(body));
      checks.equal("nothing of the refused work on disk", longContact, null);
    } finally {
      await IdbLocalStore.destroy(name).catch(() => {});
    }
  });
}

/** Thousands of rows in one transaction: all of them back after a reopen; deleted in one as well. */
async function manyRows(count: number): Promise<Outcome> {
  return attack(async (checks) => {
    const name = uniqueName("many");
    const key = randomKey();
    try {
      const store = await openStore(name, key);
      await store.transaction((tables) => {
        for (let i = 0; i < count; i++) {
          tables.insertReceived({
            messageId: `m${i}`,
            sender: `peer${i % 50}`,
            contentType: "text",
            body: new Uint8Array(64).fill(i % 256),
            receivedAt: i,
          });
          if (i % 4 === 0) tables.putContact(contact(`peer-${i}`));
        }
      });
      await store.close();
      const reopened = await openStore(name, key);
      const counts = await reopened.read((tables) => ({
        received: tables.listReceived(0, count * 2).length,
        ordered: tables.listReceived(0, count * 2).every((m, i) => m.messageId === `m${i}`),
        contacts: tables.listContacts().length,
        conversations: tables.conversations().length,
      }));
      checks.equal("after reopen", counts, {
        received: count,
        ordered: true,
        contacts: count / 4,
        conversations: 50,
      });
      await reopened.transaction((tables) => {
        for (const message of tables.listUnshown(count)) tables.markShown(message.messageId, true);
      });
      const pruned = await reopened.transaction((tables) => tables.pruneHistory(count + 1));
      await reopened.close();
      checks.equal("pruned in one transaction", pruned, count);
      const last = await openStore(name, key);
      checks.equal("gone after reopen", await last.read((tables) => tables.listReceived().length), 0);
      await last.close();
    } finally {
      await IdbLocalStore.destroy(name).catch(() => {});
    }
  });
}

// ---- the store's own users

/**
 * Works that await, started together: each reads a counter, awaits, and writes it plus one. Works run
 * one at a time in call order, so no increment is lost; one that throws after writing and awaiting
 * writes nothing and does not stop the others.
 */
async function concurrentWorks(): Promise<Outcome> {
  return attack(async (checks) => {
    const name = uniqueName("concurrent");
    const key = randomKey();
    try {
      const store = await openStore(name, key);
      const order: number[] = [];
      const read = (tables: LocalTables): number =>
        Number(new TextDecoder().decode(tables.getSecretMeta("n") ?? new TextEncoder().encode("0")));
      const works = Array.from({ length: 8 }, (_, i) =>
        store.transaction(async (tables) => {
          const n = read(tables);
          tables.putContact(contact(`w${i}`));
          await new Promise((resolve) => setTimeout(resolve, 3 + ((i * 7) % 5)));
          await crypto.subtle.digest("SHA-256", new Uint8Array(8));
          if (i === 3) throw new Error("work 3 fails half-way");
          tables.putSecretMeta("n", new TextEncoder().encode(String(n + 1)));
          order.push(i);
          return n + 1;
        }),
      );
      const results = await Promise.all(works.map((work) => settled(work)));
      checks.equal("settled", results, ["ok", "ok", "ok", "Error", "ok", "ok", "ok", "ok"]);
      checks.equal("in call order", order, [0, 1, 2, 4, 5, 6, 7]);
      const inMemory = await store.read((tables) => [read(tables), tables.getContact("w3")]);
      checks.equal("memory", inMemory, [7, null]);
      await store.close();
      const reopened = await openStore(name, key);
      const onDisk = await reopened.read((tables) => [read(tables), tables.listContacts().length]);
      await reopened.close();
      checks.equal("disk", onDisk, [7, 7]);
    } finally {
      await IdbLocalStore.destroy(name).catch(() => {});
    }
  });
}

/**
 * Two opens of one store from the same page at once: one gets it, the other `local_store_busy`.
 * Close called while works are queued: they all run and commit first; a work asked for after close
 * is refused.
 */
async function opensAndClose(): Promise<Outcome> {
  return attack(async (checks) => {
    const name = uniqueName("opens");
    const key = randomKey();
    try {
      const opens = await Promise.allSettled([openStore(name, key), openStore(name, key)]);
      checks.equal(
        "two opens at once",
        opens.map((open) => (open.status === "fulfilled" ? "opened" : codeOf(open.reason))).sort(),
        ["local_store_busy", "opened"],
      );
      const store = opens.find((open) => open.status === "fulfilled")!.value;
      const queued = [1, 2, 3].map((i) =>
        store.transaction(async (tables) => {
          await new Promise((resolve) => setTimeout(resolve, 5));
          tables.putContact(contact(`queued-${i}`));
        }),
      );
      const closing = store.close();
      const late = await settled(store.transaction((tables) => tables.putContact(contact("late"))));
      checks.equal("queued works", await Promise.all(queued.map((work) => settled(work))), [
        "ok",
        "ok",
        "ok",
      ]);
      await closing;
      checks.equal("a work asked for after close", late, "Error");
      const reopened = await openStore(name, key);
      const names = await reopened.read((tables) => tables.listContacts().map((c) => c.username));
      await reopened.close();
      checks.equal("on disk", names, ["queued-1", "queued-2", "queued-3"]);
    } finally {
      await IdbLocalStore.destroy(name).catch(() => {});
    }
  });
}

/**
 * Re-entrancy: a store call from a work's synchronous part is refused at once (it would wait for the
 * work it runs in) and the work still commits; the tables of a finished work refuse every use (a
 * write there would belong to no transaction: lost, or published half with the next one), whether it
 * comes after the work resolved or from a task the work left running while it was being committed.
 */
async function reentrancy(): Promise<Outcome> {
  return attack(async (checks) => {
    const name = uniqueName("reentrant");
    const key = randomKey();
    try {
      const store = await openStore(name, key);
      let inner = "not called";
      await store.transaction((tables) => {
        inner = "pending";
        store
          .read((t) => t.countOutbox())
          .then(
            () => {
              inner = "ran";
            },
            (error: unknown) => {
              inner = codeOf(error);
            },
          );
        tables.putContact(contact("outer"));
      });
      await new Promise((resolve) => setTimeout(resolve, 0));
      checks.equal("inner call", inner, "Error");
      let leaked: LocalTables | null = null;
      let late = "not run";
      await store.transaction((tables) => {
        leaked = tables;
        tables.putContact(contact("in-work"));
        // A task the work does not await: it runs while the work's rows are sealed and written, or after.
        setTimeout(() => {
          try {
            tables.putContact(contact("during-commit"));
            late = "written";
          } catch (error) {
            late = codeOf(error);
          }
        }, 0);
      });
      await new Promise((resolve) => setTimeout(resolve, 20));
      checks.equal("a write from a task the work left running", late, "Error");
      let after = "not run";
      try {
        (leaked as LocalTables | null)?.putContact(contact("after-work"));
        after = "written";
      } catch (error) {
        after = codeOf(error);
      }
      checks.equal("a write through finished tables", after, "Error");
      let afterRead = "not run";
      try {
        (leaked as LocalTables | null)?.listContacts();
        afterRead = "read";
      } catch (error) {
        afterRead = codeOf(error);
      }
      checks.equal("a read through finished tables", afterRead, "Error");
      await store.transaction((tables) => tables.putContact(contact("next")));
      await store.close();
      const reopened = await openStore(name, key);
      const names = await reopened.read((tables) => tables.listContacts().map((c) => c.username));
      await reopened.close();
      checks.equal("on disk", names, ["in-work", "next", "outer"]);
    } finally {
      await IdbLocalStore.destroy(name).catch(() => {});
    }
  });
}

// ---- the keystore attacked

const CHEAP = { memoryKiB: 19456, passes: 2, parallelism: 1 };
const passphrase = (text: string): Uint8Array => new TextEncoder().encode(text);

async function keystoreOpened(name: string, pass: string | null, onProgress?: () => void): Promise<string> {
  try {
    const contents = await openBrowserKeystore({
      name,
      passphrase: pass === null ? null : passphrase(pass),
      ...(onProgress === undefined ? {} : { onProgress }),
    });
    return `identity ${hex(contents.identity).slice(0, 8)}`;
  } catch (error) {
    return codeOf(error);
  }
}

async function newKeystore(name: string, pass: string | null): Promise<string> {
  const contents = newKeystoreContents(crypto.getRandomValues(new Uint8Array(96)));
  await createBrowserKeystore(contents, {
    name,
    passphrase: pass === null ? null : passphrase(pass),
    argon2id: CHEAP,
  });
  return `identity ${hex(contents.identity).slice(0, 8)}`;
}

const STORE = "keystore";
const getEntry = (name: string, entry: "wrapping-key" | "sealed") => rawGet(name, STORE, entry);
const putEntry = (name: string, entry: "wrapping-key" | "sealed", value: unknown) =>
  rawWrite(name, STORE, (s) => s.put(value, entry));

/**
 * Keystores swapped, or their parts: two whole keystores swapped open as each other (they are
 * authentic; nothing in the profile can say which name they had) but the local store refuses the
 * other identity's key; a wrapping key swapped alone, replaced by another kind of key, or an entry
 * of the wrong type, is `keystore_tampered`, and putting the entries back restores the keystore.
 */
async function keystoreSwaps(): Promise<Outcome> {
  return attack(async (checks) => {
    const a = uniqueName("ks-a");
    const b = uniqueName("ks-b");
    try {
      const identityA = await newKeystore(a, null);
      const identityB = await newKeystore(b, null);
      const [keyA, blobA, keyB, blobB] = [
        await getEntry(a, "wrapping-key"),
        await getEntry(a, "sealed"),
        await getEntry(b, "wrapping-key"),
        await getEntry(b, "sealed"),
      ];
      // The local store of A, under A's local store key.
      const contentsA = await openBrowserKeystore({ name: a });
      const storeName = uniqueName("ks-store");
      await (await openStore(storeName, contentsA.localStoreKey)).close();
      await putEntry(a, "wrapping-key", keyB);
      await putEntry(a, "sealed", blobB);
      checks.equal("whole keystores swapped open as the other", await keystoreOpened(a, null), identityB);
      const swapped = await openBrowserKeystore({ name: a });
      checks.equal(
        "A's local store under B's key",
        await settled(openStore(storeName, swapped.localStoreKey)),
        "local_record_tampered",
      );
      await IdbLocalStore.destroy(storeName);
      await putEntry(a, "sealed", blobA);
      checks.equal("wrapping key swapped alone", await keystoreOpened(a, null), "keystore_tampered");
      const hmac = await crypto.subtle.generateKey({ name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
      await putEntry(a, "wrapping-key", hmac);
      checks.equal("an HMAC key as the wrapping key", await keystoreOpened(a, null), "keystore_tampered");
      await putEntry(a, "wrapping-key", new Uint8Array(32));
      checks.equal("raw bytes as the wrapping key", await keystoreOpened(a, null), "keystore_tampered");
      await putEntry(a, "wrapping-key", keyA);
      await putEntry(a, "sealed", (blobA as Uint8Array).slice().buffer);
      checks.equal("the blob as an ArrayBuffer", await keystoreOpened(a, null), "keystore_tampered");
      await rawWrite(a, STORE, (s) => s.delete("sealed"));
      checks.equal("the blob deleted", await keystoreOpened(a, null), "keystore_tampered");
      await putEntry(a, "sealed", blobA);
      checks.equal("restored", await keystoreOpened(a, null), identityA);
      checks.equal("B untouched", await keystoreOpened(b, null), identityB);
      void keyB;
    } finally {
      await deleteBrowserKeystore({ name: a }).catch(() => {});
      await deleteBrowserKeystore({ name: b }).catch(() => {});
    }
  });
}

/**
 * Downgrades of a passphrase keystore: its header rewritten to "no kdf" (the passphrase layer cut
 * off), an older or newer format version, the argon2id memory raised to the largest the keystore
 * accepts (refused by the outer layer before any derivation: no 1 GiB argon2id on a hostile header),
 * a truncated or empty blob, and the blob from before a passphrase change under the current key.
 */
async function keystoreDowngrades(): Promise<Outcome> {
  return attack(async (checks) => {
    const name = uniqueName("ks-down");
    try {
      const identity = await newKeystore(name, "first pass");
      const blob = (await getEntry(name, "sealed")) as Uint8Array;
      const withBytes = async (label: string, bytes: Uint8Array, expected: string): Promise<void> => {
        await putEntry(name, "sealed", bytes);
        let progress = 0;
        checks.equal(label, await keystoreOpened(name, "first pass", () => progress++), expected);
        if (expected !== identity) checks.equal(`${label}: no argon2id ran`, progress, 0);
      };
      // "NKSW" 1 0, then the blob's outer nonce and ciphertext after the argon2id header (42 bytes).
      const noKdf = new Uint8Array([...blob.subarray(0, 5), 0, ...blob.subarray(42)]);
      await withBytes("header rewritten to no kdf", noKdf, "keystore_tampered");
      for (const version of [0, 2]) {
        const changed = Uint8Array.from(blob);
        changed[4] = version;
        await withBytes(`format version ${version}`, changed, "keystore_version_unsupported");
      }
      const heavy = Uint8Array.from(blob);
      new DataView(heavy.buffer).setUint32(6, 1048576);
      await withBytes("argon2id memory raised to 1 GiB", heavy, "keystore_tampered");
      const light = Uint8Array.from(blob);
      new DataView(light.buffer).setUint32(6, 8);
      await withBytes("argon2id memory lowered to 8 KiB", light, "kdf_parameters_out_of_range");
      await withBytes("truncated into the header", blob.subarray(0, 30), "keystore_truncated");
      await withBytes("empty", new Uint8Array(0), "keystore_unrecognized");
      await withBytes("put back", blob, identity);
      await changeBrowserKeystorePassphrase({
        name,
        passphrase: passphrase("first pass"),
        newPassphrase: passphrase("second pass"),
        argon2id: CHEAP,
      });
      await putEntry(name, "sealed", blob);
      checks.equal(
        "the blob from before the change, under the new key",
        await keystoreOpened(name, "first pass"),
        "keystore_tampered",
      );
    } finally {
      await deleteBrowserKeystore({ name }).catch(() => {});
    }
  });
}

/**
 * The keystore's database replaced: deleted and made again without its object store (by other code
 * of the origin), or at a newer schema. Every keystore operation answers with a typed error, never the
 * DOMException a transaction over a missing object store throws.
 */
async function keystoreDatabaseReplaced(): Promise<Outcome> {
  return attack(async (checks) => {
    const name = uniqueName("ks-db");
    try {
      await newKeystore(name, null);
      await deleteRaw(name);
      (await openRaw(name, 1, () => {})).close();
      checks.equal("open", await keystoreOpened(name, null), "keystore_tampered");
      checks.equal("has", await settled(hasBrowserKeystore({ name })), "keystore_tampered");
      checks.equal("create", await settled(newKeystore(name, null)), "keystore_tampered");
      await deleteBrowserKeystore({ name });
      (await openRaw(name, 2, () => {})).close();
      checks.equal("newer schema", await keystoreOpened(name, null), "keystore_version_unsupported");
      await deleteBrowserKeystore({ name });
      const identity = await newKeystore(name, null);
      checks.equal("deleted, then created again", await keystoreOpened(name, null), identity);
    } finally {
      await deleteBrowserKeystore({ name }).catch(() => {});
    }
  });
}

/**
 * Two creates of one keystore started together, as two tabs would make them (both find no keystore
 * and both write: exactly one wins, the keystore opens to the winner's contents), then two passphrase
 * changes from the same passphrase (exactly one wins; the loser's passphrase does not open it). In one
 * page, so that both really overlap: IndexedDB serializes two tabs' transactions the same way.
 */
async function keystoreRaces(): Promise<Outcome> {
  return attack(async (checks) => {
    const name = uniqueName("ks-race");
    try {
      const created = await Promise.all(
        ["x", "y"].map(async () => {
          try {
            return await newKeystore(name, null);
          } catch (error) {
            return codeOf(error);
          }
        }),
      );
      const winners = created.filter((answer) => answer.startsWith("identity"));
      checks.equal("one create wins", winners.length, 1);
      checks.equal(
        "the other",
        created.filter((answer) => !answer.startsWith("identity")),
        ["keystore_exists"],
      );
      checks.equal("opens to the winner", await keystoreOpened(name, null), winners[0]);
      const changes = await Promise.all(
        ["left", "right"].map((to) =>
          settled(
            changeBrowserKeystorePassphrase({
              name,
              passphrase: null,
              newPassphrase: passphrase(to),
              argon2id: CHEAP,
            }),
          ),
        ),
      );
      checks.equal("one change wins", changes.filter((answer) => answer === "ok").length, 1);
      checks.equal(
        "the other is refused",
        changes.filter((answer) => answer !== "ok"),
        ["browser_storage_unavailable"],
      );
      const winner = changes[0] === "ok" ? "left" : "right";
      const loser = winner === "left" ? "right" : "left";
      checks.equal("the winner's passphrase", await keystoreOpened(name, winner), winners[0]);
      checks.equal("the loser's passphrase", await keystoreOpened(name, loser), "wrong_passphrase");
    } finally {
      await deleteBrowserKeystore({ name }).catch(() => {});
    }
  });
}

(globalThis as { nanoAttacks?: unknown }).nanoAttacks = {
  copiedRows,
  oddKeys,
  columnsEdited,
  keyCheckDeleted,
  missingObjectStores,
  anchorAttacks,
  brokenRowUpdated,
  commitLoop,
  verifyLoop,
  overQuota,
  openNew,
  failedRequest,
  connectionClosedMidLoop,
  largeRows,
  manyRows,
  concurrentWorks,
  opensAndClose,
  reentrancy,
  keystoreSwaps,
  keystoreDowngrades,
  keystoreDatabaseReplaced,
  keystoreRaces,
  destroy: (name: string) => IdbLocalStore.destroy(name),
};
const element = document.getElementById("status");
if (element) element.textContent = "ready";
