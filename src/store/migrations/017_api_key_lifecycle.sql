-- API keys expire, and say why they were revoked. A key used to live until someone revoked it, and
-- kept working after the staff member who created it was disabled: now disabling an account revokes
-- the keys it created (reason 'creator-disabled'), and every key has an end.
ALTER TABLE api_key ADD COLUMN expires_at timestamptz;
-- Keys created before this upgrade: a year after their creation, the longest a key may now live.
UPDATE api_key SET expires_at = created_at + interval '365 days';
ALTER TABLE api_key ALTER COLUMN expires_at SET NOT NULL;
ALTER TABLE api_key ADD COLUMN revoked_reason text;
ALTER TABLE api_key ADD COLUMN revoked_by text;
CREATE INDEX api_key_created_by ON api_key (created_by) WHERE revoked_at IS NULL;
