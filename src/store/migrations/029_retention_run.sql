-- Retention runs (data lifecycle issue, point 2): when each ran, for which instant, and how many rows
-- of each category it removed (counts only, never the data). Each batch it deletes is audited in
-- its own transaction with the run's id; this row carries the counts, updated in the same transaction.
CREATE TABLE retention_run (
  id uuid PRIMARY KEY,
  at timestamptz NOT NULL,
  started_at timestamptz NOT NULL,
  finished_at timestamptz,
  removed jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX retention_run_started ON retention_run (started_at DESC);
-- The retention job finds expired rows by these instants, a batch at a time: without an index,
-- each batch would read the whole table.
CREATE INDEX test_result_created ON test_result (created_at);
CREATE INDEX vaccination_created ON vaccination (created_at);
CREATE INDEX document_created ON document (created_at);
CREATE INDEX pass_keep_until ON pass (keep_until);
-- …and unlinks or removes what refers to a batch (a deleted result's passes, reports and mails).
CREATE INDEX pass_result ON pass (result_id) WHERE result_id IS NOT NULL;
CREATE INDEX pass_vaccination ON pass (vaccination_id) WHERE vaccination_id IS NOT NULL;
CREATE INDEX pass_replaced_by ON pass (replaced_by) WHERE replaced_by IS NOT NULL;
CREATE INDEX outbox_result ON outbox (result_id);
