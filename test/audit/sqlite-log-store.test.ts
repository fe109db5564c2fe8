import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { after, test } from "node:test";
import type { MerkleLogStore } from "../../src/audit/log-store.ts";
import { MerkleLog } from "../../src/audit/merkle-log.ts";
import { MERKLE_LOG_SQLITE_DDL, SqliteLogStore } from "../../src/audit/sqlite-log-store.ts";
import { toHex, utf8 } from "../../src/crypto/bytes.ts";
import { NanoError } from "../../src/errors/index.ts";
import { runStoreConformance } from "./store-conformance.ts";

const dir = mkdtempSync(join(tmpdir(), "nano-audit-sqlite-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let counter = 0;

runStoreConformance("SqliteLogStore", {
  create: async (): Promise<MerkleLogStore> => new SqliteLogStore(join(dir, `log-${counter++}.db`)),
  dispose: async (store) => (store as SqliteLogStore).close(),
});

test("SqliteLogStore: a database it opens is in WAL mode", () => {
  const store = new SqliteLogStore(join(dir, "pragmas.db"));
  store.close();
  const db = new DatabaseSync(join(dir, "pragmas.db"));
  assert.equal(db.prepare("PRAGMA journal_mode").get()?.journal_mode, "wal");
  db.close();
});

test("SqliteLogStore: the log survives reopening, and two logs share one database", async () => {
  const path = join(dir, "reopen.db");
  const first = new SqliteLogStore(path);
  await new MerkleLog(first).append([utf8("a"), utf8("b"), utf8("c")]);
  const root = toHex(await new MerkleLog(first).rootHash());
  first.close();
  const db = new DatabaseSync(path);
  const audit = new SqliteLogStore(db, { logId: "audit" });
  const kt = new SqliteLogStore(db, { logId: "key-transparency" });
  assert.equal(toHex(await new MerkleLog(audit).rootHash()), root);
  assert.equal(await kt.size(), 0);
  await new MerkleLog(kt).append([utf8("binding")]);
  assert.equal(await audit.size(), 3);
  assert.equal(await kt.size(), 1);
  audit.close();
  kt.close();
  db.close();
});

test("SqliteLogStore: DDL is idempotent and exported for migrations", () => {
  const db = new DatabaseSync(":memory:");
  for (let i = 0; i < 2; i++) for (const ddl of MERKLE_LOG_SQLITE_DDL) db.exec(ddl);
  const tables = db
    .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
    .all()
    .map((row) => row.name);
  assert.deepEqual(tables, ["merkle_log_entries", "merkle_log_head", "merkle_log_nodes"]);
  db.close();
});

test("SqliteLogStore: rows left beyond the size make the append fail atomically", async () => {
  const path = join(dir, "leftover.db");
  const store = new SqliteLogStore(path);
  const log = new MerkleLog(store);
  await log.append([utf8("a"), utf8("b")]);
  const db = new DatabaseSync(path);
  db.prepare("UPDATE merkle_log_head SET tree_size = 1").run();
  db.close();
  await assert.rejects(log.append([utf8("c")]), (e: unknown) => NanoError.is(e, "log_store_inconsistent"));
  assert.equal(await store.size(), 1);
  store.close();
});
