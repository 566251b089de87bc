import type { Config } from '../config/config.ts';
import type { Db, Queryable } from '../store/db.ts';
import { AlertRules, parseHours, READS, type RuleSettings, type TrailEvent, type TrailFacts } from './rules.ts';
import { raiseAlert } from './store.ts';

/**
 * Judges the audit trail as it grows: a continuous job that reads the events after a cursor, in
 * trail order, feeds them to the rules (src/alerts/rules.ts) and writes the alerts they raise.
 *
 * One process judges at a time: the cursor moves by compare-and-set in the transaction that writes
 * the batch's alerts, so a batch is judged once even with several server processes; a process that
 * finds the cursor moved by another rebuilds its windows from the last window of the trail (the
 * minute index says where that starts) before judging further. The rules' windows live in memory
 * (the trail is the source of truth): restarting costs one replay of the last window.
 */
export const settingsFrom = (c: Config): RuleSettings => ({
  windowMinutes: c.alertWindowMinutes, enumeration: c.alertEnumeration, bulkReads: c.alertBulkReads, breakGlassPerDay: c.alertBreakGlassPerDay,
  hours: parseHours(c.alertHours), protectedCareReads: c.alertProtectedCareReads,
});

type EventTuple = [seq: number, atMs: number, actorId: string, actorRole: string, action: string, resourceId: string | null, subjectRef: string | null, purpose: string, outcome: string];

/**
 * Up to `limit` events after `from` (and up to `to`), oldest first. They come as one JSON text, not
 * as rows: judging runs in the serving process, and decoding one text is about half the CPU of
 * decoding hundreds of rows (measured with bench/alerts), which is most of what judging costs.
 */
async function readTrail(db: Queryable, from: number, limit: number, to?: number): Promise<TrailEvent[]> {
  const [row] = await db.query<{ t: string | null }>(
    `SELECT json_agg(json_build_array(seq, extract(epoch FROM at) * 1000, actor_id, actor_role, action, resource_id, subject_ref, purpose, outcome) ORDER BY seq)::text AS t
       FROM (SELECT * FROM audit_event WHERE seq > $1 AND seq <= $2 ORDER BY seq LIMIT $3) e`, [from, to ?? Number.MAX_SAFE_INTEGER, limit]);
  if (!row?.t) return [];
  return (JSON.parse(row.t) as EventTuple[]).map(([seq, atMs, actorId, actorRole, action, resourceId, subjectRef, purpose, outcome]) => ({
    seq, at: new Date(Math.floor(atMs)), actorId, actorRole, action, resourceId, subjectRef, purpose, outcome,
  }));
}
const csv = (xs: Iterable<string>) => [...new Set(xs)].join(',');
const minuteOf = (d: Date) => new Date(Math.floor(d.getTime() / 60_000) * 60_000);
/** The minute index is kept two days (the rules' windows are at most one). */
const MINUTES_KEPT_MS = 2 * 86_400_000;

class CursorMoved extends Error {}

/** Active windows a reader's pace is learnt over before it may raise their threshold. */
export const PACE_MIN_WINDOWS = 6;

/** The rules' facts, and the staff and API keys that read in the batch (whose pace is kept). */
type BatchFacts = TrailFacts & { readers: ReadonlySet<string> };

export interface PassResult {
  /** Events judged in this pass. */
  judged: number;
  /** Alerts raised or added to. */
  raised: number;
  /** Whether more events were waiting (a full batch). */
  more: boolean;
}

export class AlertEvaluator {
  private rules: AlertRules;
  /** The cursor this process last wrote or replayed up to; null: rebuild before judging. */
  private seen: number | null = null;
  /**
   * `batch`: events judged per transaction. Judging runs in the serving process, so each batch's
   * synchronous part (decoding the rows, the rules) holds up requests: small batches keep that to
   * a few milliseconds (bench/alerts measures the p99 it adds), the backlog going in consecutive
   * batches with the event loop free between them.
   */
  constructor(private readonly db: Db, private readonly settings: RuleSettings, private readonly batch = 500) {
    this.rules = new AlertRules(settings);
  }

