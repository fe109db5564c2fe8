/**
 * `nano-relay migrate` for storage.backend = "postgres": the same --to N and --list as SQLite, under the
 * migration advisory lock. It also creates the log key if there is none: a cluster's relays never
 * generate one (they would race), so this command, run once before the relays start, is where the key
 * every relay copies comes from (docs/cluster.md).
 */

import { loadOrCreateLogKey } from "../../relay/audit-log-key.ts";
import { logKeyPath } from "../../relay/audit-relay.ts";
import { PRESENCE_STALE_MS, type RelayPresence } from "../../relay/cluster/cluster-link.ts";
import { PostgresTransparency } from "../../relay/cluster/postgres-transparency.ts";
import { createRedisClient, redisUrl } from "../../relay/cluster/redis-clients.ts";
import type { RelayConfig } from "../../relay/config/schema.ts";
import { postgresUrl } from "../../relay/storage-backend.ts";
import { openPool } from "../../store/postgres/connection.ts";
import {
  appliedPostgresMigrations,
  loadPostgresMigrations,
  migratePostgres,
  postgresSchemaVersion,
} from "../../store/postgres/migrations.ts";
import { CommandFailure, RELAY_EXIT } from "./_exit.ts";

/**
 * Why contract step `version` may not run yet: a live relay (in the cluster's Redis presence records)
 * whose code ships fewer migrations. Null when none. Without Redis the relays cannot be seen.
 */
/** How long `--contract` waits for Redis to say which relays run. */
const REDIS_WAIT_MS = 5000;

export async function olderRelays(config: RelayConfig, version: number): Promise<string | null> {
  const url = redisUrl(config);
  if (url === undefined)
    return "this cluster has no Redis (cluster.redis_url), so its relays cannot be seen; stop every relay older than this one and pass --force";
  const redis = createRedisClient(url, "nano-relay-migrate");
  let timer: NodeJS.Timeout | undefined;
  try {
    // The client retries forever (a relay waits for Redis to come back); this command does not.
    const records = await Promise.race([
      redis.connect().then(() => redis.hGetAll(`${config.cluster.key_prefix}:relays`)),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer within ${REDIS_WAIT_MS / 1000} s`)),
          REDIS_WAIT_MS,
        );
      }),
    ]);
    const now = Date.now();
    const live = Object.values(records)
      .map((text) => JSON.parse(text) as RelayPresence)
      .filter((record) => now - record.at < PRESENCE_STALE_MS);
    const older = live.filter((record) => (record.schema ?? 0) < version);
    if (older.length === 0) return null;
    return `relay(s) ${older.map((record) => `${record.api_url} (knows schema ${record.schema ?? "before 4"})`).join(", ")} are older than contract step ${version}`;
  } catch (error) {
    return `Redis did not answer (${error instanceof Error ? error.message : String(error)}), so the relays cannot be seen`;
  } finally {
    clearTimeout(timer);
    redis.destroy();
  }
}

/** What a migrate run says about contract steps it left for later. */
export function contractHint(versions: readonly { version: number; name: string }[]): string {
  return (
    `nano-relay: contract step(s) pending: ${versions.map((m) => `${m.version} ${m.name}`).join(", ")}\n` +
    'hint: run nano-relay migrate --contract once no relay older than this one runs (docs/relay.md "Schema changes during a rolling upgrade")\n'
  );
}

export async function migratePostgresCommand(
  config: RelayConfig,
  options: { to?: number; list?: boolean; contract?: boolean; force?: boolean },
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
          `${String(migration.version).padStart(4, "0")} ${migration.name.padEnd(20)} ${migration.kind.padEnd(8)} ${state}\n`,
        );
      }
      return;
    }
    const before = await postgresSchemaVersion(pool);
    const contract = loadPostgresMigrations().filter((m) => m.kind === "contract" && m.version > before);
    if (options.contract === true && options.force !== true && contract.length > 0) {
      const why = await olderRelays(config, contract[0]!.version);
      if (why !== null)
        throw new CommandFailure(
          `contract step ${contract[0]!.version} (${contract[0]!.name}) must wait: ${why}`,
          RELAY_EXIT.unavailable,
          "finish the rolling upgrade first (nano-relay status --config FILE lists the relays)",
        );
    }
    const steps = await migratePostgres(pool, {
      ...(options.to === undefined ? {} : { target: options.to }),
      contract: options.contract === true,
    });
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
    const held = loadPostgresMigrations().filter((m) => m.kind === "contract" && m.version > after);
    if (held.length > 0 && options.to === undefined) process.stderr.write(contractHint(held));
  } finally {
    await pool.end();
  }
}
