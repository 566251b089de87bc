-- Why a pass was revoked: 'reissue' (its holder asked for a new one), 'superseded' (a newer pass of
-- the same source replaced it). Reissues are limited per source and per patient a day, counted from
-- these rows: each one adds to the public revocation list every verifier downloads.
ALTER TABLE pass ADD COLUMN revoked_reason text;
UPDATE pass SET revoked_reason = 'reissue' WHERE revoked_at IS NOT NULL;
CREATE INDEX pass_reissued ON pass (patient_id, revoked_at) WHERE revoked_reason = 'reissue';
