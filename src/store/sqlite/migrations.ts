import { readdirSync, readFileSync } from "node:fs";
import type { DatabaseSync } from "node:sqlite";
import { blake2b, toHex, utf8 } from "../../crypto/index.ts";
import { NanoError } from "../../errors/index.ts";

/**
 * Versioned SQL migrations: `NNNN_name.up.sql` and `NNNN_name.down.sql` in ./migrations. Applied
 * versions are recorded in `schema_migrations` with a checksum of both files, so an edited migration
 * is detected before anything runs against a database it no longer describes.
 */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly up: string;
  readonly down: string;
  readonly checksum: string;
}

export interface AppliedMigration {
  readonly version: number;
  readonly name: string;
  readonly checksum: string;
  readonly appliedAt: number;
}

const MIGRATIONS_DIR = new URL("./migrations/", import.meta.url);

export function migrationChecksum(up: string, down: string): string {
  return toHex(blake2b(utf8(up), new Uint8Array([0]), utf8(down))).slice(0, 64);
}

/** Loads the shipped migrations, checking the numbering is 1, 2, 3... with both directions present. */
export function loadMigrations(dir: URL = MIGRATIONS_DIR): Migration[] {
  const files = readdirSync(dir).filter((file) => file.endsWith(".sql"));
  const byVersion = new Map<number, { name: string; up?: string; down?: string }>();
  for (const file of files) {
    const match = /^(\d{4})_([a-z0-9_]+)\.(up|down)\.sql$/.exec(file);
    if (match === null) throw new TypeError(`unexpected migration file name ${file}`);
    const version = Number(match[1]);
    const entry = byVersion.get(version) ?? { name: match[2]! };
    entry[match[3] as "up" | "down"] = readFileSync(new URL(file, dir), "utf8");
    byVersion.set(version, entry);
  }
  const migrations: Migration[] = [];
  for (let version = 1; version <= byVersion.size; version++) {
    const entry = byVersion.get(version);
    if (entry?.up === undefined || entry.down === undefined) {
      throw new TypeError(`migration ${version} is missing or lacks an up or down file`);
    }
    migrations.push({
      version,
      name: entry.name,
      up: entry.up,
      down: entry.down,
      checksum: migrationChecksum(entry.up, entry.down),
    });
  }
  return migrations;
}

function ensureTable(db: DatabaseSync): void {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    checksum TEXT NOT NULL,
    applied_at INTEGER NOT NULL
  ) STRICT`);
}

export function appliedMigrations(db: DatabaseSync): AppliedMigration[] {
  ensureTable(db);
  return db
    .prepare("SELECT version, name, checksum, applied_at FROM schema_migrations ORDER BY version")
    .all()
    .map((row) => ({
      version: Number(row.version),
      name: String(row.name),
      checksum: String(row.checksum),
      appliedAt: Number(row.applied_at),
    }));
}

/** Refuses to run on a database whose history disagrees with the shipped migrations. */
function verifyHistory(applied: readonly AppliedMigration[], migrations: readonly Migration[]): void {
  for (const row of applied) {
    const shipped = migrations[row.version - 1];
    if (shipped === undefined) {
      throw new NanoError(
        "migration_unknown_version",
        `the database is at schema version ${row.version}, newer than this relay knows (${migrations.length})`,
      );
    }
    if (shipped.checksum !== row.checksum) {
      throw new NanoError(
        "migration_checksum_mismatch",
        `migration ${row.version} (${row.name}) was changed after it was applied`,
      );
    }
  }
}

export interface MigrationStep {
  readonly version: number;
  readonly name: string;
  readonly direction: "up" | "down";
}

/**
 * Moves the schema to `target` (default: the newest). Each step runs in its own transaction with its
 * schema_migrations row, so a crash mid-way leaves the database at a well-defined version.
 */
export function migrate(
  db: DatabaseSync,
  options: { target?: number; migrations?: readonly Migration[]; now?: number } = {},
): MigrationStep[] {
  const migrations = options.migrations ?? loadMigrations();
  const target = options.target ?? migrations.length;
  if (!Number.isInteger(target) || target < 0 || target > migrations.length) {
    throw new NanoError(
      "migration_unknown_version",
      `no schema version ${target}; versions are 0..${migrations.length}`,
    );
  }
  const applied = appliedMigrations(db);
  verifyHistory(applied, migrations);
  const current = applied.length === 0 ? 0 : applied[applied.length - 1]!.version;
  const steps: MigrationStep[] = [];
  const insert = db.prepare(
    "INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (?, ?, ?, ?)",
  );
  const remove = db.prepare("DELETE FROM schema_migrations WHERE version = ?");
  const runStep = (migration: Migration, direction: "up" | "down") => {
    db.exec("BEGIN IMMEDIATE");
    try {
      db.exec(direction === "up" ? migration.up : migration.down);
      if (direction === "up") {
        insert.run(migration.version, migration.name, migration.checksum, options.now ?? Date.now());
      } else {
        remove.run(migration.version);
      }
      db.exec("COMMIT");
    } catch (error) {
      db.exec("ROLLBACK");
      throw error;
    }
    steps.push({ version: migration.version, name: migration.name, direction });
  };
  for (let version = current + 1; version <= target; version++) runStep(migrations[version - 1]!, "up");
  for (let version = current; version > target; version--) runStep(migrations[version - 1]!, "down");
  return steps;
}

export function schemaVersion(db: DatabaseSync): number {
  const applied = appliedMigrations(db);
  return applied.length === 0 ? 0 : applied[applied.length - 1]!.version;
}
