-- A recipient's row stays after its download, marked with when it fetched: a client that crashed
-- between the download and its local commit may fetch again until the blob's expiry, which the last
-- fetch brings forward to a short grace period (src/relay/routes/attachments.ts).
ALTER TABLE attachment_recipients ADD COLUMN fetched_at INTEGER;
