-- Health facts that were readable without the key (finding 9): a pass's kind ('recovery' means a
-- positive PCR) and its expiry (a recovery pass ends 180 days after the positive test), a test's type
-- and sampling time. They move to field-encrypted columns; what stays in clear is what queries need:
-- who (pseudonymous ids), which pharmacy, when the row was written, revocation state.
-- The values already stored are sealed by the application at its next start (it holds the key; this
-- script does not), which then empties the clear columns: they remain only for that upgrade.
ALTER TABLE test_result ADD COLUMN test_type_enc text;
ALTER TABLE test_result ADD COLUMN sampled_at_enc text;
ALTER TABLE test_result ALTER COLUMN test_type DROP NOT NULL;
ALTER TABLE test_result ALTER COLUMN sampled_at DROP NOT NULL;
-- Results are listed by when they were recorded (the sampling time is no longer readable by SQL).
DROP INDEX test_result_patient;
CREATE INDEX test_result_patient ON test_result (patient_id, created_at);

ALTER TABLE pass ADD COLUMN kind_enc text;
ALTER TABLE pass ADD COLUMN expires_at_enc text;
ALTER TABLE pass ALTER COLUMN kind DROP NOT NULL;
ALTER TABLE pass ALTER COLUMN expires_at DROP NOT NULL;
-- How long the row (and, once revoked, its entry in the published revocation list) may be kept:
-- one rule for every kind, longer than any pass lives, so that it tells nothing of the kind. Which
-- revoked passes are still listed is decided on the decrypted expiry.
ALTER TABLE pass ADD COLUMN keep_until timestamptz;
UPDATE pass SET keep_until = issued_at + interval '400 days';
ALTER TABLE pass ALTER COLUMN keep_until SET NOT NULL;
CREATE INDEX pass_revoked_kept ON pass (keep_until) WHERE revoked_at IS NOT NULL;
-- One valid pass per source and kind (finding 12): a keyed hash of the result or vaccination and the
-- kind, so that the database can keep them unique without reading the kind. Passes issued twice
-- before this upgrade stay valid; only the newest of them gets the key (set at the next start).
ALTER TABLE pass ADD COLUMN source_key text;
CREATE UNIQUE INDEX pass_one_active ON pass (source_key) WHERE revoked_at IS NULL;
