import type { AlertRule, NewAlert, Severity } from './store.ts';

/**
 * The access-alert rules, judged on the audit trail as it grows (no I/O here: src/alerts/evaluate.ts
 * feeds events in order and writes what comes out). Each alert names its actor and the events and
 * subjects that fired it, so the DPO can read why. The rules, and their defaults (README):
 *
 * - `break-glass-protected` (high): a break-the-glass opening of a protected record (also raised at
 *   once by the opening itself; the rule attaches the event).
 * - `break-glass-volume` (medium): more than `breakGlassPerDay` openings by one professional in 24 h.
 * - `enumeration` (medium, high from 4×): `enumeration` denied attempts on distinct records of others
 *   within the window (ids that are not theirs, unknown ids, wrong consent codes).
 * - `bulk-read` (medium, high from 4×): staff or an API key reading `bulkReads` distinct people one by
 *   one within the window, or 5× their usual pace if that is higher (Francetest, Optical Center).
 * - `same-surname` (medium): a professional reading, or trying to read, outside a care relationship a
 *   patient who shares their family name (a relative, a neighbour).
 * - `out-of-hours` (low): a read outside the configured working hours (off unless configured).
 * - `protected-care-read` (medium): an in-care read of a protected record (off unless configured).
 *
 * Reads explained by a care relationship or a break-the-glass opening alert only through these rules.
 */
export interface RuleSettings {
  windowMinutes: number;
  enumeration: number;
  bulkReads: number;
  breakGlassPerDay: number;
  /** Working hours in Paris, as minutes since midnight; null: the out-of-hours rule is off. */
  hours: { from: number; to: number } | null;
  protectedCareReads: boolean;
}

/** One audit event, as the rules see it. */
export interface TrailEvent {
  seq: number;
  at: Date;
  actorId: string;
  actorRole: string;
  action: string;
  resourceId: string | null;
  subjectRef: string | null;
  purpose: string;
  outcome: string;
}

/** What the rules need to know beyond the events (looked up by the evaluator for each batch). */
export interface TrailFacts {
  protectedSubjects: ReadonlySet<string>;
  /** Keyed hashes of family names: of the patients behind subjects, of professionals by account. */
  subjectSurname: ReadonlyMap<string, string>;
  professionalSurname: ReadonlyMap<string, string>;
  /** Openings by the professional in the 24 hours up to a `break-glass.open` event, by its seq. */
  openingsInDay: ReadonlyMap<number, number>;
  /** Distinct people an actor usually reads per window (0 when unknown). */
  pace(actorId: string): number;
}

/** Actions that show a person's data: reads of records, results, vaccinations, documents, passes. */
export const READS = new Set(['patient.read', 'result.read', 'result.list', 'vaccination.read', 'vaccination.list', 'document.read', 'pass.read']);
/** Refusals that mean "not yours" or "no such record": what an enumeration produces. Limits, stale second factors and role refusals are not. */
export const ENUMERATION_REASONS = new Set(['not-own', 'no-care-relationship', 'unknown-resource', 'other-tenant', 'unknown-code']);
const PEOPLE = new Set(['staff', 'api-key', 'professional', 'patient', 'dpo']);
/** How many events and subjects an alert carries as its explanation. */
const EVIDENCE = 200;
/** Per actor and rule, the window keeps at most this many distinct keys: far above any threshold. */
const WINDOW_CAP = 20_000;

/** Distinct keys (people, records) an actor touched within the window, each with its newest event. */
class Window {
  private readonly seen = new Map<string, { at: number; seq: number }>();
  add(key: string, e: TrailEvent): void {
    this.seen.delete(key);
    this.seen.set(key, { at: e.at.getTime(), seq: e.seq });
    if (this.seen.size > WINDOW_CAP) this.seen.delete(this.seen.keys().next().value!);
  }
  /** Forgets what is older than `since` (insertion order is time order: the oldest go first). */
  prune(since: number): void {
    for (const [k, v] of this.seen) {
      if (v.at >= since) break;
      this.seen.delete(k);
    }
  }
  get size(): number {
    return this.seen.size;
  }
  evidence(): { keys: string[]; seqs: number[] } {
    const entries = [...this.seen].slice(-EVIDENCE);
    return { keys: entries.map(([k]) => k), seqs: entries.map(([, v]) => v.seq) };
  }
}

