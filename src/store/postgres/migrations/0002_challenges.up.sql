-- Relay challenges (claims and logins) shared by every relay of a cluster: a client may ask one relay
-- for a challenge and answer through another behind a load balancer. Stored as BLAKE2b-512 hashes;
-- taking one is a DELETE ... RETURNING, so it is used once across the cluster.
CREATE TABLE challenges (
  challenge_hash BYTEA PRIMARY KEY,
  purpose TEXT NOT NULL,
  username TEXT NOT NULL,
  expires_at BIGINT NOT NULL
);
CREATE INDEX challenges_by_expiry ON challenges(expires_at);
