-- At most one data-encryption key is the active one. App processes started together on a fresh
-- database each used to create "the first" key: one of them now wins, the others load its key,
-- instead of each writing with a key the others do not know.
CREATE UNIQUE INDEX data_key_one_active ON data_key ((true)) WHERE active;