  /** Judges the next batch of events; `now` is when the alerts are dated (the wall clock by default). */
  async pass(now = new Date()): Promise<PassResult> {
    const [cursor] = await this.db.query<{ last_seq: string | number }>('SELECT last_seq FROM alert_cursor WHERE id = 1');
    if (!cursor) throw new Error('alert cursor missing: database not migrated');
    const from = Number(cursor.last_seq);
    if (this.seen !== from) await this.rebuild(from);
    const events = await readTrail(this.db, from, this.batch);
    if (events.length === 0) return { judged: 0, raised: 0, more: false };
    const facts = await this.facts(this.db, events);
    const alerts = this.rules.observe(events, facts);
    const last = events.at(-1)!;
    try {
      await this.db.transaction(async (tx) => {
        // No wait for the disk: the cursor and the alerts commit together, so a crash loses at
        // most the last moments of judging, as a whole, and those events are judged again (an
        // alert raised again joins the open one). The reads' own commits keep the disk to themselves.
        await tx.query('SET LOCAL synchronous_commit = off');
        const moved = await tx.query('UPDATE alert_cursor SET last_seq = $2 WHERE id = 1 AND last_seq = $1 RETURNING 1', [from, last.seq]);
        if (moved.length === 0) throw new CursorMoved();
        const minutes = new Map<number, number>();
        for (const e of events) if (!minutes.has(minuteOf(e.at).getTime())) minutes.set(minuteOf(e.at).getTime(), e.seq);
        for (const [minute, seq] of minutes) {
          await tx.query('INSERT INTO audit_minute (minute, first_seq) VALUES ($1, $2) ON CONFLICT (minute) DO UPDATE SET first_seq = LEAST(audit_minute.first_seq, EXCLUDED.first_seq)', [new Date(minute), seq]);
        }
        await tx.query('DELETE FROM audit_minute WHERE minute < $1', [new Date(last.at.getTime() - MINUTES_KEPT_MS)]);
        for (const a of alerts) {
          // The opening of a protected record raised its alert at once: its event joins that alert.
          await raiseAlert({ tx, now }, a, a.rule === 'break-glass-protected' ? new Date(now.getTime() - 3_600_000) : undefined);
        }
        await this.updatePace(tx, last.at, facts);
      });
      this.seen = last.seq;
    } catch (err) {
      this.seen = null;
      if (err instanceof CursorMoved) return { judged: 0, raised: 0, more: true };
      throw err;
    }
    return { judged: events.length, raised: alerts.length, more: events.length === this.batch };
  }

  /** Judges until the trail is caught up (tests, benchmarks); returns the events judged. */
  async drain(now = new Date()): Promise<number> {
    let judged = 0;
    for (;;) {
      const r = await this.pass(now);
      judged += r.judged;
      if (!r.more) return judged;
    }
  }

  /** Replays the window before the cursor, raising nothing: the windows then hold what they would have. */
  private async rebuild(cursor: number): Promise<void> {
    this.rules = new AlertRules(this.settings);
    const [head] = await this.db.query<{ at: Date }>('SELECT at FROM audit_event WHERE seq = $1', [cursor]);
    if (head) {
      const since = new Date(new Date(head.at).getTime() - this.settings.windowMinutes * 60_000);
      const [m] = await this.db.query<{ first_seq: string | number }>('SELECT first_seq FROM audit_minute WHERE minute >= $1 ORDER BY minute LIMIT 1', [minuteOf(since)]);
      let lo = m ? Number(m.first_seq) - 1 : Math.max(0, cursor - 100_000);
      const none: TrailFacts = { protectedSubjects: new Set(), subjectSurname: new Map(), professionalSurname: new Map(), openingsInDay: new Map(), pace: () => 0 };
      while (lo < cursor) {
        const rows = await readTrail(this.db, lo, this.batch, cursor);
        if (rows.length === 0) break;
        this.rules.observe(rows.filter((e) => e.at >= since), none, true);
        lo = rows.at(-1)!.seq;
      }
    }
    this.seen = cursor;
  }

