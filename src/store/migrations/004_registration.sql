-- Counter self-registration. Staff show a short-lived, single-use link (as a QR) bound to their
-- pharmacy and counter; the patient fills the form on their own phone and gets a registration
-- code that staff scan or type. Tokens and codes are stored as keyed hashes only.
CREATE TABLE registration_link (
  id uuid PRIMARY KEY,
  tenant_id uuid NOT NULL REFERENCES tenant(id),
  counter text NOT NULL,
  token_hash text NOT NULL UNIQUE,
  created_by text NOT NULL,
  created_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  used_at timestamptz
);
CREATE INDEX registration_link_expiry ON registration_link(expires_at);

CREATE TABLE registration (
  id uuid PRIMARY KEY,
  tenant_id uuid NOT NULL REFERENCES tenant(id),
  link_id uuid NOT NULL UNIQUE REFERENCES registration_link(id),
  patient_id uuid NOT NULL REFERENCES patient(id),
  code_hash text NOT NULL UNIQUE,
  created_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL
);
CREATE INDEX registration_patient ON registration(patient_id);
