-- A patient space holds a record only once its holder has proved the mailbox (finding 6): the first
-- registration with an unused address used to create a space that held the record at once, so that
-- whoever registered first with someone else's address took that space, and the real owner, whose
-- records were then only offered, was checked against the squatter's birth date. Now every record
-- starts as an offer; the holder accepts it after logging in (which proves the mailbox) with the
-- record's birth date. `confirmed_at`: the first login that proved the mailbox.
ALTER TABLE account ADD COLUMN confirmed_at timestamptz;
UPDATE account a SET confirmed_at = (SELECT min(e.at) FROM audit_event e WHERE e.action = 'auth.login' AND e.outcome = 'success' AND e.resource_id = a.id::text)
  WHERE a.role = 'patient';
-- Records held by a space whose mailbox was never proved become offers to it again.
UPDATE patient p SET offered_to = p.account_id, account_id = NULL
  WHERE p.account_id IS NOT NULL AND EXISTS (SELECT 1 FROM account a WHERE a.id = p.account_id AND a.role = 'patient' AND a.confirmed_at IS NULL);
