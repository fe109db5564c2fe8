import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { describe, it } from "node:test";
import { pathToFileURL } from "node:url";
import { stringify } from "smol-toml";
import { NanoError } from "../../src/errors/index.ts";
import { CONTRACT_STATEMENTS, migrationKind } from "../../src/store/migration-kinds.ts";
import {
  appliedMigrations,
  loadMigrations,
  migrate,
  pendingContract,
  schemaVersion,
} from "../../src/store/sqlite/migrations.ts";
import { openDatabase } from "../../src/store/sqlite/sqlite-store.ts";
import { testConfig } from "../relay/fixtures/harness.ts";

/**
 * Expand and contract migrations (docs/relay.md "Schema changes during a rolling upgrade"): a relay
 * applies only expand steps as it starts, a contract step waits for `nano-relay migrate --contract`,
 * which refuses while an older relay may run, and old code runs on a database that is ahead of it by
 * expand steps only.
 */
const temp = (prefix: string) => mkdtempSync(join(tmpdir(), `nano-${prefix}-`));

function migrationsDir(files: Record<string, string>): URL {
  const dir = temp("migrations");
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return pathToFileURL(`${dir}/`);
}

const FILES = {
  "0001_start.up.sql": "CREATE TABLE t (a INTEGER, old TEXT) STRICT;",
  "0001_start.down.sql": "DROP TABLE t;",
  "0002_add.up.sql": "-- nano: expand\nALTER TABLE t ADD COLUMN b INTEGER;",
  "0002_add.down.sql": "ALTER TABLE t DROP COLUMN b;",
  "0003_drop_old.up.sql":
    "-- Old code reads t.old: only once none runs.\n-- nano: contract\nALTER TABLE t DROP COLUMN old;",
  "0003_drop_old.down.sql": "ALTER TABLE t ADD COLUMN old TEXT;",
  "0004_more.up.sql": "CREATE TABLE u (x INTEGER) STRICT;",
  "0004_more.down.sql": "DROP TABLE u;",
};

describe("migration kinds", () => {
  it("reads the kind from the up file's leading comments; expand unless it says contract", () => {
    assert.equal(migrationKind("CREATE TABLE x (a);"), "expand");
    assert.equal(migrationKind("-- nano: expand\nCREATE TABLE x (a);"), "expand");
    assert.equal(migrationKind("-- why\n--   nano:   contract\nDROP TABLE x;"), "contract");
    assert.equal(
      migrationKind("DROP TABLE x;\n-- nano: contract"),
      "expand",
      "a marker after SQL is not a marker",
    );
    assert.deepEqual(
      loadMigrations(migrationsDir(FILES)).map((m) => m.kind),
      ["expand", "expand", "contract", "expand"],
    );
  });

  it("marks contract every shipped migration that takes something away (since the rule)", () => {
    // Applied before the rule existed, and never to be edited (their checksums are in databases).
    const before = { "src/store/sqlite/migrations": 6, "src/store/postgres/migrations": 3 };
    for (const [folder, baseline] of Object.entries(before)) {
      const dir = new URL(`../../${folder}/`, import.meta.url);
      for (const file of readdirSync(dir).filter((name) => name.endsWith(".up.sql"))) {
        if (Number(file.slice(0, 4)) <= baseline) continue;
        const up = readFileSync(new URL(file, dir), "utf8");
        if (CONTRACT_STATEMENTS.test(up))
          assert.equal(
            migrationKind(up),
            "contract",
            `${folder}/${file} removes or renames: mark it -- nano: contract`,
          );
      }
    }
  });

  it("stops a relay's run before the first contract step; --contract applies it and what follows", () => {
    const migrations = loadMigrations(migrationsDir(FILES));
    const db = openDatabase(join(temp("kinds"), "db.sqlite"));
    const started = migrate(db, { migrations });
    assert.deepEqual(
      started.map((s) => s.version),
      [1, 2],
    );
    assert.deepEqual(
      pendingContract(db, migrations).map((m) => m.version),
      [3],
    );
    assert.deepEqual(
      appliedMigrations(db).map((m) => m.kind),
      ["expand", "expand"],
    );
    const contracted = migrate(db, { migrations, contract: true });
    assert.deepEqual(
      contracted.map((s) => s.version),
      [3, 4],
    );
    assert.deepEqual(pendingContract(db, migrations), []);
    db.close();
  });

  it("lets older code run on a database ahead by expand steps only, never past a contract step", () => {
    const all = loadMigrations(migrationsDir(FILES));
    const db = openDatabase(join(temp("ahead"), "db.sqlite"));
    migrate(db, { migrations: all }); // 1, 2: the newer relay of a rolling upgrade
    const older = all.slice(0, 1);
    assert.deepEqual(migrate(db, { migrations: older }), [], "older code changes nothing");
    assert.equal(schemaVersion(db), 2);
    assert.throws(
      () => migrate(db, { migrations: older, target: 0 }),
      (error) => NanoError.is(error, "migration_unknown_version"),
    );
    migrate(db, { migrations: all, contract: true }); // 3 (contract), 4
    for (const code of [older, all.slice(0, 2)])
      assert.throws(
        () => migrate(db, { migrations: code }),
        (error) =>
          NanoError.is(error, "migration_unknown_version") && /not by expand steps only/.test(error.message),
      );
    db.close();
  });

  it("refuses migrate --contract while another process may hold the SQLite database open", async () => {
    const dir = temp("contract-cli");
    const config = testConfig({}, dir);
    const file = join(dir, "relay.toml");
    writeFileSync(file, stringify(config as unknown as Record<string, unknown>));
    const { migrateCommand } = await import("../../src/cli/relay/migrate.ts");
    const write = process.stdout.write;
    process.stdout.write = () => true;
    try {
      await migrateCommand({ config: file });
      const relay = new DatabaseSync(config.storage.path); // a running relay's connection
      relay.exec("SELECT 1 FROM schema_migrations");
      await assert.rejects(
        migrateCommand({ config: file, contract: true }),
        (error: { exitCode?: number }) => error.exitCode === 74,
      );
      await migrateCommand({ config: file, contract: true, force: true });
      relay.close();
      await migrateCommand({ config: file, contract: true });
    } finally {
      process.stdout.write = write;
    }
  });
});
