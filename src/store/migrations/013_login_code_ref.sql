-- One-time login codes keep the address they were asked for (its keyed hash, as for account
-- logins, known or not) and the client that asked (its pseudonymised IP): at most a few codes leave
-- per address and client in a quarter of an hour, so that nobody can flood a patient's inbox, nor
-- spend the budget of the patient's own requests from elsewhere; the answers stay the same whether
-- or not the address has an account. Rows go with the challenge (purged after expiry).
ALTER TABLE auth_challenge ADD COLUMN login_ref text;
ALTER TABLE auth_challenge ADD COLUMN client_ref text;
CREATE INDEX auth_challenge_login_ref ON auth_challenge (login_ref) WHERE login_ref IS NOT NULL;
