import { describe, expect, it } from 'vitest';
import { ENGINES } from '../support/engines.ts';
import { useDemoServer } from '../support/demo.ts';
import { verifyAudit } from '../../src/audit/verify.ts';

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
    expect((await verifyAudit(demo.app.db, demo.app.keys.auditVerify)).ok).toBe(true);
  });

  it('the patient sees every access to their data, including by staff', async () => {
    const patient = demo.who('patient-camille');
    const res = await demo.server.inject({ method: 'GET', url: '/api/me/access-log', headers: patient.headers });
    expect(res.statusCode).toBe(200);
    const items = res.json().items as { actorRole: string; actorOrganisation: string | null; action: string }[];
    expect(items.some((i) => i.actorRole === 'staff' && i.actorOrganisation === 'Pharmacie des Tilleuls')).toBe(true);
    expect(items.some((i) => i.actorRole === 'professional' && i.action === 'patient.read')).toBe(true);
  });
});
