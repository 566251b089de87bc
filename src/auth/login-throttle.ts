import type { Queryable } from '../store/db.ts';

/**
 * The per-address limit on one-time-code logins (patients), counted across all the address's codes
 * and all clients. Each attempt is counted before it is judged, in one atomic statement, so
 * attempts sent at once are counted one after the other:
 * - the first SOFT_LIMIT attempts of a window are judged at once;
 * - after that, each attempt waits twice as long as the one before after the previous attempt
 *   (1, 2, 4, 8 … minutes): an attempt too early is refused unjudged and not counted;
 * - the HARD_LIMIT-th attempt of a window locks code logins for the address: for a day, then two,
 *   four… at most MAX_LOCK_DAYS for the locks that follow within LOCK_MEMORY_DAYS; the holder is told;
 * - a successful login clears everything; a window ends WINDOW_HOURS after its first attempt.
 *
 * With a 6-digit code that is at most HARD_LIMIT guesses per lock period, so an attacker who knows
 * the birth date has about 10⁻⁵ chance a day at first, and the holder gets a mail at every lock.
 * A passkey login is not affected, so a lock set by someone else never shuts the holder out of it.
 */
export const SOFT_LIMIT = 5;
export const HARD_LIMIT = 10;
export const WINDOW_HOURS = 24;
export const MAX_LOCK_DAYS = 7;
const LOCK_MEMORY_DAYS = 30;

export type ThrottleVerdict =
  | { judged: true; attempts: number; justLocked: boolean; lockedUntil: Date | null }
  | { judged: false; retryAt: Date };

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** Counts one attempt for `loginRef` at `now`, unless it must wait or the address is locked. */
export async function countAttempt(db: Queryable, loginRef: string, now: Date): Promise<ThrottleVerdict> {
  // A stale window (or an expired lock) starts afresh with this attempt.
  const fresh = `(t.window_start <= $3 OR (t.locked_until IS NOT NULL AND t.locked_until <= $2))`;
  const next = `(CASE WHEN ${fresh} THEN 1 ELSE t.attempts + 1 END)`;
  const lockCount = `(CASE WHEN t.last_attempt_at <= $6 THEN 0 ELSE t.lock_count END)`;
  const [row] = await db.query<{ attempts: number; locked_until: Date | null }>(
    `INSERT INTO login_throttle AS t (login_ref, attempts, window_start, last_attempt_at, locked_until, lock_count)
       VALUES ($1, 1, $2, $2, NULL, 0)
     ON CONFLICT (login_ref) DO UPDATE SET
       attempts = ${next},
       window_start = CASE WHEN ${fresh} THEN $2 ELSE t.window_start END,
       last_attempt_at = $2,
       locked_until = CASE WHEN ${next} >= $5 THEN $2 + interval '1 day' * LEAST(power(2, ${lockCount}), $7)
                           WHEN t.locked_until <= $2 THEN NULL ELSE t.locked_until END,
       lock_count = CASE WHEN ${next} >= $5 THEN ${lockCount} + 1 ELSE ${lockCount} END
     WHERE (t.locked_until IS NULL OR t.locked_until <= $2)
       AND (${fresh} OR t.attempts < $4 OR t.last_attempt_at <= $2 - interval '1 minute' * power(2, t.attempts - $4))
     RETURNING attempts, locked_until`,
    [loginRef, now, new Date(now.getTime() - WINDOW_HOURS * HOUR), SOFT_LIMIT, HARD_LIMIT, new Date(now.getTime() - LOCK_MEMORY_DAYS * DAY), MAX_LOCK_DAYS],
  );
  if (row) {
    const attempts = Number(row.attempts);
    return { judged: true, attempts, justLocked: attempts === HARD_LIMIT, lockedUntil: row.locked_until ? new Date(row.locked_until) : null };
  }
  return { judged: false, retryAt: await retryAt(db, loginRef, now) };
}

/** When the address may try again: the end of its lock, or of its current wait. */
async function retryAt(db: Queryable, loginRef: string, now: Date): Promise<Date> {
  const [t] = await db.query<{ attempts: number; last_attempt_at: Date; locked_until: Date | null }>(
    'SELECT attempts, last_attempt_at, locked_until FROM login_throttle WHERE login_ref = $1', [loginRef]);
  if (!t) return now;
  if (t.locked_until && new Date(t.locked_until) > now) return new Date(t.locked_until);
  return new Date(new Date(t.last_attempt_at).getTime() + 60_000 * 2 ** (Number(t.attempts) - SOFT_LIMIT));
}

/** Whether code logins for the address are locked right now (no code is mailed meanwhile). */
export async function isLocked(db: Queryable, loginRef: string, now: Date): Promise<boolean> {
  const [t] = await db.query<{ locked: boolean }>('SELECT locked_until > $2 AS locked FROM login_throttle WHERE login_ref = $1', [loginRef, now]);
  return Boolean(t?.locked);
}

/** A successful login clears the address's count, wait and lock history. */
export async function clearAttempts(db: Queryable, loginRef: string): Promise<void> {
  await db.query('DELETE FROM login_throttle WHERE login_ref = $1', [loginRef]);
}
