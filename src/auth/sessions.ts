import type { Queryable } from '../store/db.ts';
import { hashSecret, randomToken } from '../crypto/tokens.ts';

export type SessionStage = 'pending' | 'full';

export interface SessionPolicy {
  idleMinutes: number;
  absoluteMinutes: number;
}

/** A pending session (first factor passed) lives just long enough to type a code. */
const PENDING_MINUTES = 5;
/** last_seen_at is refreshed at most this often, so reads do not each cost a write. */
const TOUCH_EVERY_MS = 60_000;

/**
 * Creates a server-side session; only the token's hash is stored. A full session's second factor
 * was just proved (it is created by the second factor, or by a passkey).
 */
export async function createSession(db: Queryable, accountId: string, stage: SessionStage, method: string, now: Date, policy: SessionPolicy): Promise<string> {
  const token = `s_${randomToken()}`;
  const minutes = stage === 'pending' ? PENDING_MINUTES : policy.absoluteMinutes;
  await db.query(
    'INSERT INTO session (token_hash, account_id, stage, method, created_at, last_seen_at, expires_at, second_factor_at) VALUES ($1, $2, $3, $4, $5, $5, $6, $7)',
    [hashSecret(token), accountId, stage, method, now, new Date(now.getTime() + minutes * 60_000), stage === 'full' ? now : null],
  );
  return token;
}

/** A second factor proved again on a live session (step-up). */
export async function markSecondFactor(db: Queryable, token: string, now: Date): Promise<void> {
  await db.query(`UPDATE session SET second_factor_at = $2 WHERE token_hash = $1 AND stage = 'full'`, [hashSecret(token), now]);
}

export interface LiveSession {
  accountId: string;
  stage: SessionStage;
  method: string;
  /** The account's role, tenant and own patient records, read in the same query (one round trip per request). */
  role: 'staff' | 'professional' | 'patient' | 'dpo';
  tenantId: string | null;
  patientIds: string[];
  /** When the holder last proved their second factor in this session (null while pending). */
  secondFactorAt: Date | null;
}

type SessionRow = { token_hash: string; account_id: string; stage: SessionStage; method: string; last_seen_at: Date; expires_at: Date; disabled_at: Date | null; role: LiveSession['role']; tenant_id: string | null; patient_ids: string | null; second_factor_at: Date | null };

/**
 * Resolves many tokens in one query (concurrent requests share a round trip): each maps to its
 * session if it is live (not expired, not idle too long, account enabled).
 */
export async function findSessions(db: Queryable, tokens: readonly string[], now: Date, policy: SessionPolicy): Promise<Map<string, LiveSession>> {
  const hashes = new Map(tokens.map((t) => [hashSecret(t), t] as const));
  // base64url hashes hold no comma, quote or brace: a safe array literal on both engines.
  const rows = await db.query<SessionRow>(
    `SELECT s.token_hash, s.account_id, s.stage, s.method, s.last_seen_at, s.expires_at, s.second_factor_at, a.disabled_at, a.role, a.tenant_id,
            CASE WHEN a.role = 'patient' THEN (SELECT string_agg(p.id::text, ',') FROM patient p WHERE p.account_id = a.id) END AS patient_ids
       FROM session s JOIN account a ON a.id = s.account_id WHERE s.token_hash = ANY($1::text[])`,
    [`{${[...hashes.keys()].join(',')}}`],
  );
  const out = new Map<string, LiveSession>();
  for (const row of rows) {
    if (row.disabled_at) continue;
    const lastSeen = new Date(row.last_seen_at).getTime();
    if (new Date(row.expires_at).getTime() <= now.getTime() || lastSeen + policy.idleMinutes * 60_000 <= now.getTime()) {
      await db.query('DELETE FROM session WHERE token_hash = $1', [row.token_hash]);
      continue;
    }
    if (now.getTime() - lastSeen > TOUCH_EVERY_MS) {
      await db.query('UPDATE session SET last_seen_at = $2 WHERE token_hash = $1', [row.token_hash, now]);
    }
    out.set(hashes.get(row.token_hash)!, {
      accountId: row.account_id, stage: row.stage, method: row.method, role: row.role, tenantId: row.tenant_id, patientIds: row.patient_ids ? row.patient_ids.split(',') : [],
      secondFactorAt: row.second_factor_at ? new Date(row.second_factor_at) : null,
    });
  }
  return out;
}

/** Resolves one token to its live session, or null. */
export async function findSession(db: Queryable, token: string, now: Date, policy: SessionPolicy): Promise<LiveSession | null> {
  return (await findSessions(db, [token], now, policy)).get(token) ?? null;
}

export async function deleteSession(db: Queryable, token: string): Promise<void> {
  await db.query('DELETE FROM session WHERE token_hash = $1', [hashSecret(token)]);
}

/** Logout and account disable end every session of the account, on every device. */
export async function deleteAllSessions(db: Queryable, accountId: string): Promise<number> {
  const rows = await db.query('DELETE FROM session WHERE account_id = $1 RETURNING token_hash', [accountId]);
  return rows.length;
}
