/**
 * Opens the relay's durable state for `storage.backend`: the store, its Merkle logs (with the journal
 * that logs account changes inside their own transactions) and the migrations applied on the way.
 * SQLite is the zero-setup default; PostgreSQL is what several relays share (docs/cluster.md).
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import type { Logger } from "pino";
import { NanoError } from "../errors/index.ts";
import { poolRoundTrips } from "../store/postgres/connection.ts";
import { loadPostgresMigrations, migratePostgres } from "../store/postgres/migrations.ts";
import { PostgresStore } from "../store/postgres/postgres-store.ts";
import { loadMigrations, type MigrationStep, migrate } from "../store/sqlite/migrations.ts";
import { openCheckedStore, storeFailure } from "../store/sqlite/open-checked.ts";
import type { RelayStore } from "../store/types.ts";
import { loadOrCreateLogKey, readLogKey } from "./audit-log-key.ts";
import { logKeyPath } from "./audit-relay.ts";
import type { ChallengeKeeper } from "./auth.ts";
import type { BlobStore } from "./blobs/blob-store.ts";
import { PostgresBlobStore } from "./blobs/postgres-blob-store.ts";
import type { Clock } from "./clock.ts";
import { PostgresChallenges } from "./cluster/postgres-challenges.ts";
import { PostgresComplianceStore } from "./cluster/postgres-compliance.ts";
import { PostgresTransparency } from "./cluster/postgres-transparency.ts";
import { type ComplianceStore, SqliteComplianceStore } from "./compliance/compliance-store.ts";
import type { RelayConfig } from "./config/schema.ts";
import { RelayTransparency, type TransparencyService } from "./transparency.ts";

export interface RelayStorage {
  readonly store: RelayStore;
  readonly transparency: TransparencyService;
  /** Migration steps this start applied, for the audit log. */
  readonly migrations: readonly MigrationStep[];
  /** The newest migration this code ships (announced in a cluster's presence records). */
  readonly shippedSchema: number;
  /** Writes waiting for the next group commit (a gauge). */
  pendingWrites(): number;
  /** Called after each group commit with the number of writes in it and its duration (histograms). */
  observeCommits(observer: (writes: number, seconds: number) => void): void;
  /**
   * Called once per group commit with null, or the storage failure (full disk, I/O error) that failed
   * it or one of its writes: readiness (store-health.ts). SQLite only so far.
   */
  observeOutcomes?(observer: (failure: NanoError | null) => void): void;
  /** Statements sent to the database server so far (PostgreSQL; SQLite has no round trips). */
  roundTrips(): number;
  /** Challenges shared by every relay on the database (PostgreSQL); undefined: in memory. */
  readonly challenges?: ChallengeKeeper;
  /** Blobs in the database (storage.blob_backend = "postgres"); undefined: files under blob_dir. */
  readonly blobs?: BlobStore;
  /** Erasure and holds on this database (an account deleting itself; docs/compliance.md). */
  readonly compliance: ComplianceStore;
}

/** The PostgreSQL URL: the named environment variable wins over the file (it may carry a password). */
export function postgresUrl(config: RelayConfig): string {
  const { postgres_url_env: env, postgres_url: url } = config.storage;
  const value = env === undefined ? url : process.env[env];
  if (value === undefined || value.length === 0)
    throw new NanoError(
      "config_invalid",
      env === undefined
        ? 'storage.postgres_url is required when storage.backend = "postgres"'
        : `environment variable ${env} (storage.postgres_url_env) is not set`,
    );
  return value;
}

export async function openRelayStorage(
  config: RelayConfig,
  clock: Clock,
  log: Logger,
): Promise<RelayStorage> {
  return config.storage.backend === "postgres" ? openPostgres(config, clock) : openSqlite(config, clock, log);
}

function openSqlite(config: RelayConfig, clock: Clock, log: Logger): RelayStorage {
  const file = resolve(config.storage.path);
  // Refuses a damaged database before anything writes to it (store_damaged: `nano-relay start` exits
  // 65 with the problems, never a stack trace a supervisor would loop on).
  const store = openCheckedStore({
    path: file,
    maxBatch: config.storage.group_commit_max_batch,
    busyTimeoutMs: config.storage.busy_timeout_ms,
  });
  // Migrated here rather than in the constructor so that each step lands in the audit log.
  let migrations: MigrationStep[];
  try {
    migrations = migrate(store.db);
  } catch (error) {
    void store.close();
    throw storeFailure(error, file) ?? error;
  }
  const path = logKeyPath(config);
  const { key, created } = loadOrCreateLogKey(path, config.compliance.log_origin);
  if (created) log.warn({ file: path }, "generated a new log key; clients must pin its verifier keys");
  const transparency = new RelayTransparency({
    db: store.db,
    key,
    run: (work) => store.writer.submit(work),
    now: () => clock.now(),
  });
  store.journal = transparency.journal();
  return {
    shippedSchema: loadMigrations().length,
    store,
    transparency,
    compliance: new SqliteComplianceStore(store.db, transparency, (work) => store.writer.submit(work)),
    migrations,
    pendingWrites: () => store.writer.pending,
    observeCommits: (observer) => {
      store.writer.onCommit = observer;
    },
    observeOutcomes: (observer) => {
      store.writer.onOutcome = observer;
    },
    roundTrips: () => 0,
  };
}

async function openPostgres(config: RelayConfig, clock: Clock): Promise<RelayStorage> {
  const path = logKeyPath(config);
  // Every relay of a cluster signs checkpoints of the same logs, so they must hold the same key. It is
  // never generated here: relays starting at once would each write a different one.
  if (!existsSync(path))
    throw new NanoError(
      "config_invalid",
      `no log key at ${path}: create it once with \`nano-relay migrate\` and give every relay a copy (docs/cluster.md)`,
    );
  const key = readLogKey(path, config.compliance.log_origin);
  const store = await PostgresStore.open({
    url: postgresUrl(config),
    max: config.storage.postgres_pool_size,
    maxBatch: config.storage.group_commit_max_batch,
  });
  let migrations: MigrationStep[];
  try {
    migrations = await migratePostgres(store.pool);
  } catch (error) {
    await store.close();
    throw error;
  }
  const transparency = new PostgresTransparency({ pool: store.pool, key, now: () => clock.now() });
  store.journal = transparency.journal();
  return {
    shippedSchema: loadPostgresMigrations().length,
    store,
    transparency,
    compliance: new PostgresComplianceStore(store.pool, transparency),
    migrations,
    pendingWrites: () => store.writer.pending,
    observeCommits: (observer) => {
      store.writer.onCommit = observer;
    },
    roundTrips: () => poolRoundTrips(store.pool),
    challenges: new PostgresChallenges(store.pool, clock, config.security.challenge_lifetime_seconds),
    ...(config.storage.blob_backend === "postgres" ? { blobs: new PostgresBlobStore(store.pool) } : {}),
  };
}
