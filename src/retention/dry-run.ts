import type { Queryable } from '../store/db.ts';
import { SCHEDULE, type EndOfRetention } from './schedule.ts';

/** What a retention run at `at` would remove, per category, and what it would keep (every row is one or the other). */
export interface RetentionReport {
  at: string;
  categories: { category: string; tables: string[]; action: EndOfRetention; count: number; kept: number }[];
}

/**
 * Counts, per category, the rows past their retention at `at` (the schedule's `expired` rules) and
 * the rows that stay: the DPO's "what goes next month?". Reads only; changes nothing.
 */
export async function retentionDryRun(db: Queryable, at: Date): Promise<RetentionReport> {
  const categories: RetentionReport['categories'] = [];
  for (const c of SCHEDULE) {
    let count = 0;
    let total = 0;
    for (const e of c.expired) {
      const [row] = await db.query<{ expired: number; total: number }>(
        `SELECT (SELECT count(*)::int FROM ${e.table} WHERE ${e.where}) AS expired, (SELECT count(*)::int FROM ${e.table}) AS total`, [at]);
      count += row!.expired;
      total += row!.total;
    }
    categories.push({ category: c.category, tables: c.holds.map((h) => h.table), action: c.end, count, kept: total - count });
  }
  return { at: at.toISOString(), categories };
}
