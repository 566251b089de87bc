-- Facts about the installation itself. 'demo-world': the store holds the fictitious demo world
-- (seeded by `saufconduit demo` or `npm start`): `serve` refuses to serve it unless SAUFCONDUIT_DEMO
-- is set, and operator commands may then use the keys generated into the data directory.
CREATE TABLE installation_flag (
  name text PRIMARY KEY,
  set_at timestamptz NOT NULL DEFAULT now()
);
-- A store seeded before this flag existed is recognised by its demo pharmacy.
INSERT INTO installation_flag (name) SELECT 'demo-world' WHERE EXISTS (SELECT 1 FROM tenant WHERE slug = 'pharmacie-des-tilleuls');