const parisMinutes = (() => {
  const f = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Paris', hourCycle: 'h23', hour: '2-digit', minute: '2-digit' });
  return (d: Date) => {
    const [h, m] = f.format(d).split(':').map(Number) as [number, number];
    return h * 60 + m;
  };
})();

/** `07:00-21:00` → minutes since midnight; a range may wrap past midnight (`20:00-06:00`). */
export function parseHours(spec: string | undefined): RuleSettings['hours'] {
  if (!spec) return null;
  const [from, to] = spec.split('-').map((t) => {
    const [h, m] = t.split(':').map(Number) as [number, number];
    return h * 60 + m;
  }) as [number, number];
  return { from, to };
}
const within = (hours: NonNullable<RuleSettings['hours']>, minute: number) => (hours.from <= hours.to ? minute >= hours.from && minute < hours.to : minute >= hours.from || minute < hours.to);

export class AlertRules {
  private readonly enumerations = new Map<string, Window>();
  private readonly reads = new Map<string, Window>();
  constructor(readonly settings: RuleSettings) {}

  /** The threshold of distinct people read in a window beyond which the actor's reads alert. */
  bulkThreshold(facts: Pick<TrailFacts, 'pace'>, actorId: string): number {
    return Math.max(this.settings.bulkReads, Math.ceil(5 * facts.pace(actorId)));
  }

  /** Distinct people the actor read one by one within the window ending at the last event seen. */
  distinctReads(actorId: string): number {
    return this.reads.get(actorId)?.size ?? 0;
  }

  /** Actors with reads in the current windows (whose usual pace the evaluator keeps up to date). */
  readers(): string[] {
    return [...this.reads.keys()];
  }

