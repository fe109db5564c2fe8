-- Accounts, sessions, prekeys and mailboxes. Times are milliseconds since the epoch (the relay's
-- injectable clock), sizes are bytes. Usernames are stored normalized.
CREATE TABLE accounts (
  username TEXT PRIMARY KEY,
  identity_hash BLOB NOT NULL,
  identity_record BLOB NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) STRICT;

-- Bearer tokens are stored as BLAKE2b-512 hashes: a copy of the database does not log anyone in.
CREATE TABLE tokens (
  token_hash BLOB PRIMARY KEY,
  username TEXT NOT NULL REFERENCES accounts(username) ON DELETE CASCADE,
  expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX tokens_expiry ON tokens(expires_at);

CREATE TABLE prekey_bundles (
  username TEXT PRIMARY KEY REFERENCES accounts(username) ON DELETE CASCADE,
  suite INTEGER NOT NULL,
  bundle BLOB NOT NULL,
  last_resort BLOB NOT NULL,
  signed_prekey_created_at INTEGER NOT NULL,
  uploaded_at INTEGER NOT NULL
) STRICT;

CREATE TABLE one_time_prekeys (
  username TEXT NOT NULL REFERENCES accounts(username) ON DELETE CASCADE,
  key_id TEXT NOT NULL,
  prekey BLOB NOT NULL,
  PRIMARY KEY (username, key_id)
) STRICT;

-- AUTOINCREMENT: server ids are never reused, even after the newest message is deleted, so a client
-- that deduplicates by server id across restarts is never confused.
CREATE TABLE messages (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  recipient TEXT NOT NULL,
  sender TEXT NOT NULL,
  envelope BLOB NOT NULL,
  size INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX messages_by_recipient ON messages(recipient, id);
CREATE INDEX messages_by_expiry ON messages(expires_at);

-- Idempotency records outlive the message: a retry after delivery and acknowledgement must return the
-- same server id, not store (and deliver) the message again.
CREATE TABLE sent_messages (
  sender TEXT NOT NULL,
  client_message_id TEXT NOT NULL,
  server_id INTEGER NOT NULL,
  recipient TEXT NOT NULL,
  envelope_hash BLOB NOT NULL,
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (sender, client_message_id)
) STRICT;
CREATE INDEX sent_messages_by_expiry ON sent_messages(expires_at);

CREATE TABLE mailbox_usage (
  recipient TEXT PRIMARY KEY,
  messages INTEGER NOT NULL,
  bytes INTEGER NOT NULL
) STRICT;
