-- When the session's holder last proved their second factor (a TOTP code, a passkey, a one-time code
-- with the birth date), at login or since (step-up). Sensitive actions (adding or removing a passkey,
-- creating an API key, reissuing a pass) need it to be recent: a stolen session alone is not enough.
ALTER TABLE session ADD COLUMN second_factor_at timestamptz;
UPDATE session SET second_factor_at = created_at WHERE stage = 'full';
