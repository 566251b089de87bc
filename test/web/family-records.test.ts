import { describe, expect, it } from 'vitest';
import { useDemoServer } from '../support/demo.ts';

/**
 * Whose record is it? (pages issue, point 2): a parent's space that accepted a child's record shows
 * each person under their name, with their own results (and the pharmacy that tested them), passes
 * and invoices; nothing of one person under the other.
 */
describe('family records in the patient space', () => {
  const demo = useDemoServer('pglite');

  it('groups results, passes and invoices by person, names the holder and the pharmacy', async () => {
    const staff = demo.who('pharmacy-a-staff');
    const camille = demo.who('patient-camille');
    const child = await demo.server.inject({ method: 'POST', url: '/api/patients', headers: staff.headers, payload: { givenName: 'Léo', familyName: 'Martin', birthDate: '2015-06-01', email: 'camille.martin@example.org' } });
    expect(child.statusCode, child.body).toBe(201);
    const childId = child.json().id as string;
    // The offer says enough for a parent to know which child it is (the given name's initial), nothing more.
    const offered = await demo.server.inject({ method: 'GET', url: '/patient?lang=fr', headers: camille.headers });
    expect(offered.body).toContain('<span data-offer-initial>prénom commençant par « L »</span>');
    expect(offered.body).not.toContain('Léo');
    expect(offered.body).not.toContain('2015');
    const [seen] = await demo.app.db.query<{ actor_id: string; purpose: string }>(`SELECT actor_id, purpose FROM audit_event WHERE action = 'record-offer.read' AND resource_id = $1`, [childId]);
    expect(seen).toEqual({ actor_id: camille.id, purpose: 'record-offer' });
    const accepted = await demo.server.inject({ method: 'POST', url: `/api/me/record-offers/${childId}/accept`, headers: camille.headers, payload: { birthDate: '2015-06-01' } });
    expect(accepted.statusCode, accepted.body).toBe(200);
    const result = await demo.server.inject({ method: 'POST', url: `/api/patients/${childId}/results`, headers: staff.headers, payload: { testType: 'antigen', device: '1232', outcome: 'negative', sampledAt: new Date(Date.now() - 600_000).toISOString() } });
    expect(result.statusCode, result.body).toBe(201);

    const page = await demo.server.inject({ method: 'GET', url: '/patient?lang=en', headers: camille.headers });
    expect(page.statusCode).toBe(200);
    const sections = [...page.body.matchAll(/<section aria-labelledby="person-\d+-h" data-person="([^"]+)">([\s\S]*?)<\/section>/g)].map((m) => ({ name: m[1]!, body: m[2]! }));
    expect(sections.map((s) => s.name).sort()).toEqual(['Camille Martin', 'Léo Martin']);
    const leo = sections.find((s) => s.name === 'Léo Martin')!;
    const mother = sections.find((s) => s.name === 'Camille Martin')!;
    expect(leo.body).toContain(`data-result-id="${result.json().id}"`);
    expect(leo.body).toMatch(/<td role="cell" data-pharmacy data-label="Pharmacy">Pharmacie des Tilleuls<\/td>/);
    expect(leo.body).toContain('Born 1 June 2015');
    expect(mother.body).not.toContain(result.json().id);
    expect(mother.body).toContain('data-result-id=');
    // The page's title names nobody (titles end up in the browser's history).
    expect(page.body).toMatch(/<title>[^<]*<\/title>/);
    expect(/<title>([^<]*)<\/title>/.exec(page.body)![1]).not.toMatch(/Martin|Léo|Camille/);
  });
});
