-- Health passes (EU DCC): signing keys and certificates, issued passes, revocations.

-- Certificates of the issuing authority: one CSCA (country signing CA) signs the document signers
-- (DSC) whose keys sign passes. Private keys are field-encrypted; DSC keys are used only by the
-- signing module, which receives digests, never pass contents.
CREATE TABLE signing_certificate (
  id text PRIMARY KEY,
  kind text NOT NULL CHECK (kind IN ('csca', 'dsc', 'trust-publisher')),
  country text NOT NULL,
  -- kid: first 8 bytes of SHA-256 of the DER certificate, base64 (DSC only)
  kid text UNIQUE,
  certificate_der text NOT NULL,
  private_key_enc text,
  status text NOT NULL CHECK (status IN ('active', 'retired')),
  not_before timestamptz NOT NULL,
  not_after timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX signing_certificate_kind ON signing_certificate(kind, status);

CREATE TABLE pass (
  id uuid PRIMARY KEY,
  tenant_id uuid NOT NULL REFERENCES tenant(id),
  patient_id uuid NOT NULL REFERENCES patient(id),
  result_id uuid REFERENCES test_result(id),
  kind text NOT NULL CHECK (kind IN ('test', 'vaccination', 'recovery')),
  kid text NOT NULL,
  -- the HC1 text (holds the person's name and birth date): encrypted
  hc1_enc text NOT NULL,
  issued_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  -- EU revocation hashes (base64 of the first 16 bytes of SHA-256), published when revoked
  uci_hash text NOT NULL,
  country_uci_hash text NOT NULL,
  signature_hash text NOT NULL,
  revoked_at timestamptz,
  replaced_by uuid REFERENCES pass(id)
);
CREATE INDEX pass_patient ON pass(patient_id, issued_at);
CREATE INDEX pass_revoked ON pass(revoked_at) WHERE revoked_at IS NOT NULL;
