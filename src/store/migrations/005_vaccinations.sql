-- Vaccinations recorded by a pharmacy, the source of vaccination passes.
CREATE TABLE vaccination (
  id uuid PRIMARY KEY,
  tenant_id uuid NOT NULL REFERENCES tenant(id),
  patient_id uuid NOT NULL REFERENCES patient(id),
  -- product, dose number, series and date: health data, field-encrypted as one JSON document
  details_enc text NOT NULL,
  recorded_by text NOT NULL,
  idempotency_key text,
  created_at timestamptz NOT NULL,
  UNIQUE (tenant_id, idempotency_key)
);
CREATE INDEX vaccination_patient ON vaccination(patient_id, created_at);

ALTER TABLE pass ADD COLUMN vaccination_id uuid REFERENCES vaccination(id);
