import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { NanoError } from "../../src/errors/index.ts";
import { openPool, type Pool } from "../../src/store/postgres/connection.ts";
import {
  appliedPostgresMigrations,
  loadPostgresMigrations,
  migratePostgres,
  postgresSchemaVersion,
} from "../../src/store/postgres/migrations.ts";
import { createTestDatabase, randomName, type TestDatabase } from "../support/services.ts";

let database: TestDatabase;
const pools: Pool[] = [];
before(async () => {
  database = await createTestDatabase();
});
after(async () => {
  await Promise.all(pools.map((pool) => pool.end()));
  await database.drop();
});

async function freshSchema(): Promise<Pool> {
  const schema = randomName("m");
  const admin = openPool({ url: database.url, max: 1 });
  await admin.query(`CREATE SCHEMA ${schema}`);
  await admin.end();
  const pool = openPool({ url: database.url, schema, max: 4 });
  pools.push(pool);
  return pool;
}

async function tables(pool: Pool): Promise<string[]> {
  const result = await pool.query(
    "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY table_name",
  );
  return result.rows.map((row) => String(row.table_name));
}

describe("postgres migrations", () => {
  it("migrate up, down to 0 and up again; idempotent at the newest version", async () => {
    const pool = await freshSchema();
    const all = loadPostgresMigrations().length;
    const steps = await migratePostgres(pool);
    assert.deepEqual(
      steps.map((s) => `${s.direction}${s.version}`),
      Array.from({ length: all }, (_, i) => `up${i + 1}`),
    );
    assert.equal(await postgresSchemaVersion(pool), all);
    assert.ok((await tables(pool)).includes("messages"));
    assert.deepEqual(await migratePostgres(pool), []);
    await migratePostgres(pool, { target: 0 });
    assert.deepEqual(await tables(pool), ["schema_migrations"]);
    await migratePostgres(pool);
    assert.equal(await postgresSchemaVersion(pool), all);
  });

  it("relays starting at once: the advisory lock lets exactly one of them apply each step", async () => {
    const pool = await freshSchema();
    const others = await Promise.all(
      [1, 2].map(async () => {
        // Separate pools, as separate relay processes would have.
        const schema = (await pool.query("SELECT current_schema() AS s")).rows[0].s as string;
        const other = openPool({ url: database.url, schema, max: 2 });
        pools.push(other);
        return other;
      }),
    );
    const runs = await Promise.all([pool, ...others].map((p) => migratePostgres(p)));
    const applied = runs.flat();
    assert.equal(applied.length, loadPostgresMigrations().length, "each step ran once in all");
    assert.equal((await appliedPostgresMigrations(pool)).length, loadPostgresMigrations().length);
  });

  it("refuses an unknown target, an edited migration and a database newer than the relay", async () => {
    const pool = await freshSchema();
    await assert.rejects(migratePostgres(pool, { target: 99 }), (e: unknown) =>
      NanoError.is(e, "migration_unknown_version"),
    );
    assert.equal(await postgresSchemaVersion(pool), 0, "nothing ran");
    await migratePostgres(pool);
    const edited = loadPostgresMigrations().map((m, i) => (i === 0 ? { ...m, checksum: "0".repeat(64) } : m));
    await assert.rejects(migratePostgres(pool, { migrations: edited }), (e: unknown) =>
      NanoError.is(e, "migration_checksum_mismatch"),
    );
    // Ahead by recorded expand steps: an older relay runs on it and changes nothing.
    assert.deepEqual(await migratePostgres(pool, { migrations: [] }), []);
    // Steps recorded before kinds were (kind NULL) are not known to be expand steps.
    await pool.query("UPDATE schema_migrations SET kind = NULL");
    await assert.rejects(migratePostgres(pool, { migrations: [] }), (e: unknown) =>
      NanoError.is(e, "migration_unknown_version"),
    );
  });

  it("rolls back a failing step whole and leaves the version unchanged", async () => {
    const pool = await freshSchema();
    const shipped = loadPostgresMigrations();
    await migratePostgres(pool);
    const broken = [
      ...shipped,
      {
        version: shipped.length + 1,
        name: "broken",
        up: "CREATE TABLE x (a INTEGER); SELEC nonsense;",
        down: "DROP TABLE x;",
        checksum: "f".repeat(64),
        kind: "expand" as const,
      },
    ];
    await assert.rejects(migratePostgres(pool, { migrations: broken }));
    assert.equal(await postgresSchemaVersion(pool), shipped.length);
    assert.ok(!(await tables(pool)).includes("x"));
  });
});
