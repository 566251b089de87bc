-- Indexes for queries that otherwise scan a table growing with every test (found by EXPLAIN on a
-- database of 40,000 results):
-- the invoice of a result, looked up for every result shown (a sequential scan of all documents);
CREATE INDEX document_result ON document (result_id);
-- a pharmacy's newest documents and passes (a scan and a sort of every tenant's rows);
CREATE INDEX document_tenant ON document (tenant_id, created_at);
CREATE INDEX pass_tenant ON pass (tenant_id, issued_at);
-- the care check of every professional read, by patient (the primary key leads with the professional).
CREATE INDEX care_relationship_patient ON care_relationship (patient_id);
