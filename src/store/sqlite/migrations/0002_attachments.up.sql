-- Attachment metadata; the encrypted blobs themselves live on disk under storage.blob_dir.
CREATE TABLE attachments (
  hash TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  size INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX attachments_by_owner ON attachments(owner);
CREATE INDEX attachments_by_expiry ON attachments(expires_at);

-- One row per recipient still to fetch; the attachment is deleted when the last row goes.
CREATE TABLE attachment_recipients (
  hash TEXT NOT NULL REFERENCES attachments(hash) ON DELETE CASCADE,
  username TEXT NOT NULL,
  PRIMARY KEY (hash, username)
) STRICT;
