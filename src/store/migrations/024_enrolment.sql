-- Real accounts for staff and DPOs (and professionals, see the professionals issue), created by an
-- operator: `saufconduit account create` prints a one-time enrolment link where the person sets a
-- password and their authenticator (TOTP). Until then the account cannot log in: no account is ever
-- usable without its second factor. Only a keyed hash of the link's token is stored.
CREATE TABLE enrolment (
  id uuid PRIMARY KEY,
  account_id uuid NOT NULL REFERENCES account(id),
  token_hash text NOT NULL UNIQUE,
  created_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  used_at timestamptz
);
CREATE INDEX enrolment_account ON enrolment (account_id);
ALTER TABLE account ADD COLUMN enrolled_at timestamptz;
UPDATE account SET enrolled_at = created_at WHERE password_hash IS NOT NULL;
