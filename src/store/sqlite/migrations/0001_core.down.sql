DROP TABLE mailbox_usage;
DROP TABLE sent_messages;
DROP TABLE messages;
DROP TABLE one_time_prekeys;
DROP TABLE prekey_bundles;
DROP TABLE tokens;
DROP TABLE accounts;
