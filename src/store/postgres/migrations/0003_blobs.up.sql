-- Attachment blobs in PostgreSQL (storage.blob_backend = "postgres"), for a cluster without a shared
-- folder: 256 KiB chunks, written and read one at a time so a blob is never whole in memory. An upload
-- writes its chunks under a temporary key; promote renames them to the blob's address in one
-- transaction once the hash matched. `blob_uploads` dates temporary keys for the orphan sweep.
CREATE TABLE blob_uploads (
  upload_key TEXT PRIMARY KEY,
  started_at BIGINT NOT NULL
);
CREATE TABLE blobs (
  hash TEXT PRIMARY KEY,
  size BIGINT NOT NULL,
  chunks INTEGER NOT NULL
);
CREATE TABLE blob_chunks (
  blob_key TEXT NOT NULL,
  n INTEGER NOT NULL CHECK (n >= 0),
  data BYTEA NOT NULL,
  PRIMARY KEY (blob_key, n)
);
