DROP TABLE kt_latest_binding;
DROP TABLE merkle_log_personal_data;
DROP TABLE merkle_log_checkpoints;
DROP TABLE merkle_log_nodes;
DROP TABLE merkle_log_entries;
DROP TABLE merkle_log_head;
