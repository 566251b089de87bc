-- One-time login codes are tied to the address they were asked for (its keyed hash, as for
-- account logins), known or not: a new code replaces the earlier ones of the same address, and
-- only a few leave per quarter of an hour, so that nobody can flood a patient's inbox, and the
-- answers stay the same whether or not the address has an account.
ALTER TABLE auth_challenge ADD COLUMN login_ref text;
CREATE INDEX auth_challenge_login_ref ON auth_challenge (login_ref) WHERE login_ref IS NOT NULL;
