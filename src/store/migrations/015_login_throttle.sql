-- Wrong one-time codes per address, across all its codes and all clients. Each code allows a few
-- guesses and codes are capped per address and client, but nothing counted per address: with many
-- client addresses someone could try the 6-digit code without end against a person whose birth
-- date is public. Rows are keyed by the address's keyed hash, known or not, so an unknown address
-- is throttled and locked exactly like a real one (nothing tells them apart).
CREATE TABLE login_throttle (
  login_ref text PRIMARY KEY,
  -- attempts judged in the current window (counted before each is judged)
  attempts integer NOT NULL,
  window_start timestamptz NOT NULL,
  last_attempt_at timestamptz NOT NULL,
  -- code logins for this address are refused until then
  locked_until timestamptz,
  -- locks so far: each one lasts twice as long as the one before (capped)
  lock_count integer NOT NULL DEFAULT 0
);

-- Whether a one-time code challenge was given a code that can log in (false past a cap, or while the
-- address is locked): at most a few usable codes of one address are open at once, whatever the
-- clients that asked. Unknown addresses get the same flag by the same rules.
ALTER TABLE auth_challenge ADD COLUMN usable boolean NOT NULL DEFAULT true;
