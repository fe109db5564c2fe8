import { resolve } from "node:path";
import { logKeyPath } from "../../relay/audit-relay.ts";
import { loadConfigOrThrow } from "../../relay/config/load.ts";
import type { Environment } from "../../relay/config/schema.ts";
import { appliedMigrations, loadMigrations, migrate, schemaVersion } from "../../store/sqlite/migrations.ts";
import { openDatabase } from "../../store/sqlite/sqlite-store.ts";
import { recordMigrationSteps } from "./audit.ts";
import { migratePostgresCommand } from "./migrate-postgres.ts";

/** `nano-relay migrate [--to N] [--list]`: explicit schema management for operators. */
export async function migrateCommand(options: {
  config?: string;
  environment?: Environment;
  to?: number;
  list?: boolean;
}): Promise<void> {
  const config = await loadConfigOrThrow({ file: options.config, environment: options.environment });
  if (config.storage.backend === "postgres") {
    await migratePostgresCommand(config, options);
    return;
  }
  const path = resolve(config.storage.path);
  const db = openDatabase(path, config.storage.busy_timeout_ms);
  try {
    if (options.list) {
      const applied = new Map(appliedMigrations(db).map((m) => [m.version, m]));
      for (const migration of loadMigrations()) {
        const row = applied.get(migration.version);
        const state = row ? `applied ${new Date(row.appliedAt).toISOString()}` : "pending";
        process.stdout.write(
          `${String(migration.version).padStart(4, "0")} ${migration.name.padEnd(20)} ${state}\n`,
        );
      }
      return;
    }
    const before = schemaVersion(db);
    const steps = migrate(db, options.to === undefined ? {} : { target: options.to });
    await recordMigrationSteps(db, logKeyPath(config), config.compliance.log_origin, steps);
    for (const step of steps) {
      process.stdout.write(
        `${step.direction === "up" ? "applied" : "rolled back"} ${step.version} ${step.name}\n`,
      );
    }
    process.stdout.write(`${path}: schema version ${before} -> ${schemaVersion(db)}\n`);
  } finally {
    db.close();
  }
}
