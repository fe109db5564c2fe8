-- Confusable-resistant uniqueness: two usernames whose skeletons match (e.g. "alice1" and "alicel")
-- cannot both exist. Existing rows get their own name as skeleton; the relay recomputes on claim.
ALTER TABLE accounts ADD COLUMN skeleton TEXT;
UPDATE accounts SET skeleton = username WHERE skeleton IS NULL;
CREATE UNIQUE INDEX accounts_by_skeleton ON accounts(skeleton);
