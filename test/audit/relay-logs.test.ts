// The relay's use of the log core: migration 0004 adopts MERKLE_LOG_SQLITE_DDL verbatim, synchronous
// appends inside a caller's transaction equal MerkleLog's and roll back with it, verifyLog can start at
// a signed checkpoint, and the log key file is private, atomic and strict.
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { after, test } from "node:test";
import { MemoryLogStore } from "../../src/audit/memory-log-store.ts";
import { MerkleLog } from "../../src/audit/merkle-log.ts";
import { MERKLE_LOG_SQLITE_DDL, SqliteLogStore } from "../../src/audit/sqlite-log-store.ts";
import { appendSync } from "../../src/audit/sqlite-sync-append.ts";
import { verifyLog } from "../../src/audit/verify-log.ts";
import { utf8 } from "../../src/crypto/bytes.ts";
import { NanoError } from "../../src/errors/index.ts";
import { actorPseudonym, loadOrCreateLogKey, readLogKey } from "../../src/relay/audit-log-key.ts";
import { parseConfigText } from "../../src/relay/config/load.ts";
import { loadMigrations, migrate, schemaVersion } from "../../src/store/sqlite/migrations.ts";

const dir = mkdtempSync(join(tmpdir(), "nano-relay-logs-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test("migration 0004 creates the log tables with MERKLE_LOG_SQLITE_DDL verbatim, and rolls back", () => {
  const migration = loadMigrations().find((m) => m.name === "merkle_logs")!;
  for (const ddl of MERKLE_LOG_SQLITE_DDL) assert.ok(migration.up.includes(`${ddl};`), ddl.split("\n")[0]);
  const db = new DatabaseSync(":memory:");
  migrate(db, { target: migration.version });
  assert.equal(schemaVersion(db), migration.version);
  const tables = () =>
    db
      .prepare(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE '%log%' OR name LIKE 'kt_%' ORDER BY name",
      )
      .all()
      .map((row) => String(row.name));
  assert.deepEqual(tables(), [
    "kt_latest_binding",
    "merkle_log_checkpoints",
    "merkle_log_entries",
    "merkle_log_head",
    "merkle_log_nodes",
    "merkle_log_personal_data",
  ]);
  migrate(db, { target: migration.version - 1 });
  assert.deepEqual(tables(), []);
  migrate(db, { target: migration.version });
  assert.equal(schemaVersion(db), migration.version);
  db.close();
});

test("appendSync builds the same tree as MerkleLog and nests in the caller's transaction", async () => {
  const db = new DatabaseSync(":memory:");
  const store = new SqliteLogStore(db, { logId: "kt" });
  const reference = new MerkleLog(new MemoryLogStore());
  const log = new MerkleLog(store);
  for (let i = 0; i < 70; i++) {
    const entry = utf8(`entry ${i}`);
    await reference.append([entry]);
    db.exec("BEGIN IMMEDIATE");
    appendSync(store, [entry]);
    db.exec("COMMIT");
    // Interleave an append through MerkleLog itself every few entries.
    if (i % 7 === 0) {
      await reference.append([utf8(`async ${i}`)]);
      await log.append([utf8(`async ${i}`)]);
    }
  }
  assert.deepEqual(await log.rootHash(), await reference.rootHash());
  const size = await log.size();
  // A rolled-back transaction takes the append with it.
  db.exec("BEGIN IMMEDIATE");
  appendSync(store, [utf8("rolled back")]);
  db.exec("ROLLBACK");
  assert.equal(await log.size(), size);
  assert.equal((await verifyLog(store, [{ size, rootHash: await reference.rootHash() }])).ok, true);
  assert.throws(
    () => appendSync(store, [new Uint8Array(64 * 1024 + 1)]),
    (e: unknown) => NanoError.is(e, "log_entry_too_large"),
  );
  assert.deepEqual(appendSync(store, []), { start: size, size });
  db.close();
});

test("verifyLog --from: starts at a signed checkpoint, trusts the prefix only through it", async () => {
  const store = new MemoryLogStore();
  const log = new MerkleLog(store);
  const heads = [];
  for (let i = 0; i < 40; i++) {
    await log.append([utf8(`e${i}`)]);
    if ((i + 1) % 5 === 0) heads.push({ size: i + 1, rootHash: await log.rootHash() });
  }
  for (const from of [0, 5, 13, 15, 20, 40]) {
    const result = await verifyLog(
      store,
      heads.filter((h) => h.size >= from),
      { from },
    );
    assert.equal(result.ok, true, `from ${from}`);
  }
  // A prefix that does not match the anchoring checkpoint is reported.
  const wrong = heads.map((h) => (h.size === 20 ? { size: 20, rootHash: new Uint8Array(32) } : h));
  const bad = await verifyLog(store, wrong, { from: 20 });
  assert.equal(bad.ok, false);
  await assert.rejects(verifyLog(store, heads, { from: 41 }), (e: unknown) =>
    NanoError.is(e, "log_index_out_of_range"),
  );
});

