import { describe, expect, it } from 'vitest';
import { admissible, admissionWindow } from '../../src/verifier/rules.ts';
import type { Json } from '../../src/hcert/cwt.ts';

/**
 * The window a printed pass announces (issue 13, point 9) is the one the verifier applies: at its
 * bounds, `admissible` agrees with `admissionWindow`.
 */
describe('admissionWindow agrees with admissible', () => {
  const at = (ms: number) => new Date(ms);
  const cases: [string, 'test' | 'vaccination' | 'recovery', Json][] = [
    ['negative antigen test', 'test', { t: [{ tr: '260415000', tt: 'LP217198-3', sc: '2026-04-12T12:05:00Z' }] }],
    ['two doses of two', 'vaccination', { v: [{ mp: 'EU/1/20/1528', dn: 2, sd: 2, dt: '2026-04-01' }] }],
    ['single-dose Janssen', 'vaccination', { v: [{ mp: 'EU/1/20/1525', dn: 1, sd: 1, dt: '2026-04-01' }] }],
    ['recovery', 'recovery', { r: [{ fr: '2026-01-01', df: '2026-01-12', du: '2026-06-29' }] }],
  ];
  it.each(cases)('%s', (_, type, dcc) => {
    const w = admissionWindow(type, dcc)!;
    expect(admissible(type, dcc, at(w.from))).toBeNull();
    if (type !== 'test') expect(admissible(type, dcc, at(w.from - 1))).not.toBeNull();
    if (w.until === null) return;
    expect(admissible(type, dcc, at(w.until - 1))).toBeNull();
    expect(admissible(type, dcc, at(w.until + 1))).not.toBeNull();
  });

  it('the figures: a test until 72 h after sampling, a vaccination 7 days after the dose (28 for a single dose), a recovery df to the end of du', () => {
    const [test, vaccination, janssen, recovery] = cases.map(([, type, dcc]) => admissionWindow(type, dcc));
    expect(test).toEqual({ from: Date.parse('2026-04-12T12:05:00Z'), until: Date.parse('2026-04-15T12:05:00Z') });
    expect(vaccination).toEqual({ from: Date.parse('2026-04-08'), until: null });
    expect(janssen).toEqual({ from: Date.parse('2026-04-29'), until: null });
    expect(recovery).toEqual({ from: Date.parse('2026-01-12'), until: Date.parse('2026-06-30') });
  });

  it('a positive test and an incomplete schedule are never admitted', () => {
    expect(admissionWindow('test', { t: [{ tr: '260373001', tt: 'LP6464-4', sc: '2026-04-12T12:05:00Z' }] })).toBeNull();
    expect(admissionWindow('vaccination', { v: [{ mp: 'EU/1/20/1528', dn: 1, sd: 2, dt: '2026-04-01' }] })).toBeNull();
  });
});