  /**
   * Feeds events (in trail order) and returns the alerts they raise, at most one per rule and actor
   * for the batch (the store merges it with an open one). `quiet` only rebuilds the windows (a
   * process taking over the evaluation replays the last window without raising again).
   */
  observe(events: readonly TrailEvent[], facts: TrailFacts, quiet = false): NewAlert[] {
    /**
     * What fired in this batch, per rule and actor. A window rule fires on every event past its
     * threshold: its evidence (the window's newest entries) is read once, at the end of the batch,
     * not copied per event (that made a bulk extraction cost the evaluator quadratic time).
     */
    const out = new Map<string, { rule: AlertRule; severity: Severity; actorId: string; summary: string; subjects: Set<string>; seqs: Set<number>; window?: Window; windowKeys: boolean }>();
    const rank = { low: 1, medium: 2, high: 3 };
    const raise = (rule: AlertRule, severity: Severity, e: TrailEvent, subjects: readonly string[], summary: string, window?: { of: Window; keysAreSubjects: boolean }) => {
      if (quiet) return;
      const key = `${rule}\u0000${e.actorId}`;
      let a = out.get(key);
      if (!a) {
        a = { rule, severity, actorId: e.actorId, summary, subjects: new Set(), seqs: new Set(), windowKeys: false };
        out.set(key, a);
      }
      a.summary = summary;
      if (rank[severity] > rank[a.severity]) a.severity = severity;
      for (const sub of subjects) a.subjects.add(sub);
      if (window) {
        // The first time in the batch, the window as it stands now too: a later event of the same
        // actor in this batch may have pruned it by the end (a batch after a pause spans minutes).
        if (!a.window) {
          const ev = window.of.evidence();
          for (const q of ev.seqs) a.seqs.add(q);
          if (window.keysAreSubjects) for (const k of ev.keys) a.subjects.add(k);
        }
        a.window = window.of;
        a.windowKeys = window.keysAreSubjects;
      } else {
        a.seqs.add(e.seq);
      }
    };
    const windowMs = this.settings.windowMinutes * 60_000;
    const s = this.settings;
    for (const e of events) {
      if (!PEOPLE.has(e.actorRole)) continue;
      const subjects = e.subjectRef ? [e.subjectRef] : [];
      const since = e.at.getTime() - windowMs;

      if (e.outcome === 'denied' && ENUMERATION_REASONS.has(e.purpose)) {
        const win = this.enumerations.get(e.actorId) ?? new Window();
        this.enumerations.set(e.actorId, win);
        win.prune(since);
        win.add(e.resourceId ?? `#${e.seq}`, e);
        if (win.size >= s.enumeration) {
          raise('enumeration', win.size >= 4 * s.enumeration ? 'high' : 'medium', e, subjects, `${win.size} refused attempts on records of others within ${s.windowMinutes} min`, { of: win, keysAreSubjects: false });
        }
      }

      const success = e.outcome === 'success';
      const read = success && READS.has(e.action);
      if (read && (e.actorRole === 'staff' || e.actorRole === 'api-key') && e.purpose !== 'listing' && e.subjectRef) {
        const win = this.reads.get(e.actorId) ?? new Window();
        this.reads.set(e.actorId, win);
        win.prune(since);
        win.add(e.subjectRef, e);
        const threshold = this.bulkThreshold(facts, e.actorId);
        if (win.size >= threshold) {
          raise('bulk-read', win.size >= 4 * threshold ? 'high' : 'medium', e, [], `${win.size} people read one by one within ${s.windowMinutes} min (threshold ${threshold})`, { of: win, keysAreSubjects: true });
        }
      }

      if (e.action === 'break-glass.open' && success && e.subjectRef) {
        if (facts.protectedSubjects.has(e.subjectRef)) raise('break-glass-protected', 'high', e, subjects, `emergency opening of a protected record (${e.purpose})`);
        const n = facts.openingsInDay.get(e.seq) ?? 0;
        if (n > s.breakGlassPerDay) raise('break-glass-volume', 'medium', e, subjects, `${n} emergency openings within 24 h (more than ${s.breakGlassPerDay})`);
      }
      // An opening refused over the day's limit is part of the same story.
      if (e.action === 'break-glass.open' && e.outcome === 'denied' && e.purpose === 'break-glass-limit') {
        raise('break-glass-volume', 'medium', e, subjects, 'emergency opening refused: over the daily limit');
      }

      if (e.actorRole === 'professional' && e.subjectRef && (READS.has(e.action) || e.action === 'break-glass.open')) {
        const outsideCare = (success && e.purpose.startsWith('break-glass')) || (e.outcome === 'denied' && e.purpose === 'no-care-relationship');
        const mine = facts.professionalSurname.get(e.actorId);
        if (outsideCare && mine !== undefined && facts.subjectSurname.get(e.subjectRef) === mine) {
          raise('same-surname', 'medium', e, subjects, success ? 'read, outside care, of a patient sharing the family name' : 'attempt on a patient sharing the family name');
        }
        if (s.protectedCareReads && read && e.purpose === 'care' && facts.protectedSubjects.has(e.subjectRef)) {
          raise('protected-care-read', 'medium', e, subjects, 'in-care read of a protected record');
        }
      }

      if (s.hours && (read || e.action === 'break-glass.open') && success && e.actorRole !== 'patient' && e.purpose !== 'listing' && !within(s.hours, parisMinutes(e.at))) {
        raise('out-of-hours', 'low', e, subjects, 'access outside working hours');
      }
    }
    // The evidence, once per alert: the window's newest entries as they stand after the batch.
    const alerts = [...out.values()].map((a): NewAlert => {
      const ev = a.window?.evidence();
      // Newest last, so the cap keeps the newest: the batch's own subjects, then the window's.
      const subjects = ev && a.windowKeys ? [...a.subjects, ...ev.keys] : [...a.subjects];
      const seqs = ev ? [...a.seqs, ...ev.seqs] : [...a.seqs];
      return { rule: a.rule, severity: a.severity, actorId: a.actorId, summary: a.summary, subjectRefs: [...new Set(subjects)].slice(-EVIDENCE), eventSeqs: [...new Set(seqs)].sort((x, y) => x - y).slice(-EVIDENCE) };
    });
    // Windows of actors gone quiet are dropped once empty.
    const last = events.at(-1);
    if (last) {
      const since = last.at.getTime() - windowMs;
      for (const m of [this.enumerations, this.reads]) {
        for (const [actor, win] of m) {
          win.prune(since);
          if (win.size === 0) m.delete(actor);
        }
      }
    }
    return alerts;
  }
}
