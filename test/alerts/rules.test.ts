import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { AlertRules, parseHours, type RuleSettings, type TrailEvent, type TrailFacts } from '../../src/alerts/rules.ts';

/** The access-alert rules on their own (no database): thresholds, windows, hours, what they ignore. */
const SETTINGS: RuleSettings = { windowMinutes: 10, enumeration: 5, bulkReads: 50, breakGlassPerDay: 2, hours: null, protectedCareReads: false };
const T0 = Date.parse('2026-12-07T10:00:00Z');
let seq = 0;
const ev = (e: Partial<TrailEvent> & { at?: Date }): TrailEvent => ({
  seq: ++seq, at: new Date(T0), actorId: 'a1', actorRole: 'staff', action: 'patient.read', resourceId: null, subjectRef: null, purpose: 'tenant-service', outcome: 'success', ...e,
});
const facts = (over: Partial<TrailFacts> = {}): TrailFacts => ({
  protectedSubjects: new Set(), subjectSurname: new Map(), professionalSurname: new Map(), openingsInDay: new Map(), pace: () => 0, ...over,
});
const rulesOf = (alerts: { rule: string }[]) => alerts.map((a) => a.rule);

describe('alert rules', () => {
  it('bulk reads: staff and API keys over the threshold of distinct people within the window; listings and repeats do not count', () => {
    const rules = new AlertRules(SETTINGS);
    const reads = Array.from({ length: 49 }, (_, i) => ev({ subjectRef: `sub_${i}` }));
    expect(rules.observe(reads, facts())).toEqual([]);
    // The same people again, and a listing of 200 others: still under.
    expect(rules.observe(reads.map((e) => ev({ subjectRef: e.subjectRef })), facts())).toEqual([]);
    expect(rules.observe(Array.from({ length: 200 }, (_, i) => ev({ subjectRef: `sub_l${i}`, purpose: 'listing' })), facts())).toEqual([]);
    const [alert] = rules.observe([ev({ subjectRef: 'sub_49' })], facts());
    expect(alert).toMatchObject({ rule: 'bulk-read', severity: 'medium', actorId: 'a1' });
    expect(alert!.subjectRefs).toHaveLength(50);
    // A professional's in-care reads are explained by care: no bulk rule for them.
    const pro = new AlertRules(SETTINGS);
    expect(pro.observe(Array.from({ length: 300 }, (_, i) => ev({ actorRole: 'professional', subjectRef: `sub_${i}`, purpose: 'care' })), facts())).toEqual([]);
  });

  it('the window slides: reads spread over more than the window never add up', () => {
    const rules = new AlertRules(SETTINGS);
    const spread = Array.from({ length: 200 }, (_, i) => ev({ subjectRef: `sub_${i}`, at: new Date(T0 + i * 20_000) }));
    // 20 s apart: at most 30 within any 10 minutes.
    expect(rules.observe(spread, facts())).toEqual([]);
  });

  it('the threshold follows the actor\'s usual pace (5×), never below the configured one', () => {
    const rules = new AlertRules(SETTINGS);
    const busy = facts({ pace: () => 40 });
    expect(rules.bulkThreshold(busy, 'a1')).toBe(200);
    expect(rules.observe(Array.from({ length: 150 }, (_, i) => ev({ subjectRef: `sub_${i}` })), busy)).toEqual([]);
    expect(rulesOf(rules.observe(Array.from({ length: 60 }, (_, i) => ev({ subjectRef: `sub_x${i}` })), busy))).toEqual(['bulk-read']);
    expect(rules.bulkThreshold(facts({ pace: () => 1 }), 'a1')).toBe(50);
  });

  it('enumeration: refused attempts on distinct records of others; limits and stale second factors are not', () => {
    const rules = new AlertRules(SETTINGS);
    const denied = (resourceId: string | null, purpose = 'not-own') => ev({ actorRole: 'patient', outcome: 'denied', resourceId, purpose });
    expect(rules.observe([denied('r1'), denied('r1'), denied('r2'), denied('r3'), denied(null, 'step-up'), denied('r9', 'break-glass-limit')], facts())).toEqual([]);
    const [a] = rules.observe([denied('r4'), denied(null, 'unknown-code')], facts());
    expect(a).toMatchObject({ rule: 'enumeration', actorId: 'a1', severity: 'medium' });
    expect(a!.eventSeqs).toHaveLength(5);
  });

  it('break-the-glass: protected records, volume, and a family name shared outside care', () => {
    const rules = new AlertRules(SETTINGS);
    const open = ev({ actorRole: 'professional', actorId: 'doc', action: 'break-glass.open', subjectRef: 'sub_p', purpose: 'break-glass:emergency-care' });
    expect(rulesOf(rules.observe([open], facts({ protectedSubjects: new Set(['sub_p']) })))).toEqual(['break-glass-protected']);
    const third = ev({ actorRole: 'professional', actorId: 'doc', action: 'break-glass.open', subjectRef: 'sub_q', purpose: 'break-glass:other' });
    expect(rulesOf(rules.observe([third], facts({ openingsInDay: new Map([[third.seq, 3]]) })))).toEqual(['break-glass-volume']);
    expect(rules.observe([ev({ ...third, seq: ++seq })], facts({ openingsInDay: new Map([[seq, 2]]) }))).toEqual([]);
    const surnames = facts({ subjectSurname: new Map([['sub_r', 'H1']]), professionalSurname: new Map([['doc', 'H1']]) });
    const inCare = ev({ actorRole: 'professional', actorId: 'doc', subjectRef: 'sub_r', purpose: 'care' });
    expect(rules.observe([inCare], surnames)).toEqual([]);
    const outside = ev({ actorRole: 'professional', actorId: 'doc', subjectRef: 'sub_r', purpose: 'break-glass:covering-colleague' });
    expect(rulesOf(rules.observe([outside], surnames))).toEqual(['same-surname']);
    const attempt = ev({ actorRole: 'professional', actorId: 'doc', subjectRef: 'sub_r', outcome: 'denied', purpose: 'no-care-relationship' });
    expect(rulesOf(rules.observe([attempt], surnames))).toContain('same-surname');
  });

  it('out of hours (Paris time) and in-care reads of protected records only when configured', () => {
    // 10:00 UTC is 11:00 in Paris in December.
    const inside = new AlertRules({ ...SETTINGS, hours: parseHours('07:00-21:00') });
    expect(inside.observe([ev({ subjectRef: 's1' })], facts())).toEqual([]);
    const night = new AlertRules({ ...SETTINGS, hours: parseHours('12:00-20:00') });
    expect(rulesOf(night.observe([ev({ subjectRef: 's1' })], facts()))).toEqual(['out-of-hours']);
    // A range across midnight.
    const shifts = new AlertRules({ ...SETTINGS, hours: parseHours('20:00-12:00') });
    expect(shifts.observe([ev({ subjectRef: 's1' })], facts())).toEqual([]);
    // Patients reading their own space are never out of hours.
    expect(night.observe([ev({ actorRole: 'patient', subjectRef: 's1', purpose: 'own-record' })], facts())).toEqual([]);
    const careRead = ev({ actorRole: 'professional', actorId: 'doc', subjectRef: 'sub_p', purpose: 'care' });
    const prot = facts({ protectedSubjects: new Set(['sub_p']) });
    expect(new AlertRules(SETTINGS).observe([careRead], prot)).toEqual([]);
    expect(rulesOf(new AlertRules({ ...SETTINGS, protectedCareReads: true }).observe([careRead], prot))).toEqual(['protected-care-read']);
  });

  it('property: fewer distinct targets than the threshold within any window never raises enumeration or bulk-read', () => {
    const event = fc.record({
      target: fc.integer({ min: 0, max: 3 }),
      dt: fc.integer({ min: 0, max: 120_000 }),
      kind: fc.constantFrom('denied', 'read', 'listing'),
      actor: fc.constantFrom('a1', 'a2'),
    });
    fc.assert(fc.property(fc.array(event, { maxLength: 300 }), (xs) => {
      const rules = new AlertRules(SETTINGS);
      let at = T0;
      const events = xs.map((x) => {
        at += x.dt;
        return ev({ at: new Date(at), actorId: x.actor, subjectRef: `sub_${x.target}`, resourceId: `r${x.target}`, outcome: x.kind === 'denied' ? 'denied' : 'success', purpose: x.kind === 'denied' ? 'not-own' : x.kind === 'listing' ? 'listing' : 'tenant-service' });
      });
      // Four distinct targets at most: under both thresholds (5 and 50).
      expect(rules.observe(events, facts())).toEqual([]);
    }), { numRuns: 300 });
  });

  it('a quiet replay rebuilds the windows without raising', () => {
    const rules = new AlertRules(SETTINGS);
    const first = Array.from({ length: 49 }, (_, i) => ev({ subjectRef: `sub_${i}` }));
    expect(rules.observe(first, facts(), true)).toEqual([]);
    expect(rulesOf(rules.observe([ev({ subjectRef: 'sub_new' })], facts()))).toEqual(['bulk-read']);
  });
});
