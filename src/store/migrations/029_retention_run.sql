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
