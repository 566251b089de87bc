-- The relay looks for undelivered rows of the kinds this process delivers. With reporting off
-- (no SAUFCONDUIT_REPORT_URL) reports stay undelivered, by design, and a pending index on time alone
-- made every pass scan all of them to find the notifications: index pending rows by kind first.
DROP INDEX outbox_pending;
CREATE INDEX outbox_pending ON outbox (kind, created_at) WHERE delivered_at IS NULL;