test("the log key file: generated 0600, read back identically, refused when readable or malformed", () => {
  const path = join(dir, "keys", "log-key.json");
  const { key, created } = loadOrCreateLogKey(path, "relay.example");
  assert.equal(created, true);
  assert.equal(statSync(path).mode & 0o777, 0o600);
  const again = loadOrCreateLogKey(path, "relay.example");
  assert.equal(again.created, false);
  assert.deepEqual(again.key.verifier.kt, key.verifier.kt);
  assert.equal(key.verifier.audit.name, "relay.example/audit");
  assert.equal(key.verifier.kt.name, "relay.example/kt");
  assert.notDeepEqual(actorPseudonym(key, "alice"), actorPseudonym(key, "bob"));
  assert.equal(actorPseudonym(key, "alice").length, 16);
  const invalid = (e: unknown) => NanoError.is(e, "log_key_file_invalid");
  chmodSync(path, 0o644);
  assert.throws(() => readLogKey(path, "relay.example"), invalid);
  chmodSync(path, 0o600);
  const text = readFileSync(path, "utf8");
  for (const broken of [
    "",
    "{",
    "[]",
    text.replace('"version":1', '"version":2'),
    text.replace(/"ed25519_seed":"[^"]+"/, '"ed25519_seed":"AAAA"'),
  ]) {
    writeFileSync(path, broken, { mode: 0o600 });
    assert.throws(() => readLogKey(path, "relay.example"), invalid, broken.slice(0, 20));
  }
  assert.throws(() => readLogKey(join(dir, "absent.json"), "relay.example"), invalid);
  assert.throws(
    () => loadOrCreateLogKey(join(dir, "k2.json"), "has space"),
    (e: unknown) => NanoError.is(e, "note_key_name_invalid"),
  );
  // No secret in the error text.
  writeFileSync(path, text.replace('"version":1', '"version":2'), { mode: 0o600 });
  assert.throws(
    () => readLogKey(path, "relay.example"),
    (e: unknown) => invalid(e) && !(e as Error).message.includes(JSON.parse(text).ed25519_seed),
  );
});

test("production validate-config refuses a group- or world-readable log key file", () => {
  const keyFile = join(dir, "prod-key.json");
  loadOrCreateLogKey(keyFile, "relay.example");
  const toml = (file: string) => `environment = "production"
[server]
behind_tls_proxy = true
[server.tls]
enabled = false
[compliance]
log_origin = "relay.example"
log_key_file = "${file}"
`;
  assert.equal(parseConfigText(toml(keyFile), "prod.toml").ok, true);
  chmodSync(keyFile, 0o640);
  const result = parseConfigText(toml(keyFile), "prod.toml");
  assert.equal(result.ok, false);
  assert.ok(!result.ok && result.problems.some((p) => p.path === "compliance.log_key_file"));
  assert.equal(parseConfigText(toml(join(dir, "not-yet.json")), "prod.toml").ok, true);
  const spaced = parseConfigText(`[compliance]\nlog_origin = "a b"\n`, "x.toml");
  assert.equal(spaced.ok, false);
});

test("the store journal writes the binding and the event in the claim's own transaction", async () => {
  const { SqliteStore } = await import("../../src/store/sqlite/sqlite-store.ts");
  const { RelayTransparency } = await import("../../src/relay/transparency.ts");
  const store = new SqliteStore({ path: join(dir, "journal.sqlite") });
  const { key } = loadOrCreateLogKey(join(dir, "journal-key.json"), "relay.example");
  const logs = new RelayTransparency({
    db: store.db,
    key,
    run: (work) => store.writer.submit(work),
    now: () => 1,
  });
  store.journal = logs.journal();
  const account = (username: string, byte: number) => ({
    username,
    skeleton: username,
    identityHash: new Uint8Array(64).fill(byte),
    identityRecord: utf8(`record of ${username}`),
    createdAt: 10,
    updatedAt: 10,
  });
  assert.equal(
    (await store.accounts.claim(account("alice", 1), { correlationId: "r1", recordVersion: 1 })).outcome,
    "created",
  );
  assert.equal(await logs.stores.kt.size(), 1);
  assert.equal(await logs.stores.audit.size(), 1);
  // Idempotent re-claims and refused claims log nothing; a failed compare-and-swap neither.
  assert.equal((await store.accounts.claim(account("alice", 1))).outcome, "already_owned");
  assert.equal((await store.accounts.claim(account("alice", 2))).outcome, "taken");
  assert.equal(
    await store.accounts.replaceIdentity(
      "alice",
      new Uint8Array(64),
      { identityHash: new Uint8Array(64).fill(3), identityRecord: utf8("x") },
      20,
    ),
    false,
  );
  assert.equal(await logs.stores.kt.size(), 1);
  assert.equal(
    await store.accounts.replaceIdentity(
      "alice",
      new Uint8Array(64).fill(1),
      { identityHash: new Uint8Array(64).fill(3), identityRecord: utf8("x") },
      20,
      { recordVersion: 2 },
    ),
    true,
  );
  assert.equal(await logs.stores.kt.size(), 2);
  const proof = await logs.ktProof("alice");
  assert.equal(proof?.index, 1);
  // A log that cannot be appended to (a row planted beyond its size) aborts the claim: fail closed.
  store.db.prepare("INSERT INTO merkle_log_entries (log_id, idx, data) VALUES ('kt', 2, x'00')").run();
  await assert.rejects(store.accounts.claim(account("bob", 4)), (e: unknown) =>
    NanoError.is(e, "log_store_inconsistent"),
  );
  assert.equal(await store.accounts.get("bob"), null);
  assert.equal(await logs.stores.audit.size(), 2);
  await store.close();
});
