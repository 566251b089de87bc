-- A person's history also shows what happened to their account (logins refused, passkeys added or
-- removed, locks): events about the account itself, found by its id without walking the whole trail.
CREATE INDEX audit_event_account ON audit_event (resource_id, seq) WHERE resource_type = 'Account';
