-- Two RFC 9162 Merkle logs in this database, told apart by log_id: "audit" (security events) and
-- "kt" (username -> identity-record bindings). The three merkle_log_* tables are MERKLE_LOG_SQLITE_DDL
-- from src/audit/sqlite-log-store.ts verbatim (test/audit/relay-migration.test.ts keeps them equal).
CREATE TABLE IF NOT EXISTS merkle_log_head (
  log_id TEXT PRIMARY KEY NOT NULL,
  tree_size INTEGER NOT NULL CHECK (tree_size >= 0)
) STRICT;

CREATE TABLE IF NOT EXISTS merkle_log_entries (
  log_id TEXT NOT NULL,
  idx INTEGER NOT NULL CHECK (idx >= 0),
  data BLOB NOT NULL,
  PRIMARY KEY (log_id, idx)
) STRICT;

CREATE TABLE IF NOT EXISTS merkle_log_nodes (
  log_id TEXT NOT NULL,
  level INTEGER NOT NULL CHECK (level >= 0 AND level < 64),
  idx INTEGER NOT NULL CHECK (idx >= 0),
  hash BLOB NOT NULL CHECK (length(hash) = 32),
  PRIMARY KEY (log_id, level, idx)
) STRICT, WITHOUT ROWID;

-- Every checkpoint the relay signs, kept: verification can only locate a rewrite as precisely as the
-- checkpoints are dense (docs/audit.md).
CREATE TABLE merkle_log_checkpoints (
  log_id TEXT NOT NULL,
  tree_size INTEGER NOT NULL CHECK (tree_size >= 0),
  issued_at INTEGER NOT NULL,
  note TEXT NOT NULL,
  PRIMARY KEY (log_id, tree_size)
) STRICT;

-- Personal data behind the salted commitments in leaves: deleting a row is an erasure, and the log
-- stays verifiable (the leaf holds only SHA-256(salt || data)).
CREATE TABLE merkle_log_personal_data (
  log_id TEXT NOT NULL,
  idx INTEGER NOT NULL CHECK (idx >= 0),
  field TEXT NOT NULL,
  salt BLOB NOT NULL CHECK (length(salt) = 32),
  data BLOB NOT NULL,
  PRIMARY KEY (log_id, idx, field)
) STRICT;

-- The newest key-transparency leaf of each username, for the proof that rides with every bundle.
CREATE TABLE kt_latest_binding (
  username TEXT PRIMARY KEY NOT NULL,
  idx INTEGER NOT NULL CHECK (idx >= 0)
) STRICT;
