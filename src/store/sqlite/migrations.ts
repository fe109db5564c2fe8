import { readdirSync, readFileSync } from "node:fs";
import type { DatabaseSync } from "node:sqlite";
import { blake2b, toHex, utf8 } from "../../crypto/index.ts";
import { NanoError } from "../../errors/index.ts";
import { type MigrationKind, migrationKind, unsafeAhead } from "../migration-kinds.ts";

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
  /** expand (old code ignores it) or contract (only once no older relay runs): ../migration-kinds.ts. */
  readonly kind: MigrationKind;
}

export interface AppliedMigration {
  readonly version: number;
  readonly name: string;
  readonly checksum: string;
  readonly appliedAt: number;
  /** Recorded since the expand/contract rule; null for steps applied before it. */
  readonly kind: MigrationKind | null;
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
      kind: migrationKind(entry.up),
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

/** Whether schema_migrations records each step's kind (a column added by the first runner that knew it). */
function hasKindColumn(db: DatabaseSync): boolean {
  return db
    .prepare("SELECT name FROM pragma_table_info('schema_migrations')")
    .all()
    .some((row) => row.name === "kind");
}

export function appliedMigrations(db: DatabaseSync): AppliedMigration[] {
  ensureTable(db);
  const kind = hasKindColumn(db) ? "kind" : "NULL AS kind";
  return db
    .prepare(`SELECT version, name, checksum, applied_at, ${kind} FROM schema_migrations ORDER BY version`)
    .all()
    .map((row) => ({
      version: Number(row.version),
      name: String(row.name),
      checksum: String(row.checksum),
      appliedAt: Number(row.applied_at),
      kind: row.kind === "expand" || row.kind === "contract" ? row.kind : null,
    }));
}

/**
 * Refuses to run on a database whose history disagrees with the shipped migrations. A database ahead
 * of this code by expand steps only is accepted (a newer relay applied them during a rolling upgrade;
 * this code ignores what they added).
 */
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
export interface MigrateOptions {
  readonly target?: number;
  readonly migrations?: readonly Migration[];
  readonly now?: number;
  /**
   * Apply contract steps too. Without it (a relay starting, a plain `nano-relay migrate`) the run
   * stops before the first contract step: older relays may still be running (migration-kinds.ts).
   */
  readonly contract?: boolean;
}

/** The contract steps above the database's version that `migrate` without `contract` leaves pending. */
export function pendingContract(
  db: DatabaseSync,
  migrations: readonly Migration[] = loadMigrations(),
): Migration[] {
  const current = schemaVersion(db);
  return migrations.filter((migration) => migration.version > current && migration.kind === "contract");
}

export function migrate(db: DatabaseSync, options: MigrateOptions = {}): MigrationStep[] {
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
  // Ahead by expand steps (verified above): nothing for this code to do, and nothing it may undo.
  if (current > migrations.length) {
    if (options.target !== undefined && options.target < current)
      throw new NanoError(
        "migration_unknown_version",
        `the database is at schema version ${current}, newer than this relay knows; roll back with the newer relay`,
      );
    return steps;
  }
  if (!hasKindColumn(db)) db.exec("ALTER TABLE schema_migrations ADD COLUMN kind TEXT");
  const insert = db.prepare(
    "INSERT INTO schema_migrations (version, name, checksum, applied_at, kind) VALUES (?, ?, ?, ?, ?)",
  );
  const remove = db.prepare("DELETE FROM schema_migrations WHERE version = ?");
  const runStep = (migration: Migration, direction: "up" | "down") => {
    db.exec("BEGIN IMMEDIATE");
    try {
      db.exec(direction === "up" ? migration.up : migration.down);
      if (direction === "up") {
        insert.run(
          migration.version,
          migration.name,
          migration.checksum,
          options.now ?? Date.now(),
          migration.kind,
        );
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
  for (let version = current + 1; version <= target; version++) {
    const migration = migrations[version - 1]!;
    if (migration.kind === "contract" && options.contract !== true) break;
    runStep(migration, "up");
  }
  for (let version = current; version > target; version--) runStep(migrations[version - 1]!, "down");
  return steps;
}

export function schemaVersion(db: DatabaseSync): number {
  const applied = appliedMigrations(db);
  return applied.length === 0 ? 0 : applied[applied.length - 1]!.version;
}
