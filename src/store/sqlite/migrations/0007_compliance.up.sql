-- Compliance (docs/compliance.md). A tombstone keeps an erased username, and every name confusable with
-- it, from being claimed during the cooling-off period; it holds a keyed hash of the name's skeleton
-- under the relay's pseudonym secret, never the name, so the database still names no one after an
-- erasure. A legal hold pauses erasure and retention purges for one live account.
CREATE TABLE account_tombstones (
  skeleton_key BLOB PRIMARY KEY NOT NULL CHECK (length(skeleton_key) = 32),
  erased_at INTEGER NOT NULL,
  until INTEGER NOT NULL
) STRICT;
CREATE INDEX account_tombstones_by_until ON account_tombstones(until);

CREATE TABLE legal_holds (
  username TEXT PRIMARY KEY NOT NULL,
  placed_at INTEGER NOT NULL
) STRICT;
