/**
 * Versioned migrations for PostgreSQL, run by the same `nano-relay migrate` as SQLite's: the same file
 * naming (`NNNN_name.up.sql` / `.down.sql` in ./migrations), the same checksums over both files, the
 * same `--to N`. What PostgreSQL adds: several relays may start at once against one database, so the
 * whole run holds a session advisory lock and the history is read only after it is taken (the second
 * relay waits, then finds nothing left to do).
 */
import { NanoError } from "../../errors/index.ts";
import { unsafeAhead } from "../migration-kinds.ts";
import {
  type AppliedMigration,
  loadMigrations,
  type Migration,
  type MigrationStep,
} from "../sqlite/migrations.ts";
import { type Pool, type PoolClient, query, storeError } from "./connection.ts";

const MIGRATIONS_DIR = new URL("./migrations/", import.meta.url);
/** Arbitrary but fixed: the advisory-lock key every relay uses for migrations ("nano" in ASCII). */
export const MIGRATION_LOCK_KEY = 0x6e616e6f;

export function loadPostgresMigrations(): Migration[] {
  return loadMigrations(MIGRATIONS_DIR);
}

async function ensureTable(client: PoolClient): Promise<void> {
  await query(
    client,
    `CREATE TABLE IF NOT EXISTS schema_migrations (
      version INTEGER PRIMARY KEY,
      name TEXT NOT NULL,
      checksum TEXT NOT NULL,
      applied_at BIGINT NOT NULL
    )`,
  );
  // Each step's kind (expand / contract), recorded since the rule (../migration-kinds.ts).
  await query(client, "ALTER TABLE schema_migrations ADD COLUMN IF NOT EXISTS kind TEXT");
}

async function readApplied(client: PoolClient): Promise<AppliedMigration[]> {
  await ensureTable(client);
  const rows = await query(
    client,
    "SELECT version, name, checksum, applied_at, kind FROM schema_migrations ORDER BY version",
  );
  return rows.map((row) => ({
    version: Number(row.version),
    name: String(row.name),
    checksum: String(row.checksum),
    appliedAt: Number(row.applied_at),
    kind: row.kind === "expand" || row.kind === "contract" ? row.kind : null,
  }));
}

/** As SQLite's: a database ahead of this code by expand steps only is accepted. */
function verifyHistory(applied: readonly AppliedMigration[], migrations: readonly Migration[]): void {
  const unsafe = unsafeAhead(applied, migrations.length);
  if (unsafe.length > 0)
    throw new NanoError(
      "migration_unknown_version",
      `the database is at schema version ${unsafe[0]}, newer than this relay knows (${migrations.length}), and not by expand steps only`,
    );
  for (const row of applied) {
    const shipped = migrations[row.version - 1];
    if (shipped === undefined) continue;
    if (shipped.checksum !== row.checksum)
      throw new NanoError(
        "migration_checksum_mismatch",
        `migration ${row.version} (${row.name}) was changed after it was applied`,
      );
  }
}

async function withLock<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  let client: PoolClient;
  try {
    client = await pool.connect();
  } catch (error) {
    throw storeError(error);
  }
  let broken = false;
  try {
    // Session-level, so it spans the one-transaction-per-step loop; released below or with the session.
    await query(client, "SELECT pg_advisory_lock($1)", [MIGRATION_LOCK_KEY]);
    try {
      return await work(client);
    } finally {
      await query(client, "SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK_KEY]).catch(() => {
        broken = true;
      });
    }
  } finally {
    client.release(broken);
  }
}

export async function appliedPostgresMigrations(pool: Pool): Promise<AppliedMigration[]> {
  return withLock(pool, readApplied);
}

export async function postgresSchemaVersion(pool: Pool): Promise<number> {
  const applied = await appliedPostgresMigrations(pool);
  return applied.length === 0 ? 0 : applied[applied.length - 1]!.version;
}

/**
 * Moves the schema to `target` (default: the newest), one transaction per step with its
 * schema_migrations row (PostgreSQL's DDL is transactional: a failed step leaves nothing behind).
 */
export async function migratePostgres(
  pool: Pool,
  options: {
    target?: number;
    migrations?: readonly Migration[];
    now?: number;
    /** Apply contract steps too (see MigrateOptions in ../sqlite/migrations.ts). */
    contract?: boolean;
  } = {},
): Promise<MigrationStep[]> {
  const migrations = options.migrations ?? loadPostgresMigrations();
  const target = options.target ?? migrations.length;
  if (!Number.isInteger(target) || target < 0 || target > migrations.length)
    throw new NanoError(
      "migration_unknown_version",
      `no schema version ${target}; versions are 0..${migrations.length}`,
    );
  return withLock(pool, async (client) => {
    const applied = await readApplied(client);
    verifyHistory(applied, migrations);
    const current = applied.length === 0 ? 0 : applied[applied.length - 1]!.version;
    const steps: MigrationStep[] = [];
    if (current > migrations.length) {
      if (options.target !== undefined && options.target < current)
        throw new NanoError(
          "migration_unknown_version",
          `the database is at schema version ${current}, newer than this relay knows; roll back with the newer relay`,
        );
      return steps;
    }
    const runStep = async (migration: Migration, direction: "up" | "down") => {
      await query(client, "BEGIN");
      try {
        await client.query(direction === "up" ? migration.up : migration.down);
        if (direction === "up")
          await client.query(
            "INSERT INTO schema_migrations (version, name, checksum, applied_at, kind) VALUES ($1, $2, $3, $4, $5)",
            [
              migration.version,
              migration.name,
              migration.checksum,
              options.now ?? Date.now(),
              migration.kind,
            ],
          );
        else await client.query("DELETE FROM schema_migrations WHERE version = $1", [migration.version]);
        await client.query("COMMIT");
      } catch (error) {
        await client.query("ROLLBACK").catch(() => {});
        throw error;
      }
      steps.push({ version: migration.version, name: migration.name, direction });
    };
    for (let version = current + 1; version <= target; version++) {
      const migration = migrations[version - 1]!;
      if (migration.kind === "contract" && options.contract !== true) break;
      await runStep(migration, "up");
    }
    for (let version = current; version > target; version--) await runStep(migrations[version - 1]!, "down");
    return steps;
  });
}
