-- Transactional outbox: what must leave the platform because a result was recorded (the report to
-- the national endpoint, the patient's "new result" notification). Rows are written in the same
-- transaction as the result, so a result is acknowledged if and only if its outbox rows exist.
-- Delivery goes through the job queue (pg-boss, schema pgboss); this table stays the source of truth.
CREATE TABLE outbox (
  id uuid PRIMARY KEY,
  kind text NOT NULL CHECK (kind IN ('report', 'notification')),
  tenant_id uuid NOT NULL REFERENCES tenant(id),
  patient_id uuid NOT NULL REFERENCES patient(id),
  result_id uuid NOT NULL REFERENCES test_result(id),
  -- report: the report's facts frozen at recording time (identity, test, outcome), field-encrypted;
  -- erased once delivered. notification: null (the contact is read when sending).
  payload_enc text,
  created_at timestamptz NOT NULL,
  -- when the relay last handed the row to the job queue (null: not yet)
  queued_at timestamptz,
  attempts int NOT NULL DEFAULT 0,
  last_attempt_at timestamptz,
  -- a short code ('http-503', 'timeout', 'network'), never a message that could quote data
  last_error text,
  delivered_at timestamptz,
  -- how it ended: 'created' or 'duplicate' (receiver), 'sent' or 'no-contact' (notification)
  receipt text,
  -- one report and one notification per result, whatever retries or replays happen
  UNIQUE (kind, result_id)
);
CREATE INDEX outbox_pending ON outbox (created_at) WHERE delivered_at IS NULL;
