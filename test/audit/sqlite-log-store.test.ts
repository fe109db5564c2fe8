import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { after, test } from "node:test";
import type { MerkleLogStore } from "../../src/audit/log-store.ts";
import { hashLeaf, rootFromLeafHashes } from "../../src/audit/merkle-hash.ts";
import { MerkleLog } from "../../src/audit/merkle-log.ts";
import { MERKLE_LOG_SQLITE_DDL, SqliteLogStore } from "../../src/audit/sqlite-log-store.ts";
import { toHex, utf8 } from "../../src/crypto/bytes.ts";
import { sha256 } from "../../src/crypto/hash.ts";
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

test("SqliteLogStore: inside the caller's transaction an append commits or rolls back with it", async () => {
  const db = new DatabaseSync(":memory:");
  const store = new SqliteLogStore(db);
  const log = new MerkleLog(store);
  db.exec("CREATE TABLE accounts (name TEXT)");
  db.exec("BEGIN IMMEDIATE");
  db.exec("INSERT INTO accounts VALUES ('alice')");
  await log.append([utf8("account created: alice")]);
  db.exec("ROLLBACK");
  assert.equal(await store.size(), 0, "rolled back with the caller");
  db.exec("BEGIN IMMEDIATE");
  db.exec("INSERT INTO accounts VALUES ('bob')");
  await log.append([utf8("account created: bob")]);
  await assert.rejects(store.append({ start: 0, entries: [utf8("stale")], nodes: [] }), (e: unknown) =>
    NanoError.is(e, "log_append_conflict"),
  );
  assert.ok(db.isTransaction, "a failed nested append leaves the caller's transaction open");
  db.exec("COMMIT");
  assert.equal(await store.size(), 1);
  assert.deepEqual(await store.entry(0), utf8("account created: bob"));
  db.close();
});

test("SqliteLogStore: a rolled-back append leaves no cached subtree behind", async () => {
  const db = new DatabaseSync(":memory:");
  const log = new MerkleLog(new SqliteLogStore(db));
  const batch = (tag: string) => Array.from({ length: 200 }, (_, i) => utf8(`${tag} ${i}`));
  db.exec("BEGIN IMMEDIATE");
  await log.append(batch("rolled back"));
  await log.inclusionProof(3); // reads (and caches) subtrees of 64 and 128 leaves
  db.exec("ROLLBACK");
  await log.append(batch("kept"));
  assert.deepEqual(
    await log.rootHash(),
    rootFromLeafHashes(
      sha256,
      batch("kept").map((item) => hashLeaf(sha256, item)),
    ),
  );
  db.close();
});
