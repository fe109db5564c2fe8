-- Compliance (docs/compliance.md), as migration 0007 of the SQLite schema. A tombstone keeps an erased
-- username, and every name confusable with it, from being claimed during the cooling-off period; it
-- holds a keyed hash of the name's skeleton, never the name. A legal hold pauses erasure for one account.
CREATE TABLE account_tombstones (
  skeleton_key BYTEA PRIMARY KEY CHECK (length(skeleton_key) = 32),
  erased_at BIGINT NOT NULL,
  until BIGINT NOT NULL
);
CREATE INDEX account_tombstones_by_until ON account_tombstones(until);

CREATE TABLE legal_holds (
  username TEXT PRIMARY KEY,
  placed_at BIGINT NOT NULL
);
