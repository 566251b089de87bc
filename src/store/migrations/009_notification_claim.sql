-- A notification being sent is claimed until this time, so that a second attempt of its job (the
-- queue's lease ran out while a slow mail server still held the first) does not send it again.
-- Cleared when the attempt is recorded; a claim left by a process that died simply runs out.
ALTER TABLE outbox ADD COLUMN claimed_until timestamptz;
