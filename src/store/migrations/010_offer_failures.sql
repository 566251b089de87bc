-- Wrong birth dates given for an offered record, counted on the record itself. Counting the audit
-- trail's failure events missed the guesses of one group-committed batch: they ran in the same
-- transaction and their events were written only at its end, so any number of guesses sent at once
-- saw the same count. An increment is atomic whatever runs beside it.
ALTER TABLE patient ADD COLUMN offer_failures integer NOT NULL DEFAULT 0;
-- Offers pending at the upgrade keep the wrong dates already given (counted from the audit trail).
UPDATE patient p SET offer_failures = (
  SELECT count(*) FROM audit_event a
   WHERE a.resource_id = p.id::text AND a.actor_id = p.offered_to::text AND a.action = 'record-offer.accept' AND a.outcome = 'failure')
  WHERE p.offered_to IS NOT NULL;
