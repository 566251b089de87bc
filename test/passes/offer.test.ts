import { describe, expect, it } from 'vitest';
import { passOffer, TEST_VALID_HOURS } from '../../src/domain/passes.ts';

const DAY = 86_400_000;
const now = new Date('2026-12-07T12:00:00Z');
const ago = (ms: number) => new Date(now.getTime() - ms);

/** The pass a result gives now, as pages offer it: the issuing rules, boundaries included. */
describe('passOffer', () => {
  it('a negative or positive antigen test gives a test pass for 72 hours after sampling', () => {
    expect(passOffer({ testType: 'antigen', outcome: 'negative', sampledAt: ago(TEST_VALID_HOURS * 3600_000 - 1) }, now)).toEqual({ kind: 'test' });
    expect(passOffer({ testType: 'antigen', outcome: 'positive', sampledAt: ago(3600_000) }, now)).toEqual({ kind: 'test' });
    expect(passOffer({ testType: 'pcr', outcome: 'negative', sampledAt: ago(TEST_VALID_HOURS * 3600_000) }, now)).toEqual({ kind: null, reason: 'test-too-old' });
  });
  it('a positive PCR gives a recovery pass from day 11 to day 180, and says from when before', () => {
    expect(passOffer({ testType: 'pcr', outcome: 'positive', sampledAt: ago(DAY) }, now)).toEqual({ kind: null, reason: 'recovery-too-early', from: new Date(ago(DAY).getTime() + 11 * DAY) });
    expect(passOffer({ testType: 'pcr', outcome: 'positive', sampledAt: ago(11 * DAY) }, now)).toEqual({ kind: 'recovery' });
    expect(passOffer({ testType: 'pcr', outcome: 'positive', sampledAt: ago(180 * DAY - 1) }, now)).toEqual({ kind: 'recovery' });
    expect(passOffer({ testType: 'pcr', outcome: 'positive', sampledAt: ago(180 * DAY) }, now)).toEqual({ kind: null, reason: 'recovery-too-late' });
  });
  it('an inconclusive result gives none', () => {
    expect(passOffer({ testType: 'pcr', outcome: 'inconclusive', sampledAt: ago(1000) }, now)).toEqual({ kind: null, reason: 'inconclusive' });
  });
});
