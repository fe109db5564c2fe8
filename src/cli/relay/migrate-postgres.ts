/**
 * `nano-relay migrate` for storage.backend = "postgres": the same --to N and --list as SQLite, under the
 * migration advisory lock. It also creates the log key if there is none: a cluster's relays never
 * generate one (they would race), so this command, run once before the relays start, is where the key
 * every relay copies comes from (docs/cluster.md).
 */

import { loadOrCreateLogKey } from "../../relay/audit-log-key.ts";
import { logKeyPath } from "../../relay/audit-relay.ts";
import { PostgresTransparency } from "../../relay/cluster/postgres-transparency.ts";
import type { RelayConfig } from "../../relay/config/schema.ts";
import { postgresUrl } from "../../relay/storage-backend.ts";
import { openPool } from "../../store/postgres/connection.ts";
import {
  appliedPostgresMigrations,
  loadPostgresMigrations,
  migratePostgres,
  postgresSchemaVersion,
} from "../../store/postgres/migrations.ts";

export async function migratePostgresCommand(
  config: RelayConfig,
  options: { to?: number; list?: boolean },
): Promise<void> {
  const url = postgresUrl(config);
  const pool = openPool({ url, max: 2, applicationName: "nano-relay migrate" });
  // The URL may carry a password: print only where it points.
  const where = (() => {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || 5432}${parsed.pathname}`;
  })();
  try {
    if (options.list) {
      const applied = new Map((await appliedPostgresMigrations(pool)).map((m) => [m.version, m]));
      for (const migration of loadPostgresMigrations()) {
        const row = applied.get(migration.version);
        const state = row ? `applied ${new Date(row.appliedAt).toISOString()}` : "pending";
        process.stdout.write(
          `${String(migration.version).padStart(4, "0")} ${migration.name.padEnd(20)} ${state}\n`,
        );
      }
      return;
    }
    const before = await postgresSchemaVersion(pool);
    const steps = await migratePostgres(pool, options.to === undefined ? {} : { target: options.to });
    const keyFile = logKeyPath(config);
    const { key, created } = loadOrCreateLogKey(keyFile, config.compliance.log_origin);
    if (created) process.stderr.write(`nano-relay: created the log key ${keyFile}; copy it to every relay\n`);
    const after = await postgresSchemaVersion(pool);
    if (after >= 1) {
      const transparency = new PostgresTransparency({ pool, key, now: () => Date.now() });
      for (const step of steps)
        await transparency.record({
          type: "migration",
          outcome: "success",
          time: Date.now(),
          details: { direction: step.direction, name: step.name, version: step.version, via: "command" },
        });
    }
    for (const step of steps)
      process.stdout.write(
        `${step.direction === "up" ? "applied" : "rolled back"} ${step.version} ${step.name}\n`,
      );
    process.stdout.write(`postgres ${where}: schema version ${before} -> ${after}\n`);
  } finally {
    await pool.end();
  }
}
