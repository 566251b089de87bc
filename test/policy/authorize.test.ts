import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { authorize, ACTIONS, type Action, type Resource } from '../../src/policy/authorize.ts';
import type { Principal } from '../../src/policy/principal.ts';
import { SCOPES } from '../../src/policy/principal.ts';

/** When the decisions are made. */
const AT = { now: new Date('2026-12-07T12:00:00Z') };
const T1 = 'tenant-1';
const T2 = 'tenant-2';
const staff1: Principal = { kind: 'account', id: 's1', role: 'staff', tenantId: T1 };
const key1: Principal = { kind: 'api-key', id: 'k1', role: 'api-key', tenantId: T1, scopes: ['patients:read'] };
const patientA: Principal = { kind: 'account', id: 'pa', role: 'patient', tenantId: null, patientIds: ['p-a'] };
const pro: Principal = { kind: 'account', id: 'doc', role: 'professional', tenantId: null };
const dpo: Principal = { kind: 'account', id: 'dpo', role: 'dpo', tenantId: null };
const record = (type: 'patient' | 'result' | 'document', tenantId: string, patientId: string, care: string[] = []): Resource => ({ type, id: 'x', tenantId, patientId, careProfessionalIds: care });

describe('authorize: the one decision point', () => {
  it('staff read their own tenant only', () => {
    expect(authorize(staff1, 'patient.read', record('patient', T1, 'p-a'), AT).allow).toBe(true);
    expect(authorize(staff1, 'patient.read', record('patient', T2, 'p-a'), AT)).toEqual({ allow: false, reason: 'other-tenant' });
  });
  it('API keys need the scope as well as the tenant', () => {
    expect(authorize(key1, 'patient.read', record('patient', T1, 'p-a'), AT).allow).toBe(true);
    expect(authorize(key1, 'result.read', record('result', T1, 'p-a'), AT)).toEqual({ allow: false, reason: 'scope' });
    expect(authorize(key1, 'api-key.manage', { type: 'tenant', tenantId: T1 }, AT).allow).toBe(false);
    // Issuing a pass reads what it certifies (the answer carries the QR text): writing is not enough.
    const writer: Principal = { ...key1, scopes: ['results:write'] };
    expect(authorize(writer, 'pass.issue', record('result', T1, 'p-a'), AT)).toEqual({ allow: false, reason: 'scope' });
    expect(authorize({ ...key1, scopes: ['results:write', 'results:read'] }, 'pass.issue', record('result', T1, 'p-a'), AT).allow).toBe(true);
  });
  it('patients read only their own records', () => {
    expect(authorize(patientA, 'document.read', record('document', T1, 'p-a'), AT)).toEqual({ allow: true, purpose: 'own-record' });
    expect(authorize(patientA, 'document.read', record('document', T1, 'p-b'), AT).allow).toBe(false);
    expect(authorize(patientA, 'patient.create', { type: 'tenant', tenantId: T1 }, AT).allow).toBe(false);
  });
  it('professionals need a current care relationship, and never see invoices', () => {
    expect(authorize(pro, 'result.read', record('result', T1, 'p-a', ['doc']), AT)).toEqual({ allow: true, purpose: 'care' });
    expect(authorize(pro, 'result.read', record('result', T1, 'p-a', ['other']), AT)).toEqual({ allow: false, reason: 'no-care-relationship' });
    expect(authorize(pro, 'document.read', record('document', T1, 'p-a', ['doc']), AT).allow).toBe(false);
  });
  it('a record offered to a patient account can be answered by that account only', () => {
    const offered = (to: string | null): Resource => ({ type: 'patient', id: 'x', tenantId: T1, patientId: 'p-new', careProfessionalIds: [], offeredTo: to });
    expect(authorize(patientA, 'record-offer.answer', offered('pa'), AT)).toEqual({ allow: true, purpose: 'own-record' });
    expect(authorize(patientA, 'record-offer.answer', offered('someone-else'), AT)).toEqual({ allow: false, reason: 'not-offered' });
    expect(authorize(patientA, 'record-offer.answer', offered(null), AT).allow).toBe(false);
    expect(authorize(patientA, 'record-offer.answer', record('patient', T1, 'p-a'), AT).allow).toBe(false);
    for (const p of [staff1, key1, pro, dpo]) expect(authorize(p, 'record-offer.answer', offered(p.id), AT).allow).toBe(false);
    // Being offered a record does not open it.
    expect(authorize(patientA, 'patient.read', offered('pa'), AT).allow).toBe(false);
  });
  it('break-the-glass: a professional with a fresh second factor opens one record, which then reads for its reason only', () => {
    const fresh: Principal = { ...pro, secondFactorAt: AT.now.getTime() - 60_000 };
    const stale: Principal = { ...pro, secondFactorAt: AT.now.getTime() - 60 * 60_000 };
    expect(authorize(fresh, 'break-glass.open', record('patient', T1, 'p-a'), AT)).toEqual({ allow: true, purpose: 'break-glass' });
    expect(authorize(stale, 'break-glass.open', record('patient', T1, 'p-a'), AT)).toEqual({ allow: false, reason: 'step-up' });
    expect(authorize(pro, 'break-glass.open', record('patient', T1, 'p-a'), AT).allow).toBe(false);
    for (const p of [staff1, key1, patientA, { ...dpo, secondFactorAt: AT.now.getTime() }] as Principal[]) expect(authorize(p, 'break-glass.open', record('patient', T1, 'p-a'), AT).allow).toBe(false);
    const opened: Resource = { type: 'result', id: 'x', tenantId: T1, patientId: 'p-a', careProfessionalIds: [], emergencies: [{ professionalId: 'doc', reason: 'emergency-care' }] };
    expect(authorize(pro, 'result.read', opened, AT)).toEqual({ allow: true, purpose: 'break-glass:emergency-care' });
    expect(authorize({ ...pro, id: 'doc2' }, 'result.read', opened, AT).allow).toBe(false);
    // An emergency opens clinical records, never the patient's papers.
    expect(authorize(pro, 'document.read', { type: 'document', id: 'x', tenantId: T1, patientId: 'p-a', careProfessionalIds: [], emergencies: [{ professionalId: 'doc', reason: 'emergency-care' }] }, AT).allow).toBe(false);
  });
  it('care relationships are ended by their two parties only; alerts and reviews are the DPO\'s', () => {
    const rel: Resource = { type: 'relationship', patientId: 'p-a', professionalId: 'doc' };
    expect(authorize(patientA, 'care.end', rel, AT).allow).toBe(true);
    expect(authorize(pro, 'care.end', rel, AT).allow).toBe(true);
    for (const p of [staff1, key1, dpo, { ...pro, id: 'doc2' }, { ...patientA, patientIds: ['p-b'] }] as Principal[]) expect(authorize(p, 'care.end', rel, AT).allow).toBe(false);
    expect(authorize(patientA, 'care.create', record('patient', T1, 'p-a'), AT).allow).toBe(true);
    expect(authorize(patientA, 'care.create', record('patient', T1, 'p-b'), AT).allow).toBe(false);
    for (const a of ['alert.read', 'alert.decide', 'break-glass.review'] as const) {
      expect(authorize(dpo, a, { type: 'governance' }, AT).allow).toBe(true);
      for (const p of [staff1, key1, patientA, pro]) expect(authorize(p, a, { type: 'governance' }, AT).allow).toBe(false);
    }
  });
  it('the DPO governs but reads no clinical record', () => {
    expect(authorize(dpo, 'audit.read', { type: 'governance' }, AT).allow).toBe(true);
    for (const a of ['patient.read', 'result.read', 'document.read'] as const) expect(authorize(dpo, a, record('patient', T1, 'p-a'), AT).allow).toBe(false);
  });
  it('denies by default: unknown actions and prototype keys have no rule', () => {
    for (const a of ['patient.delete', 'toString', '__proto__', 'constructor', '']) expect(authorize(staff1, a as Action, record('patient', T1, 'p-a'), AT)).toEqual({ allow: false, reason: 'no-policy' });
  });
  it('property: nobody outside the tenant, the patient and the care team ever reads a record', () => {
    const principal = fc.oneof(
      fc.record({ kind: fc.constant('account' as const), id: fc.string(), role: fc.constant('staff' as const), tenantId: fc.constantFrom(T1, T2) }),
      fc.record({ kind: fc.constant('api-key' as const), id: fc.string(), role: fc.constant('api-key' as const), tenantId: fc.constantFrom(T1, T2), scopes: fc.subarray([...SCOPES]) }),
      fc.record({ kind: fc.constant('account' as const), id: fc.string(), role: fc.constant('patient' as const), tenantId: fc.constant(null), patientIds: fc.array(fc.constantFrom('p-a', 'p-b', 'p-c')) }),
      fc.record({ kind: fc.constant('account' as const), id: fc.constantFrom('doc', 'doc2'), role: fc.constant('professional' as const), tenantId: fc.constant(null) }),
      fc.record({ kind: fc.constant('account' as const), id: fc.string(), role: fc.constant('dpo' as const), tenantId: fc.constant(null) }),
    ) as fc.Arbitrary<Principal>;
    fc.assert(fc.property(principal, fc.constantFrom(...ACTIONS), fc.constantFrom('patient' as const, 'result' as const, 'document' as const), fc.constantFrom(T1, T2), fc.constantFrom('p-a', 'p-b'), fc.subarray(['doc', 'doc2']), (p, action, type, tenantId, patientId, care) => {
      const d = authorize(p, action, record(type, tenantId, patientId, care), AT);
      if (!d.allow) return;
      const insider = (p.tenantId === tenantId) || (p.role === 'patient' && p.patientIds.includes(patientId)) || (p.role === 'professional' && care.includes(p.id) && type !== 'document');
      // The DPO may mark any record protected (governance: it reads nothing of it).
      const governance = p.role === 'dpo' && action === 'patient.protect' && type === 'patient';
      expect(insider || governance).toBe(true);
    }), { numRuns: 2000 });
  });
});
