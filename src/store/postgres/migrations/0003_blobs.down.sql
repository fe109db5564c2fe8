DROP TABLE blob_chunks;
DROP TABLE blobs;
DROP TABLE blob_uploads;
