-- Back to one bundle per account: keep the highest-ranked suite's bundle (hybrid > quantum >
-- classical, the relay's default for fetches without a suite) and only that suite's one-time keys.
CREATE TABLE prekey_bundles_single (
  username TEXT PRIMARY KEY REFERENCES accounts(username) ON DELETE CASCADE,
  suite INTEGER NOT NULL,
  bundle BLOB NOT NULL,
  last_resort BLOB NOT NULL,
  signed_prekey_created_at INTEGER NOT NULL,
  uploaded_at INTEGER NOT NULL
) STRICT;
INSERT INTO prekey_bundles_single
  SELECT username, suite, bundle, last_resort, signed_prekey_created_at, uploaded_at
  FROM (
    SELECT *, row_number() OVER (
      PARTITION BY username ORDER BY CASE suite WHEN 2 THEN 3 WHEN 3 THEN 2 WHEN 1 THEN 1 ELSE 0 END DESC
    ) AS position
    FROM prekey_bundles
  )
  WHERE position = 1;
CREATE TABLE one_time_prekeys_single (
  username TEXT NOT NULL REFERENCES accounts(username) ON DELETE CASCADE,
  key_id TEXT NOT NULL,
  prekey BLOB NOT NULL,
  PRIMARY KEY (username, key_id)
) STRICT;
INSERT OR IGNORE INTO one_time_prekeys_single
  SELECT o.username, o.key_id, o.prekey
  FROM one_time_prekeys AS o JOIN prekey_bundles_single AS b ON b.username = o.username AND b.suite = o.suite
  ORDER BY o.rowid;
DROP TABLE one_time_prekeys;
DROP TABLE prekey_bundles;
ALTER TABLE prekey_bundles_single RENAME TO prekey_bundles;
ALTER TABLE one_time_prekeys_single RENAME TO one_time_prekeys;
