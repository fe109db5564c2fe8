DROP TABLE attachment_recipients;
DROP TABLE attachments;
