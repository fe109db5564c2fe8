// The local store conformance suite (local-store-conformance/_suite.ts) against the SQLite LocalStore.
// The same cases run against the IndexedDB store in Chromium (test/browser/idb-store.test.ts).
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { test } from "node:test";
import { LocalStore } from "../../src/client/local-store/local-store.ts";
import { deriveLocalKeys, sealRow } from "../../src/client/local-store/record-seal.ts";
import { randomBytes, utf8 } from "../../src/crypto/index.ts";
import {
  CONFORMANCE_CASES,
  FOREIGN_PLAINTEXT,
  type StoreSubject,
  type TamperTable,
} from "./local-store-conformance/_suite.ts";

const KEY_COLUMN: Readonly<Record<TamperTable, string>> = {
  contacts: "handle",
  sessions: "handle",
  outbox: "client_message_id",
  received: "seq",
  meta: "name",
};

function sqliteSubject(path: string): StoreSubject {
  const key = randomBytes(32);
  return {
    open: (databaseKey) => LocalStore.open(path, databaseKey ?? key),
    async tamper(table, action) {
      const db = new DatabaseSync(path);
      try {
        if (action === "delete-key-check") {
          db.prepare("DELETE FROM meta WHERE name = 'key-check'").run();
          return;
        }
        const keyColumn = KEY_COLUMN[table];
        const rows = db
          .prepare(`SELECT ${keyColumn} AS k, record FROM ${table} ORDER BY ${keyColumn}`)
          .all() as {
          k: Uint8Array | string | number;
          record: Uint8Array;
        }[];
        const update = db.prepare(`UPDATE ${table} SET record = ? WHERE ${keyColumn} = ?`);
        const [first, second] = rows;
        if (first === undefined) throw new Error(`no row in ${table} to tamper with`);
        if (action === "flip-byte") {
          const changed = Uint8Array.from(first.record);
          changed[changed.length - 20]! ^= 0x01;
          update.run(changed, first.k);
        } else if (action === "reseal-foreign") {
          const rowKey = typeof first.k === "string" ? utf8(first.k) : (first.k as Uint8Array);
          update.run(sealRow(deriveLocalKeys(key), table, rowKey, FOREIGN_PLAINTEXT), first.k);
        } else if (action === "truncate") {
          update.run(first.record.subarray(0, 20), first.k);
        } else {
          if (second === undefined) throw new Error(`${table} needs two rows to swap`);
          update.run(second.record, first.k);
          update.run(first.record, second.k);
        }
      } finally {
        db.close();
      }
    },
  };
}

for (const conformance of CONFORMANCE_CASES) {
  test(`SQLite local store: ${conformance.name}`, async () => {
    const dir = await mkdtemp(join(tmpdir(), "nano-conformance-"));
    try {
      await conformance.run(sqliteSubject(join(dir, "local.db")));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
}
