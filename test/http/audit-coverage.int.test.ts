import { describe, expect, it } from 'vitest';
import { ENGINES } from '../support/engines.ts';
import { useDemoServer } from '../support/demo.ts';
import { verifyAudit } from '../../src/audit/verify.ts';
import { hashSecret } from '../../src/crypto/tokens.ts';

/** Invariant 2: no personal data leaves without an audit event about it, written in the same transaction. */
describe.each(ENGINES)('every read of personal data is audited on %s', (engine) => {
  const demo = useDemoServer(engine);

  const lastSeq = async () => Number((await demo.app.db.query<{ seq: number }>('SELECT seq FROM audit_head'))[0]!.seq);

  it('each successful GET of a record leaves a success event naming the record, its subject and the actor', async () => {
    const routes: [string, 'patientId' | 'resultId' | 'vaccinationId' | 'documentId', string][] = [
      ['/api/patients/{id}', 'patientId', 'Patient'], ['/api/patients/{id}/results', 'patientId', 'Patient'],
      ['/api/patients/{id}/vaccinations', 'patientId', 'Patient'], ['/api/vaccinations/{id}', 'vaccinationId', 'Immunization'],
      ['/api/results/{id}', 'resultId', 'Observation'], ['/api/documents/{id}', 'documentId', 'DocumentReference'],
    ];
    let checked = 0;
    for (const p of demo.principals) {
      for (const [tpl, kind, type] of routes) {
        for (const id of p.canAccess[kind]) {
          const before = await lastSeq();
          const res = await demo.server.inject({ method: 'GET', url: tpl.replace('{id}', id), headers: p.headers });
          expect(res.statusCode).toBe(200);
          const events = await demo.app.db.query<{ actor_id: string; resource_id: string; resource_type: string; subject_ref: string | null; outcome: string; request_id: string }>(
            'SELECT actor_id, resource_id, resource_type, subject_ref, outcome, request_id FROM audit_event WHERE seq > $1', [before]);
          const e = events.find((x) => x.resource_id === id);
          expect(e, `${p.name} GET ${tpl} left no audit event`).toBeDefined();
          expect(e!.resource_type).toBe(type);
          expect(e!.outcome).toBe('success');
          expect(e!.subject_ref).toMatch(/^sub_/);
          expect(e!.request_id).toBe(res.headers['x-request-id']);
          checked += 1;
        }
      }
    }
    expect(checked).toBeGreaterThan(20);
  });

  it('lists audit one event per person shown', async () => {
    const staff = demo.who('pharmacy-a-staff');
    const before = await lastSeq();
    const res = await demo.server.inject({ method: 'GET', url: '/api/patients', headers: staff.headers });
    const shown = (res.json().items as { id: string }[]).map((x) => x.id).sort();
    const events = await demo.app.db.query<{ resource_id: string }>(`SELECT resource_id FROM audit_event WHERE seq > $1 AND action = 'patient.read'`, [before]);
    expect(events.map((e) => e.resource_id).sort()).toEqual(shown);
  });

  it('audit events carry no health data or identity', async () => {
    const rows = await demo.app.db.query<Record<string, unknown>>('SELECT * FROM audit_event');
    const text = JSON.stringify(rows);
    for (const secret of ['Camille', 'Martin', 'negative', 'positive', 'antigen', '1990-04-12', 'camille.martin@example.org']) expect(text).not.toContain(secret);
    expect((await verifyAudit(demo.app.db, demo.app.keys)).ok).toBe(true);
  });

  it('the patient sees every access to their data, including by staff', async () => {
    const patient = demo.who('patient-camille');
    const res = await demo.server.inject({ method: 'GET', url: '/api/me/access-log', headers: patient.headers });
    expect(res.statusCode).toBe(200);
    const items = res.json().items as { actorRole: string; actorOrganisation: string | null; action: string }[];
    expect(items.some((i) => i.actorRole === 'staff' && i.actorOrganisation === 'Pharmacie des Tilleuls')).toBe(true);
    expect(items.some((i) => i.actorRole === 'professional' && i.action === 'patient.read')).toBe(true);
  });

  it('the access log is the newest events of every record of the patient, merged; the audit explorer filters by subject and actor', async () => {
    const patient = demo.who('patient-elise');
    const dpo = demo.principals.find((p) => p.role === 'dpo')!;
    const staff = demo.who('pharmacy-a-staff');
    const account = async (p: typeof patient) =>
      (await demo.app.db.query<{ account_id: string }>('SELECT account_id FROM session WHERE token_hash = $1', [hashSecret(p.headers.authorization.slice('Bearer '.length))]))[0]!.account_id;
    const refs = (await demo.app.db.query<{ subject_ref: string }>('SELECT subject_ref FROM patient WHERE account_id = $1 ORDER BY subject_ref', [await account(patient)])).map((r) => r.subject_ref);
    // Élise's records at both pharmacies: the log merges the trails of several subjects.
    expect(refs.length).toBeGreaterThan(1);
    // The records' events and the account's own (its creation, logins refused…), merged.
    const expected = await demo.app.db.query<{ action: string }>(
      `SELECT action FROM audit_event WHERE subject_ref = ANY(string_to_array($1, ',')) OR (resource_type = 'Account' AND resource_id = $2) ORDER BY seq DESC LIMIT 200`,
      [refs.join(','), await account(patient)]);
    const log = await demo.server.inject({ method: 'GET', url: '/api/me/access-log', headers: patient.headers });
    expect(log.statusCode, log.body).toBe(200);
    expect((log.json().items as { action: string }[]).map((i) => i.action)).toEqual(expected.map((e) => e.action));

    const staffId = await account(staff);
    const get = async (query: string) => {
      const res = await demo.server.inject({ method: 'GET', url: `/api/audit-events?${query}&limit=1000`, headers: dpo.headers });
      expect(res.statusCode, res.body).toBe(200);
      const items = res.json().items as { seq: number; subjectRef: string; actorId: string }[];
      expect(items.length).toBeGreaterThan(0);
      expect(items.map((i) => i.seq)).toEqual(items.map((i) => i.seq).sort((a, b) => b - a));
      return items;
    };
    // The record that pharmacy A's staff member has touched (they registered it).
    const [{ subject_ref: ref } = { subject_ref: '' }] = await demo.app.db.query<{ subject_ref: string }>(
      `SELECT subject_ref FROM audit_event WHERE actor_id = $1 AND subject_ref = ANY(string_to_array($2, ',')) LIMIT 1`, [staffId, refs.join(',')]);
    const bySubject = await get(`subjectRef=${ref}`);
    const byActor = await get(`actorId=${staffId}`);
    const both = await get(`subjectRef=${ref}&actorId=${staffId}`);
    expect(bySubject.every((i) => i.subjectRef === ref)).toBe(true);
    expect(byActor.every((i) => i.actorId === staffId)).toBe(true);
    const ofStaff = new Set(byActor.map((i) => i.seq));
    expect(both.map((i) => i.seq)).toEqual(bySubject.filter((i) => ofStaff.has(i.seq)).map((i) => i.seq));
  });
});
