// Attacks by someone with the profile's IndexedDB: rows moved, copied, keyed oddly, their clear columns
// edited; the key-check row deleted; a database made again without its object stores; the anchor.
import { IdbLocalStore } from "../../../../src/client/browser-store/idb-local-store.ts";
import {
  attack,
  codeOf,
  deleteRaw,
  hex,
  type Outcome,
  openAndReadAll,
  openRaw,
  openStore,
  populated,
  randomKey,
  rawGet,
  rawWrite,
  restore,
  session,
  settled,
  snapshot,
  uniqueName,
} from "./_attack-kit.ts";

/**
 * Sealed rows copied to another table or to another key of their own table: each one must make the
 * reads that reach it throw `local_record_tampered` (never open as what it was not), and putting the
 * rows back must give everything back.
 */
export async function copiedRows(): Promise<Outcome> {
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
export async function oddKeys(): Promise<Outcome> {
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
export async function columnsEdited(): Promise<Outcome> {
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
export async function keyCheckDeleted(): Promise<Outcome> {
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
export async function missingObjectStores(): Promise<Outcome> {
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
export async function anchorAttacks(): Promise<Outcome> {
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
export async function brokenRowUpdated(): Promise<Outcome> {
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
