import type { DatabaseSync } from "node:sqlite";
import { NanoError } from "../../errors/index.ts";

/**
 * The local database schema as an ordered list of migrations; `PRAGMA user_version` records how many
 * have run. Each migration runs in its own transaction, so a crash mid-upgrade leaves the previous
 * version intact. Columns in the clear hold only what is not secret: blind indexes, client message ids
 * (they go to the relay anyway), timestamps and retry counters. Everything else is a sealed `record`.
 */
export const MIGRATIONS: readonly string[] = Object.freeze([
  // 1: first schema.
  `
  CREATE TABLE meta (name TEXT PRIMARY KEY, record BLOB NOT NULL) STRICT;
  CREATE TABLE contacts (handle BLOB PRIMARY KEY, record BLOB NOT NULL) STRICT;
  CREATE TABLE sessions (
    handle BLOB PRIMARY KEY,
    peer BLOB NOT NULL,
    updated_at INTEGER NOT NULL,
    record BLOB NOT NULL
  ) STRICT;
  CREATE INDEX sessions_by_peer ON sessions (peer, updated_at);
  CREATE TABLE replay_cache (digest BLOB PRIMARY KEY, expires_at INTEGER NOT NULL) STRICT;
  CREATE TABLE prekey_secrets (handle BLOB PRIMARY KEY, record BLOB NOT NULL) STRICT;
  CREATE TABLE outbox (
    client_message_id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL UNIQUE,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error TEXT,
    record BLOB NOT NULL
  ) STRICT;
  CREATE TABLE received (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    handle BLOB NOT NULL UNIQUE,
    record BLOB NOT NULL
  ) STRICT;
  `,
  // 2: history (issue 13). A received row is "shown" once the application took it (onMessage returned,
  // the CLI printed it): a row committed and not shown is shown on the next receive. Older rows were
  // shown before this column existed, hence the default 1. `peer` (a blind index, as in sessions) and
  // `at` (local time) let history and conversations select without opening every row; LocalStore.open
  // fills them in for rows written before this migration. `sent` keeps what this client sent.
  `
  ALTER TABLE received ADD COLUMN shown INTEGER NOT NULL DEFAULT 1;
  ALTER TABLE received ADD COLUMN unread INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE received ADD COLUMN peer BLOB;
  ALTER TABLE received ADD COLUMN at INTEGER;
  CREATE INDEX received_unshown ON received (seq) WHERE shown = 0;
  CREATE INDEX received_by_peer ON received (peer, at);
  CREATE INDEX received_by_time ON received (at);
  CREATE TABLE sent (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    client_message_id TEXT NOT NULL UNIQUE,
    peer BLOB NOT NULL,
    at INTEGER NOT NULL,
    record BLOB NOT NULL
  ) STRICT;
  CREATE INDEX sent_by_peer ON sent (peer, at);
  CREATE INDEX sent_by_time ON sent (at);
  `,
  // 3: intents (issue 13, loss 2): a message to a contact with no session yet (or a file whose upload
  // needs the relay), accepted while the relay was unreachable. The sealed record holds the plaintext
  // (and file bytes) until the relay is back; then the session starts, the message is encrypted and the
  // intent becomes an outbox entry in the same transaction.
  `
  CREATE TABLE intents (
    client_message_id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL UNIQUE,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    record BLOB NOT NULL
  ) STRICT;
  `,
  // 4: quarantine (issue 13, loss 4): a message that could not be opened is kept (sealed, with its
  // envelope) before it is acknowledged, so it can be retried (after restoring the right local.db)
  // or discarded explicitly — never dropped silently.
  `
  CREATE TABLE quarantine (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    handle BLOB NOT NULL UNIQUE,
    at INTEGER NOT NULL,
    record BLOB NOT NULL
  ) STRICT;
  `,
  // 5: disappearing messages (issue 15). `expires_at` (local time, clear like `at`) is when a row's
  // plaintext must be gone; NULL keeps it under the retention setting. `expired_received` remembers
  // the blind handles of received rows the sweep deleted, so a redelivery after a crash between commit
  // and acknowledgement is skipped (its message key is spent: it would only fail into the quarantine).
  // An intent (a send waiting for the relay, plaintext sealed) whose timer ran out is never sent.
  // `conversation_settings` holds a conversation's default timer, sealed, keyed by the peer's blind index.
  `
  ALTER TABLE received ADD COLUMN expires_at INTEGER;
  ALTER TABLE sent ADD COLUMN expires_at INTEGER;
  ALTER TABLE intents ADD COLUMN expires_at INTEGER;
  CREATE INDEX received_expiring ON received (expires_at) WHERE expires_at IS NOT NULL;
  CREATE INDEX sent_expiring ON sent (expires_at) WHERE expires_at IS NOT NULL;
  CREATE TABLE expired_received (handle BLOB PRIMARY KEY, forget_at INTEGER NOT NULL) STRICT;
  CREATE TABLE conversation_settings (peer BLOB PRIMARY KEY, record BLOB NOT NULL) STRICT;
  `,
  // 6: long message bodies (a long text, up to megabytes) sealed as bytes in their own column instead of
  // base64 inside the JSON record (local-store.ts BODY_APART_BYTES); NULL for every other row.
  `
  ALTER TABLE received ADD COLUMN body BLOB;
  ALTER TABLE sent ADD COLUMN body BLOB;
  `,
]);

export const SCHEMA_VERSION = MIGRATIONS.length;

export function schemaVersion(db: DatabaseSync): number {
  const row = db.prepare("PRAGMA user_version").get() as { user_version: number } | undefined;
  return row?.user_version ?? 0;
}

/** Brings the database to SCHEMA_VERSION; refuses one written by a newer client. */
export function migrate(db: DatabaseSync, migrations: readonly string[] = MIGRATIONS): number {
  const current = schemaVersion(db);
  if (current > migrations.length) {
    throw new NanoError(
      "local_store_version_unsupported",
      `local database schema version ${current} is newer than this client's ${migrations.length}`,
    );
  }
  for (let version = current; version < migrations.length; version += 1) {
    db.exec("BEGIN IMMEDIATE");
    try {
      db.exec(migrations[version]!);
      db.exec(`PRAGMA user_version = ${version + 1}`);
      db.exec("COMMIT");
    } catch (error) {
      db.exec("ROLLBACK");
      throw error;
    }
  }
  return migrations.length - current;
}