  /** What the rules need beyond the events, for this batch only. */
  private async facts(db: Queryable, events: readonly TrailEvent[]): Promise<BatchFacts> {
    const professionals = new Set<string>();
    const subjects = new Set<string>();
    const readers = new Set<string>();
    const openings: TrailEvent[] = [];
    for (const e of events) {
      if (e.actorRole === 'professional' && e.subjectRef) {
        professionals.add(e.actorId);
        subjects.add(e.subjectRef);
      }
      if (e.action === 'break-glass.open' && e.outcome === 'success') openings.push(e);
      if ((e.actorRole === 'staff' || e.actorRole === 'api-key') && READS.has(e.action)) readers.add(e.actorId);
    }
    const subjectSurname = new Map<string, string>();
    const protectedSubjects = new Set<string>();
    if (subjects.size > 0) {
      const rows = await db.query<{ subject_ref: string; family_name_ref: string | null; protected: boolean }>(
        `SELECT subject_ref, family_name_ref, protected FROM patient WHERE subject_ref = ANY(string_to_array($1, ','))`, [csv(subjects)]);
      for (const r of rows) {
        if (r.family_name_ref) subjectSurname.set(r.subject_ref, r.family_name_ref);
        if (r.protected) protectedSubjects.add(r.subject_ref);
      }
    }
    const professionalSurname = new Map<string, string>();
    if (professionals.size > 0) {
      const rows = await db.query<{ account_id: string; family_name_ref: string }>(
        `SELECT account_id::text, family_name_ref FROM professional WHERE account_id = ANY(string_to_array($1, ',')::uuid[])`, [csv(professionals)]);
      for (const r of rows) professionalSurname.set(r.account_id, r.family_name_ref);
    }
    const openingsInDay = new Map<number, number>();
    for (const e of openings) {
      const [n] = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM break_glass WHERE professional_id = $1::uuid AND opened_at > $2 AND opened_at <= $3',
        [e.actorId, new Date(e.at.getTime() - 86_400_000), e.at]);
      openingsInDay.set(e.seq, Number(n?.n ?? 0));
    }
    const paces = new Map<string, number>();
    if (readers.size > 0) {
      // A pace is trusted once learnt over an hour of activity (six windows by default).
      const rows = await db.query<{ actor_id: string; mean: number }>('SELECT actor_id, mean FROM alert_pace WHERE windows >= $2 AND actor_id = ANY(string_to_array($1, \',\'))', [csv(readers), PACE_MIN_WINDOWS]);
      for (const r of rows) paces.set(r.actor_id, Number(r.mean));
    }
    return { protectedSubjects, subjectSurname, professionalSurname, openingsInDay, pace: (actor) => paces.get(actor) ?? 0, readers };
  }

  /**
   * Each reader's usual pace: once per window they are active in, the distinct people they read in
   * the window just ended joins their running mean, unless it is over their threshold (an
   * extraction must not teach the rule that extracting is normal). A reader seen for the first time
   * starts its first window now: nothing is learnt from a window not yet over.
   */
  private async updatePace(tx: Queryable, at: Date, facts: BatchFacts): Promise<void> {
    const readers = facts.readers;
    if (readers.size === 0) return;
    const due = new Date(at.getTime() - this.settings.windowMinutes * 60_000);
    const rows = await tx.query<{ actor_id: string; mean: number; windows: number; updated_at: Date }>('SELECT actor_id, mean, windows, updated_at FROM alert_pace WHERE actor_id = ANY(string_to_array($1, \',\'))', [csv(readers)]);
    const known = new Map(rows.map((r) => [r.actor_id, r]));
    for (const actor of readers) {
      const row = known.get(actor);
      if (!row) {
        await tx.query('INSERT INTO alert_pace (actor_id, mean, windows, updated_at) VALUES ($1, 0, 0, $2) ON CONFLICT (actor_id) DO NOTHING', [actor, at]);
        continue;
      }
      if (new Date(row.updated_at) > due) continue;
      const current = this.rules.distinctReads(actor);
      if (current >= this.rules.bulkThreshold(facts, actor)) continue;
      // A running mean over the last thousand active windows or so: it follows a pharmacy that grows.
      const n = Math.min(Number(row.windows), 999);
      await tx.query('UPDATE alert_pace SET mean = $2, windows = $3, updated_at = $4 WHERE actor_id = $1', [actor, (Number(row.mean) * n + current) / (n + 1), n + 1, at]);
    }
  }
}

interface Log {
  error(obj: object, msg: string): void;
}

/**
 * Runs the evaluator in this process: a pass every `intervalMs`, at once again while a backlog
 * remains. New events are judged within seconds (the issue asks within a minute).
 */
export function startAlertEvaluator(db: Db, config: Config, log: Log, intervalMs = 2000): { stop(): Promise<void>; evaluator: AlertEvaluator } {
  const evaluator = new AlertEvaluator(db, settingsFrom(config));
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> = Promise.resolve();
  const loop = () => {
    running = evaluator.pass().then(
      (r) => r.more,
      (err: Error) => (log.error({ type: err.name }, 'alert evaluation failed; retried next tick'), false),
    ).then((more) => {
      if (!stopped) {
        timer = setTimeout(loop, more ? 0 : intervalMs);
        timer.unref();
      }
    });
  };
  loop();
  return {
    evaluator,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
