import type { Queryable } from '../store/db.ts';
import type { UnitOfWork } from './unit-of-work.ts';
import { GUARD } from './work.ts';

export interface RevocationGrowth {
  /** Revoked passes still kept (an upper bound of the published list: expired ones are dropped when it is built). */
  listed: number;
  /** Passes revoked in the last hour. */
  lastHour: number;
  abnormal: boolean;
}

/**
 * Looks at the revocation list's growth: every verifier downloads the whole list, and past the
 * verifier's bundle limit no verifier can refresh any more. Reissue limits keep one holder from
 * inflating it; this watches the whole, so that many accounts doing it at once (or a bug) are seen
 * within minutes. Abnormal growth is logged (counts only) and recorded in the audit trail as a
 * `trust.revocation-growth` event of `system:guard`, at most once an hour.
 */
export async function checkRevocationGrowth(db: Queryable, uow: UnitOfWork, thresholds: { perHour: number; listed: number }, now: Date, lastAlertAt: Date | null): Promise<RevocationGrowth & { alerted: boolean }> {
  const [r] = await db.query<{ listed: number; last_hour: number }>(
    `SELECT count(*)::int AS listed, count(*) FILTER (WHERE revoked_at > $2)::int AS last_hour FROM pass WHERE revoked_at IS NOT NULL AND keep_until > $1`,
    [now, new Date(now.getTime() - 3_600_000)]);
  const growth = { listed: Number(r!.listed), lastHour: Number(r!.last_hour) };
  const abnormal = growth.lastHour > thresholds.perHour || growth.listed > thresholds.listed;
  const due = !lastAlertAt || now.getTime() - lastAlertAt.getTime() >= 3_600_000;
  if (abnormal && due) {
    await uow.run(GUARD, `trust-watch:${now.getTime()}`, async (w) => w.record({
      action: 'trust.revocation-growth', resourceType: 'RevocationList', resourceId: null, subjectRef: null,
      purpose: growth.lastHour > thresholds.perHour ? `per-hour:${growth.lastHour}` : `listed:${growth.listed}`, outcome: 'failure',
    }));
  }
  return { ...growth, abnormal, alerted: abnormal && due };
}
