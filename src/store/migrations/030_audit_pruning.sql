-- Retention prunes the audit trail at the front, by whole segments ending at a signed checkpoint
-- (data lifecycle issue, point 2). Rows stay append-only for everything else: an update is always
-- refused, and a delete only of rows up to the bound the pruning transaction declares for itself
-- (set_config('saufconduit.audit_prune_through', seq, true)), which src/retention/job.ts alone sets.
CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' AND OLD.seq <= coalesce(nullif(current_setting('saufconduit.audit_prune_through', true), '')::bigint, 0) THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'audit_event is append-only' USING ERRCODE = 'insufficient_privilege';
END;
$$;
