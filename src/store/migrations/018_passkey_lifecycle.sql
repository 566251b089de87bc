-- Passkeys can be listed and removed by their holder: each gets an opaque public id for the routes
-- (the WebAuthn credential id stays internal) and the time it was last used to log in.
ALTER TABLE webauthn_credential ADD COLUMN ref uuid;
UPDATE webauthn_credential SET ref = gen_random_uuid();
ALTER TABLE webauthn_credential ALTER COLUMN ref SET NOT NULL;
CREATE UNIQUE INDEX webauthn_credential_ref ON webauthn_credential (ref);
ALTER TABLE webauthn_credential ADD COLUMN last_used_at timestamptz;
