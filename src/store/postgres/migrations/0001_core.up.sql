-- The relay's durable state on PostgreSQL (docs/cluster.md). Same data as the SQLite schema, with what
-- several relays writing at once need: per-mailbox sequence numbers assigned under the mailbox row
-- lock, idempotency records keyed by (sender, client message id), and one locked head row per Merkle
-- log. Times are milliseconds since the epoch (the relay's injectable clock), sizes are bytes.
CREATE TABLE accounts (
  username TEXT PRIMARY KEY,
  skeleton TEXT NOT NULL UNIQUE,
  identity_hash BYTEA NOT NULL,
  identity_record BYTEA NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);

-- Bearer tokens as BLAKE2b-512 hashes: a copy of the database does not log anyone in.
CREATE TABLE tokens (
  token_hash BYTEA PRIMARY KEY,
  username TEXT NOT NULL REFERENCES accounts(username) ON DELETE CASCADE,
  expires_at BIGINT NOT NULL
);
CREATE INDEX tokens_by_expiry ON tokens(expires_at);

CREATE TABLE prekey_bundles (
  username TEXT NOT NULL REFERENCES accounts(username) ON DELETE CASCADE,
  suite INTEGER NOT NULL,
  bundle BYTEA NOT NULL,
  last_resort BYTEA NOT NULL,
  signed_prekey_created_at BIGINT NOT NULL,
  uploaded_at BIGINT NOT NULL,
  PRIMARY KEY (username, suite)
);

-- `id` orders hand-out (oldest first) and lets a fetch lock one row with SKIP LOCKED, so parallel
-- fetches from several relays each take a different key and never the same one.
CREATE TABLE one_time_prekeys (
  id BIGSERIAL PRIMARY KEY,
  username TEXT NOT NULL REFERENCES accounts(username) ON DELETE CASCADE,
  suite INTEGER NOT NULL,
  key_id TEXT NOT NULL,
  prekey BYTEA NOT NULL,
  UNIQUE (username, suite, key_id)
);

-- One row per recipient ever written to. `next_seq` only grows (never reused, even after the newest
-- message is acknowledged). A send locks this row, takes next_seq and commits: the lock is held until
-- COMMIT, so sequence numbers of one mailbox become visible in order and a reader that has seen n
-- never later finds a committed n-1 it skipped.
CREATE TABLE mailboxes (
  recipient TEXT PRIMARY KEY,
  next_seq BIGINT NOT NULL DEFAULT 1 CHECK (next_seq >= 1),
  messages BIGINT NOT NULL DEFAULT 0 CHECK (messages >= 0),
  bytes BIGINT NOT NULL DEFAULT 0 CHECK (bytes >= 0)
);

CREATE TABLE messages (
  recipient TEXT NOT NULL,
  seq BIGINT NOT NULL,
  sender TEXT NOT NULL,
  envelope BYTEA NOT NULL,
  size INTEGER NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  PRIMARY KEY (recipient, seq)
);
CREATE INDEX messages_by_expiry ON messages(expires_at);

-- Idempotency records outlive the message: a retry after delivery and acknowledgement, through any
-- relay, returns the same server id instead of storing the message again. The key is stricter than
-- UNIQUE (recipient, sender, client_message_id): the same id to another recipient is a conflict.
CREATE TABLE sent_messages (
  sender TEXT NOT NULL,
  client_message_id TEXT NOT NULL,
  recipient TEXT NOT NULL,
  server_id BIGINT NOT NULL,
  envelope_hash BYTEA NOT NULL,
  expires_at BIGINT NOT NULL,
  PRIMARY KEY (sender, client_message_id)
);
CREATE INDEX sent_messages_by_expiry ON sent_messages(expires_at);

CREATE TABLE attachments (
  hash TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  size BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL
);
CREATE INDEX attachments_by_owner ON attachments(owner);
CREATE INDEX attachments_by_expiry ON attachments(expires_at);

CREATE TABLE attachment_recipients (
  hash TEXT NOT NULL REFERENCES attachments(hash) ON DELETE CASCADE,
  username TEXT NOT NULL,
  fetched_at BIGINT,
  PRIMARY KEY (hash, username)
);

-- Merkle logs ("audit", "kt"). The head row is the sequencer: every append locks it (FOR UPDATE) in
-- its transaction, so appends from every relay form one sequence.
CREATE TABLE merkle_log_head (
  log_id TEXT PRIMARY KEY,
  tree_size BIGINT NOT NULL CHECK (tree_size >= 0)
);
CREATE TABLE merkle_log_entries (
  log_id TEXT NOT NULL,
  idx BIGINT NOT NULL CHECK (idx >= 0),
  data BYTEA NOT NULL,
  PRIMARY KEY (log_id, idx)
);
CREATE TABLE merkle_log_nodes (
  log_id TEXT NOT NULL,
  level SMALLINT NOT NULL CHECK (level >= 0 AND level < 64),
  idx BIGINT NOT NULL CHECK (idx >= 0),
  hash BYTEA NOT NULL CHECK (octet_length(hash) = 32),
  PRIMARY KEY (log_id, level, idx)
);
CREATE TABLE merkle_log_checkpoints (
  log_id TEXT NOT NULL,
  tree_size BIGINT NOT NULL CHECK (tree_size >= 0),
  issued_at BIGINT NOT NULL,
  note TEXT NOT NULL,
  PRIMARY KEY (log_id, tree_size)
);
CREATE TABLE merkle_log_personal_data (
  log_id TEXT NOT NULL,
  idx BIGINT NOT NULL CHECK (idx >= 0),
  field TEXT NOT NULL,
  salt BYTEA NOT NULL CHECK (octet_length(salt) = 32),
  data BYTEA NOT NULL,
  PRIMARY KEY (log_id, idx, field)
);
CREATE TABLE kt_latest_binding (
  username TEXT PRIMARY KEY,
  idx BIGINT NOT NULL CHECK (idx >= 0)
);

-- Group commit in one round trip: a whole batch of sends is one call (one statement, one transaction,
-- one WAL flush). Per message: a retried (sender, client id) returns the first server id; the quota is
-- checked; the mailbox's next sequence number is taken under its row lock. Every mailbox of the batch
-- is locked first, in username order, so two relays' batches never wait on each other in a cycle.
CREATE FUNCTION nano_enqueue(
  p_sender TEXT[], p_recipient TEXT[], p_client_id TEXT[], p_envelope BYTEA[], p_hash BYTEA[],
  p_created BIGINT[], p_expires BIGINT[], p_max_messages BIGINT, p_max_bytes BIGINT
) RETURNS TABLE (ord INTEGER, outcome TEXT, server_id BIGINT)
LANGUAGE plpgsql AS $$
DECLARE
  i INTEGER;
  prev RECORD;
  box RECORD;
  seq BIGINT;
  len INTEGER;
BEGIN
  INSERT INTO mailboxes (recipient)
    SELECT DISTINCT r FROM unnest(p_recipient) AS r ORDER BY r ON CONFLICT DO NOTHING;
  PERFORM 1 FROM mailboxes WHERE recipient = ANY (p_recipient) ORDER BY recipient FOR UPDATE;
  FOR i IN 1 .. coalesce(array_length(p_sender, 1), 0) LOOP
    ord := i;
    SELECT s.recipient, s.server_id, s.envelope_hash INTO prev
      FROM sent_messages s WHERE s.sender = p_sender[i] AND s.client_message_id = p_client_id[i];
    IF FOUND THEN
      IF prev.recipient = p_recipient[i] AND prev.envelope_hash = p_hash[i] THEN
        outcome := 'duplicate'; server_id := prev.server_id;
      ELSE
        outcome := 'client_message_id_conflict'; server_id := NULL;
      END IF;
      RETURN NEXT;
      CONTINUE;
    END IF;
    len := octet_length(p_envelope[i]);
    SELECT m.next_seq, m.messages, m.bytes INTO box FROM mailboxes m WHERE m.recipient = p_recipient[i];
    IF box.messages + 1 > p_max_messages OR box.bytes + len > p_max_bytes THEN
      outcome := 'mailbox_full'; server_id := NULL;
      RETURN NEXT;
      CONTINUE;
    END IF;
    seq := box.next_seq;
    INSERT INTO sent_messages (sender, client_message_id, recipient, server_id, envelope_hash, expires_at)
      VALUES (p_sender[i], p_client_id[i], p_recipient[i], seq, p_hash[i], p_expires[i])
      ON CONFLICT DO NOTHING;
    IF NOT FOUND THEN
      -- Another relay committed this (sender, id) for another mailbox while we waited: ours is locked,
      -- so it cannot be the same message.
      outcome := 'client_message_id_conflict'; server_id := NULL;
      RETURN NEXT;
      CONTINUE;
    END IF;
    INSERT INTO messages (recipient, seq, sender, envelope, size, created_at, expires_at)
      VALUES (p_recipient[i], seq, p_sender[i], p_envelope[i], len, p_created[i], p_expires[i]);
    UPDATE mailboxes SET next_seq = seq + 1, messages = messages + 1, bytes = bytes + len
      WHERE recipient = p_recipient[i];
    outcome := 'stored'; server_id := seq;
    RETURN NEXT;
  END LOOP;
END;
$$;
