-- Health professionals as real accounts (professionals issue): a profession, a national professional
-- identifier (RPPS, 11 digits with a Luhn key), the name shown to patients and an optional
-- organisation. These are public facts (the RPPS directory publishes them), kept in clear; the
-- keyed hash of the family name lets the alert rules compare it with a patient's without reading either.
CREATE TABLE professional (
  account_id uuid PRIMARY KEY REFERENCES account(id),
  profession text NOT NULL,
  rpps text NOT NULL UNIQUE,
  display_name text NOT NULL,
  organisation text,
  family_name_ref text NOT NULL
);

-- Care relationships with a lifecycle: who created it and how, why, from when to when, and who
-- ended it. A relationship is active while since <= now < until; ending it sets `until` to now.
ALTER TABLE care_relationship DROP CONSTRAINT care_relationship_pkey;
ALTER TABLE care_relationship ADD COLUMN id uuid;
UPDATE care_relationship SET id = gen_random_uuid();
ALTER TABLE care_relationship ALTER COLUMN id SET NOT NULL;
ALTER TABLE care_relationship ADD PRIMARY KEY (id);
UPDATE care_relationship SET until = since + interval '365 days' WHERE until IS NULL;
ALTER TABLE care_relationship ALTER COLUMN until SET NOT NULL;
ALTER TABLE care_relationship ADD COLUMN origin text NOT NULL DEFAULT 'seed' CHECK (origin IN ('patient', 'consent-code', 'seed'));
ALTER TABLE care_relationship ADD COLUMN purpose text NOT NULL DEFAULT 'care';
ALTER TABLE care_relationship ADD COLUMN created_by text NOT NULL DEFAULT 'system:demo-seed';
ALTER TABLE care_relationship ADD COLUMN ended_by text;
CREATE INDEX care_relationship_professional ON care_relationship (professional_id, until);

-- The short-lived code a patient shows at the point of care (single use, minutes): whoever enters it
-- as a professional is put in care of that record. Only its keyed hash is stored.
CREATE TABLE consent_code (
  id uuid PRIMARY KEY,
  patient_id uuid NOT NULL REFERENCES patient(id),
  code_hash text NOT NULL UNIQUE,
  purpose text NOT NULL,
  days integer NOT NULL,
  created_by text NOT NULL,
  created_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  used_at timestamptz
);

-- Break-the-glass: a professional without a relationship opens one patient's record in an emergency,
-- for a short time, with a coded reason and a written justification (sealed: it may say why the
-- person needs care). Each opening waits for the DPO's review.
CREATE TABLE break_glass (
  id uuid PRIMARY KEY,
  professional_id uuid NOT NULL REFERENCES account(id),
  patient_id uuid NOT NULL REFERENCES patient(id),
  reason text NOT NULL CHECK (reason IN ('emergency-care', 'patient-unable-to-consent', 'covering-colleague', 'other')),
  justification_enc text NOT NULL,
  opened_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  ended_at timestamptz,
  review_status text NOT NULL DEFAULT 'pending' CHECK (review_status IN ('pending', 'accepted', 'rejected')),
  reviewed_by text,
  reviewed_at timestamptz,
  review_note_enc text
);
CREATE INDEX break_glass_patient ON break_glass (patient_id, expires_at);
CREATE INDEX break_glass_professional ON break_glass (professional_id, opened_at);
CREATE INDEX break_glass_pending ON break_glass (opened_at) WHERE review_status = 'pending';

-- Protected records (the public figure's): nobody without a relationship sees they exist, and any
-- break-the-glass on one raises a high alert at once. And the keyed hash of the family name.
ALTER TABLE patient ADD COLUMN protected boolean NOT NULL DEFAULT false;
ALTER TABLE patient ADD COLUMN family_name_ref text;

-- Access alerts, raised by rules judged continuously on the audit trail (src/alerts/).
CREATE TABLE alert (
  id uuid PRIMARY KEY,
  rule text NOT NULL,
  severity text NOT NULL CHECK (severity IN ('low', 'medium', 'high')),
  actor_id text NOT NULL,
  status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'acknowledged', 'dismissed', 'confirmed')),
  opened_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  -- what fired it: the subjects concerned and the audit events, comma-separated (bounded)
  subject_refs text NOT NULL DEFAULT '',
  event_seqs text NOT NULL DEFAULT '',
  summary text NOT NULL DEFAULT '',
  decided_by text,
  decided_at timestamptz,
  note_enc text
);
CREATE INDEX alert_open ON alert (opened_at DESC, id) WHERE status = 'open';
CREATE INDEX alert_rule_actor ON alert (rule, actor_id) WHERE status = 'open';

-- How far the rules have judged the trail, and which sequence number each minute starts at (the
-- rules count events over time windows through the (actor, seq) index).
CREATE TABLE alert_cursor (
  id integer PRIMARY KEY CHECK (id = 1),
  last_seq bigint NOT NULL
);
-- The rules judge what happens from now on, not the whole past trail.
INSERT INTO alert_cursor (id, last_seq) SELECT 1, seq FROM audit_head WHERE id = 1;
CREATE TABLE audit_minute (
  minute timestamptz PRIMARY KEY,
  first_seq bigint NOT NULL
);
-- Each staff member's and API key's usual pace: distinct people read per alert window, averaged over
-- the windows they were active in (the bulk-read rule alerts far above it).
CREATE TABLE alert_pace (
  actor_id text PRIMARY KEY,
  mean real NOT NULL,
  windows integer NOT NULL,
  updated_at timestamptz NOT NULL
);
