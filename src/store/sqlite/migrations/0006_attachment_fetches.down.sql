-- Rows of recipients that already fetched go with the column: before 0006 a fetch deleted them.
DELETE FROM attachment_recipients WHERE fetched_at IS NOT NULL;
ALTER TABLE attachment_recipients DROP COLUMN fetched_at;
