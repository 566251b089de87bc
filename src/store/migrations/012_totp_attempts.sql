-- Wrong second-factor codes per account. The per-IP rate limit alone let someone who holds a
-- password guess TOTP codes from many addresses; attempts are now counted on the account, before
-- each code is judged, so that attempts sent at once are counted one by one.
ALTER TABLE account ADD COLUMN totp_failures integer NOT NULL DEFAULT 0;
ALTER TABLE account ADD COLUMN totp_failed_at timestamptz;
