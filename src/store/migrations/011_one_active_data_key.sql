-- At most one data-encryption key is the active one. App processes started together on a fresh
-- database each used to create "the first" key: one of them now wins, the others load its key,
-- instead of each writing with a key the others do not know.
-- A database that already went through that race has several active keys: the newest stays active,
-- the others stay stored (every key is loaded for reading), so nothing becomes unreadable.
UPDATE data_key SET active = false
  WHERE active AND id <> (SELECT id FROM data_key WHERE active ORDER BY created_at DESC, id DESC LIMIT 1);
CREATE UNIQUE INDEX data_key_one_active ON data_key ((true)) WHERE active;
