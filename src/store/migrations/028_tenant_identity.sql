-- What a French invoice must name its seller by (issue 13, point 9; Code de commerce art. L441-9,
-- CGI annexe II art. 242 nonies A): the pharmacy's address, SIRET, FINESS and intra-community VAT
-- number. Business data, not personal data: clear columns. Nullable: pharmacies created before
-- have none, and their invoices print what there is. The formats are checked where they are
-- entered (src/domain/tenant-identity.ts, with the SIRET's Luhn key); the store keeps their shape.
ALTER TABLE tenant ADD COLUMN address text CHECK (length(address) BETWEEN 1 AND 200);
ALTER TABLE tenant ADD COLUMN siret text CHECK (siret ~ '^[0-9]{14}$');
ALTER TABLE tenant ADD COLUMN finess text CHECK (finess ~ '^([0-9]{2}|2[AB])[0-9]{7}$');
ALTER TABLE tenant ADD COLUMN vat_number text CHECK (vat_number ~ '^FR[0-9A-Z]{2}[0-9]{9}$');
