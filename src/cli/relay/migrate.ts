import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { logKeyPath } from "../../relay/audit-relay.ts";
import { loadConfigOrThrow } from "../../relay/config/load.ts";
import type { Environment } from "../../relay/config/schema.ts";
import {
  appliedMigrations,
  loadMigrations,
  migrate,
  pendingContract,
  schemaVersion,
} from "../../store/sqlite/migrations.ts";
import { openDatabase } from "../../store/sqlite/sqlite-store.ts";
import { CommandFailure, RELAY_EXIT } from "./_exit.ts";
import { recordMigrationSteps } from "./audit.ts";
import { contractHint, migratePostgresCommand } from "./migrate-postgres.ts";

export interface MigrateCommandOptions {
  config?: string;
  environment?: Environment;
  to?: number;
  list?: boolean;
  /** Apply contract steps too, once no older relay runs (src/store/migration-kinds.ts). */
  contract?: boolean;
  /** With --contract: skip the check for older relays (the operator stopped them). */
  force?: boolean;
}

/**
 * True while another connection has the database open (a relay of any version): SQLite refuses an
 * exclusive lock while any connection, even an idle one, holds the WAL's shared memory.
 */
function databaseInUse(path: string): boolean {
  if (!existsSync(path)) return false;
  const db = new DatabaseSync(path, { timeout: 0 });
  try {
    db.exec("PRAGMA locking_mode = EXCLUSIVE");
    db.exec("BEGIN EXCLUSIVE");
    db.exec("ROLLBACK");
    return false;
  } catch (error) {
    const code = (error as { errcode?: number }).errcode ?? 0;
    if ((code & 0xff) === 5 || (code & 0xff) === 6) return true;
    throw error;
  } finally {
    db.close();
  }
}

/** `nano-relay migrate [--to N] [--list] [--contract [--force]]`: explicit schema management. */
export async function migrateCommand(options: MigrateCommandOptions): Promise<void> {
  const config = await loadConfigOrThrow({ file: options.config, environment: options.environment });
  if (config.storage.backend === "postgres") {
    await migratePostgresCommand(config, options);
    return;
  }
  const path = resolve(config.storage.path);
  // On SQLite every relay of this database runs on this host and has the file open: a contract step
  // waits until none does (or, under nano-relay serve, until a deploy replaced every worker).
  if (options.contract === true && options.force !== true && !options.list && databaseInUse(path))
    throw new CommandFailure(
      `${path} is open in another process (a running relay, which may be older than this one): contract steps wait until none is`,
      RELAY_EXIT.ioError,
      "stop the relays, or pass --force if every relay running is this version",
    );
  const db = openDatabase(path, config.storage.busy_timeout_ms);
  try {
    if (options.list) {
      const applied = new Map(appliedMigrations(db).map((m) => [m.version, m]));
      for (const migration of loadMigrations()) {
        const row = applied.get(migration.version);
        const state = row ? `applied ${new Date(row.appliedAt).toISOString()}` : "pending";
        process.stdout.write(
          `${String(migration.version).padStart(4, "0")} ${migration.name.padEnd(20)} ${migration.kind.padEnd(8)} ${state}\n`,
        );
      }
      return;
    }
    const before = schemaVersion(db);
    const steps = migrate(db, {
      ...(options.to === undefined ? {} : { target: options.to }),
      contract: options.contract === true,
    });
    await recordMigrationSteps(db, logKeyPath(config), config.compliance.log_origin, steps);
    for (const step of steps) {
      process.stdout.write(
        `${step.direction === "up" ? "applied" : "rolled back"} ${step.version} ${step.name}\n`,
      );
    }
    process.stdout.write(`${path}: schema version ${before} -> ${schemaVersion(db)}\n`);
    const held = pendingContract(db);
    if (held.length > 0 && options.to === undefined) process.stderr.write(contractHint(held));
  } finally {
    db.close();
  }
}
