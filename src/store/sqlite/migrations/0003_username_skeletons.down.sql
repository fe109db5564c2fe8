DROP INDEX accounts_by_skeleton;
ALTER TABLE accounts DROP COLUMN skeleton;
