-- Staff find a pharmacy's patients by name, birth date or registration code (pages issue, point 3)
-- on a store where names and birth dates are encrypted: each record carries keyed hashes (blind
-- indexes) of the prefixes of its name words and of its birth date, under a key the database does
-- not hold, and per pharmacy (the tenant is in the hashed label), so equal names of two pharmacies
-- do not even hash alike. A search hashes its words the same way and matches hashes only.
CREATE TABLE patient_search_term (
  tenant_id uuid NOT NULL REFERENCES tenant(id),
  term text NOT NULL,
  patient_id uuid NOT NULL REFERENCES patient(id) ON DELETE CASCADE,
  PRIMARY KEY (tenant_id, term, patient_id)
);
CREATE INDEX patient_search_term_patient ON patient_search_term (patient_id);
