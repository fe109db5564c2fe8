-- Prekeys per suite (docs/protocol.md §5, §6.4, §11.3): an identity accepts several suites and the
-- initiator fetches the bundle of the suite it chose, so an owner keeps one bundle per accepted suite
-- and every one-time prekey records the suite it belongs to. A fetch of suite S only ever pairs S's
-- bundle with a one-time key of S.
CREATE TABLE prekey_bundles_by_suite (
  username TEXT NOT NULL REFERENCES accounts(username) ON DELETE CASCADE,
  suite INTEGER NOT NULL,
  bundle BLOB NOT NULL,
  last_resort BLOB NOT NULL,
  signed_prekey_created_at INTEGER NOT NULL,
  uploaded_at INTEGER NOT NULL,
  PRIMARY KEY (username, suite)
) STRICT;
INSERT INTO prekey_bundles_by_suite
  SELECT username, suite, bundle, last_resort, signed_prekey_created_at, uploaded_at FROM prekey_bundles;
DROP TABLE prekey_bundles;
ALTER TABLE prekey_bundles_by_suite RENAME TO prekey_bundles;

-- Existing one-time keys are discarded: their suite was never recorded and the relay does not parse
-- prekeys, and a key kept under a guessed suite is exactly the mismatch this migration removes (a
-- suite change could leave keys of the old suite next to the new bundle). Owners see a count of 0 on
-- their next GET /v1/prekeys and refill; until then fetchers get the last-resort prekey.
CREATE TABLE one_time_prekeys_by_suite (
  username TEXT NOT NULL REFERENCES accounts(username) ON DELETE CASCADE,
  suite INTEGER NOT NULL,
  key_id TEXT NOT NULL,
  prekey BLOB NOT NULL,
  PRIMARY KEY (username, suite, key_id)
) STRICT;
DROP TABLE one_time_prekeys;
ALTER TABLE one_time_prekeys_by_suite RENAME TO one_time_prekeys;
