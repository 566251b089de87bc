-- Foundation schema. Runs unchanged on PostgreSQL 15 and PGlite (PostgreSQL 18): stay in the common subset.
-- Columns ending in _enc hold field-level ciphertext (see src/crypto/fields.ts): the database alone
-- does not reveal them.

CREATE TABLE tenant (
  id uuid PRIMARY KEY,
  kind text NOT NULL CHECK (kind IN ('pharmacy', 'lab')),
  name text NOT NULL,
  slug text NOT NULL UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE account (
  id uuid PRIMARY KEY,
  role text NOT NULL CHECK (role IN ('staff', 'professional', 'patient', 'dpo')),
  tenant_id uuid REFERENCES tenant(id),
  -- keyed hash of the normalised login (e-mail): lookups without storing it in clear
  login_hash text NOT NULL UNIQUE,
  login_enc text NOT NULL,
  display_name_enc text NOT NULL,
  password_hash text,
  totp_secret_enc text,
  -- last accepted TOTP time step: a code is never accepted twice
  totp_last_step bigint NOT NULL DEFAULT 0,
  disabled_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  CHECK ((role = 'staff') = (tenant_id IS NOT NULL))
);

CREATE TABLE webauthn_credential (
  id text PRIMARY KEY,
  account_id uuid NOT NULL REFERENCES account(id),
  public_key text NOT NULL,
  counter bigint NOT NULL DEFAULT 0,
  transports text NOT NULL DEFAULT '',
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webauthn_credential_account ON webauthn_credential(account_id);

-- Server-side sessions; only a hash of the bearer token is stored.
CREATE TABLE session (
  token_hash text PRIMARY KEY,
  account_id uuid NOT NULL REFERENCES account(id),
  -- 'pending' after a first factor, 'full' after the second (or a passkey)
  stage text NOT NULL CHECK (stage IN ('pending', 'full')),
  method text NOT NULL,
  created_at timestamptz NOT NULL,
  last_seen_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL
);
CREATE INDEX session_account ON session(account_id);

-- One-time codes (patient login) and WebAuthn challenges: short-lived, single use, hashed.
CREATE TABLE auth_challenge (
  id uuid PRIMARY KEY,
  kind text NOT NULL CHECK (kind IN ('otp', 'webauthn-login', 'webauthn-register')),
  account_id uuid REFERENCES account(id),
  secret_hash text NOT NULL,
  attempts int NOT NULL DEFAULT 0,
  expires_at timestamptz NOT NULL,
  used_at timestamptz
);

CREATE TABLE api_key (
  id uuid PRIMARY KEY,
  tenant_id uuid NOT NULL REFERENCES tenant(id),
  label text NOT NULL,
  prefix text NOT NULL UNIQUE,
  secret_hash text NOT NULL,
  scopes text NOT NULL,
  created_by uuid REFERENCES account(id),
  created_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz
);

CREATE TABLE patient (
  id uuid PRIMARY KEY,
  tenant_id uuid NOT NULL REFERENCES tenant(id),
  account_id uuid REFERENCES account(id),
  -- stable pseudonymous id used in audit events instead of the person's identity
  subject_ref text NOT NULL,
  given_name_enc text NOT NULL,
  family_name_enc text NOT NULL,
  birth_date_enc text NOT NULL,
  ssn_enc text,
  phone_enc text,
  email_enc text,
  address_enc text,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX patient_tenant ON patient(tenant_id, created_at);
CREATE INDEX patient_account ON patient(account_id);

CREATE TABLE test_result (
  id uuid PRIMARY KEY,
  tenant_id uuid NOT NULL REFERENCES tenant(id),
  patient_id uuid NOT NULL REFERENCES patient(id),
  test_type text NOT NULL CHECK (test_type IN ('antigen', 'pcr')),
  outcome_enc text NOT NULL,
  sampled_at timestamptz NOT NULL,
  recorded_by text NOT NULL,
  idempotency_key text,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, idempotency_key)
);
CREATE INDEX test_result_patient ON test_result(patient_id, sampled_at);

CREATE TABLE document (
  id uuid PRIMARY KEY,
  tenant_id uuid NOT NULL REFERENCES tenant(id),
  patient_id uuid NOT NULL REFERENCES patient(id),
  result_id uuid REFERENCES test_result(id),
  kind text NOT NULL CHECK (kind IN ('invoice')),
  media_type text NOT NULL,
  content_enc text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX document_patient ON document(patient_id);

CREATE TABLE care_relationship (
  professional_id uuid NOT NULL REFERENCES account(id),
  patient_id uuid NOT NULL REFERENCES patient(id),
  since timestamptz NOT NULL,
  until timestamptz,
  PRIMARY KEY (professional_id, patient_id)
);

-- Data-encryption keys, wrapped by the master key (envelope encryption).
CREATE TABLE data_key (
  id text PRIMARY KEY,
  wrapped text NOT NULL,
  active boolean NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- Tamper-evident audit trail: each event's hash covers the previous hash and the event's fields.
CREATE TABLE audit_event (
  seq bigint PRIMARY KEY,
  at timestamptz NOT NULL,
  actor_id text NOT NULL,
  actor_role text NOT NULL,
  tenant_id text,
  action text NOT NULL,
  resource_type text NOT NULL,
  resource_id text,
  subject_ref text,
  purpose text NOT NULL,
  outcome text NOT NULL CHECK (outcome IN ('success', 'denied', 'failure')),
  request_id text NOT NULL,
  prev_hash text NOT NULL,
  hash text NOT NULL
);
CREATE INDEX audit_event_subject ON audit_event(subject_ref, seq);
CREATE INDEX audit_event_actor ON audit_event(actor_id, seq);

-- The chain head: one row, locked by every appending transaction so the chain stays linear.
CREATE TABLE audit_head (
  id int PRIMARY KEY CHECK (id = 1),
  seq bigint NOT NULL,
  hash text NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TABLE audit_checkpoint (
  seq bigint PRIMARY KEY,
  hash text NOT NULL,
  signed_at timestamptz NOT NULL,
  key_id text NOT NULL,
  signature text NOT NULL
);

-- Defence in depth on both engines: audit rows are append-only even for code that tries.
CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_event is append-only' USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER audit_event_no_update BEFORE UPDATE OR DELETE ON audit_event
  FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_checkpoint_no_update BEFORE UPDATE OR DELETE ON audit_checkpoint
  FOR EACH ROW EXECUTE FUNCTION audit_append_only();
