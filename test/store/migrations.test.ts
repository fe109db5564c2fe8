import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { NanoError } from "../../src/errors/index.ts";
import {
  appliedMigrations,
  loadMigrations,
  migrate,
  schemaVersion,
} from "../../src/store/sqlite/migrations.ts";
import { openDatabase } from "../../src/store/sqlite/sqlite-store.ts";

const dir = mkdtempSync(join(tmpdir(), "nano-migrations-"));
let n = 0;
const fresh = () => openDatabase(join(dir, `m${n++}.sqlite`));

function tables(db: ReturnType<typeof openDatabase>): string[] {
  return db
    .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
    .all()
    .map((row) => String(row.name));
}

describe("sqlite migrations", () => {
  it("ship as a gapless sequence with both directions", () => {
    const migrations = loadMigrations();
    assert.ok(migrations.length >= 2);
    migrations.forEach((m, i) => {
      assert.equal(m.version, i + 1);
      assert.match(m.checksum, /^[0-9a-f]{64}$/);
    });
  });

  it("migrate up, down to N, down to 0 and up again", () => {
    const db = fresh();
    const all = loadMigrations().length;
    assert.deepEqual(
      migrate(db).map((s) => `${s.direction}${s.version}`),
      Array.from({ length: all }, (_, i) => `up${i + 1}`),
    );
    assert.equal(schemaVersion(db), all);
    assert.ok(tables(db).includes("attachments"));
    assert.deepEqual(migrate(db), [], "idempotent at the newest version");
    migrate(db, { target: 1 });
    assert.equal(schemaVersion(db), 1);
    assert.ok(!tables(db).includes("attachments"));
    assert.ok(tables(db).includes("messages"));
    migrate(db, { target: 0 });
    assert.deepEqual(tables(db), ["schema_migrations"]);
    migrate(db);
    assert.equal(schemaVersion(db), all);
    db.close();
  });

  it("refuses an unknown target version", () => {
    const db = fresh();
    assert.throws(
      () => migrate(db, { target: 99 }),
      (e: unknown) => NanoError.is(e, "migration_unknown_version"),
    );
    assert.throws(
      () => migrate(db, { target: -1 }),
      (e: unknown) => NanoError.is(e, "migration_unknown_version"),
    );
    assert.equal(schemaVersion(db), 0, "nothing ran");
    db.close();
  });

  it("detects a migration edited after it was applied", () => {
    const db = fresh();
    migrate(db);
    const edited = loadMigrations().map((m, i) => (i === 0 ? { ...m, checksum: "0".repeat(64) } : m));
    assert.throws(
      () => migrate(db, { migrations: edited }),
      (e: unknown) => NanoError.is(e, "migration_checksum_mismatch"),
    );
    db.close();
  });

  it("refuses a database newer than the relay, unless ahead by expand steps only", () => {
    const db = fresh();
    migrate(db);
    // Ahead by recorded expand steps: accepted (test/store/migration-kinds.test.ts has the rest).
    assert.deepEqual(migrate(db, { migrations: loadMigrations().slice(0, 1) }), []);
    // Steps recorded before kinds were (kind NULL) are not known to be expand steps.
    db.exec("UPDATE schema_migrations SET kind = NULL");
    assert.throws(
      () => migrate(db, { migrations: loadMigrations().slice(0, 1) }),
      (e: unknown) => NanoError.is(e, "migration_unknown_version"),
    );
    db.close();
  });

  it("rolls back a failing step and leaves the version unchanged", () => {
    const db = fresh();
    const shipped = loadMigrations();
    const broken = [
      ...shipped,
      {
        version: shipped.length + 1,
        name: "broken",
        up: "CREATE TABLE x (a); SELEC nonsense;",
        down: "DROP TABLE x;",
        checksum: "f".repeat(64),
        kind: "expand" as const,
      },
    ];
    migrate(db);
    assert.throws(() => migrate(db, { migrations: broken }));
    assert.equal(schemaVersion(db), shipped.length);
    assert.ok(!tables(db).includes("x"));
    assert.equal(appliedMigrations(db).length, shipped.length);
    db.close();
  });

  it("0005 keeps bundles under their suite, drops untagged one-time keys, and its down keeps the top-ranked suite", () => {
    const db = fresh();
    migrate(db, { target: 4 });
    db.exec(`INSERT INTO accounts (username, skeleton, identity_hash, identity_record, created_at, updated_at)
      VALUES ('bob', 'bob', x'01', x'02', 1, 1)`);
    db.exec(`INSERT INTO prekey_bundles VALUES ('bob', 3, x'0b', x'0c', 5, 6)`);
    db.exec(`INSERT INTO one_time_prekeys VALUES ('bob', 'k1', x'0d')`);
    migrate(db, { target: 5 });
    const rows = () =>
      db
        .prepare("SELECT username, suite, signed_prekey_created_at AS c FROM prekey_bundles ORDER BY suite")
        .all();
    assert.deepEqual(
      rows().map((r) => [r.username, r.suite, r.c]),
      [["bob", 3, 5]],
    );
    assert.equal(
      db.prepare("SELECT count(*) AS n FROM one_time_prekeys").get()?.n,
      0,
      "suite unknown: discarded",
    );
    db.exec(`INSERT INTO prekey_bundles VALUES ('bob', 2, x'1b', x'1c', 7, 8)`);
    db.exec(
      `INSERT INTO one_time_prekeys (username, suite, key_id, prekey) VALUES ('bob', 2, 'h', x'01'), ('bob', 3, 'q', x'02')`,
    );
    migrate(db, { target: 4 });
    assert.deepEqual(
      rows().map((r) => [r.username, r.suite, r.c]),
      [["bob", 2, 7]],
      "hybrid outranks quantum",
    );
    assert.deepEqual(
      db
        .prepare("SELECT key_id FROM one_time_prekeys")
        .all()
        .map((r) => r.key_id),
      ["h"],
      "only the kept suite's one-time keys survive",
    );
    db.close();
  });

  it("runs in WAL mode with synchronous = FULL", () => {
    const db = fresh();
    assert.equal(db.prepare("PRAGMA journal_mode").get()?.journal_mode, "wal");
    assert.equal(db.prepare("PRAGMA synchronous").get()?.synchronous, 2);
    db.close();
  });
});
