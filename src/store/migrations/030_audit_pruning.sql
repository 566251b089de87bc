-- Retention prunes the audit trail at the front, by whole segments ending at a signed checkpoint
-- (data lifecycle issue, point 2). Rows stay append-only for everything else: an update is always
-- refused, and a delete only of rows up to the bound a pruning transaction declares for itself.
-- The application's role (migrate --app-role) holds no DELETE on the trail: it prunes through
-- audit_prune(), which runs as the owner and deletes only up to a signed checkpoint whose event is
-- older than the given instant. `audit verify` fails on a cut younger than the retention period.
CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' AND OLD.seq <= coalesce(nullif(current_setting('saufconduit.audit_prune_through', true), '')::bigint, 0) THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'audit_event is append-only' USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE FUNCTION audit_prune(through bigint, older_than timestamptz) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
DECLARE
  gone integer;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM audit_checkpoint c JOIN audit_event e ON e.seq = c.seq WHERE c.seq = through AND e.at < older_than) THEN
    RAISE EXCEPTION 'audit_prune: no signed checkpoint at event % older than %', through, older_than USING ERRCODE = 'insufficient_privilege';
  END IF;
  PERFORM set_config('saufconduit.audit_prune_through', through::text, true);
  DELETE FROM audit_event WHERE seq <= through;
  GET DIAGNOSTICS gone = ROW_COUNT;
  DELETE FROM audit_checkpoint WHERE seq < through;
  PERFORM set_config('saufconduit.audit_prune_through', '', true);
  RETURN gone;
END;
$$;
