-- A record registered with the e-mail of an existing patient account is not attached to that
-- account: it is offered to it, and attached only when the account holder accepts it in their
-- space, giving the record's birth date. A typo at the counter, or someone typing another person's
-- address, then shows nobody a stranger's health data.
ALTER TABLE patient ADD COLUMN offered_to uuid REFERENCES account(id);
CREATE INDEX patient_offered_to ON patient (offered_to) WHERE offered_to IS NOT NULL;
