import { describe, expect, it } from 'vitest';
import { ENGINES } from '../support/engines.ts';
import { useDemoServer } from '../support/demo.ts';
import { principalFor } from '../../src/domain/accounts.ts';
import { registerPatient } from '../../src/domain/patients.ts';
import { findTenantPatients, indexUnsearchablePatients, planSearch } from '../../src/domain/patient-search.ts';

/**
 * Staff find their pharmacy's patients (pages issue, point 3) by name, birth date or registration
 * code, on the encrypted store: the database holds keyed hashes only, another pharmacy finds none of
 * them, each patient shown is audited, and what was typed is kept nowhere.
 */
describe.each(ENGINES)('finding patients on %s', (engine) => {
  const demo = useDemoServer(engine);
  const search = (who: string, body: object) => demo.server.inject({ method: 'POST', url: '/api/patients/search', headers: demo.who(who).headers, payload: body });
  const register = (who: string, p: object) => demo.server.inject({ method: 'POST', url: '/api/patients', headers: demo.who(who).headers, payload: p });
  const names = (res: { json(): { items: { givenName: string; familyName: string }[] } }) => res.json().items.map((p) => `${p.givenName} ${p.familyName}`).sort();

  it('finds by the first letters of any name word, in any case and accent, by birth date, and by both', async () => {
    for (const p of [
      { givenName: 'Zoé', familyName: 'Lefèvre-Dubois', birthDate: '1988-02-03' },
      { givenName: 'Zacharie', familyName: 'Lefort', birthDate: '1988-02-03' },
      { givenName: 'Yannick', familyName: 'Dubois', birthDate: '1960-07-14' },
    ]) expect((await register('pharmacy-a-staff', p)).statusCode).toBe(201);
    expect(names(await search('pharmacy-a-staff', { q: 'LEFEVRE' }))).toEqual(['Zoé Lefèvre-Dubois']);
    expect(names(await search('pharmacy-a-staff', { q: 'lef' }))).toEqual(['Zacharie Lefort', 'Zoé Lefèvre-Dubois']);
    expect(names(await search('pharmacy-a-staff', { q: 'dubois' }))).toEqual(['Yannick Dubois', 'Zoé Lefèvre-Dubois']);
    expect(names(await search('pharmacy-a-staff', { q: '03/02/1988' }))).toEqual(['Zacharie Lefort', 'Zoé Lefèvre-Dubois']);
    expect(names(await search('pharmacy-a-staff', { q: 'za 1988-02-03' }))).toEqual(['Zacharie Lefort']);
    expect(names(await search('pharmacy-a-staff', { q: 'zoe 14/07/1960' }))).toEqual([]);
    // Another pharmacy finds none of them, by any route.
    expect(names(await search('pharmacy-b-staff', { q: 'lef' }))).toEqual([]);
    expect(names(await search('pharmacy-b-staff', { q: '03/02/1988' }))).toEqual([]);
    // Pharmacy software with its API key searches the same way.
    expect(names(await search('pharmacy-a-api-key', { q: 'yan' }))).toEqual(['Yannick Dubois']);
  });

  it('finds a patient by the registration code given at the counter, only at that pharmacy', async () => {
    const link = await demo.server.inject({ method: 'POST', url: '/api/registration-links', headers: demo.who('pharmacy-a-staff').headers, payload: { counter: 'Comptoir 3' } });
    const token = link.json().url.split('/register/')[1];
    const done = await demo.server.inject({ method: 'POST', url: '/api/self-registrations', headers: { 'x-registration-link': token }, payload: { givenName: 'Capucine', familyName: 'Aubert', birthDate: '1999-09-09', email: 'capucine.aubert@example.org' } });
    expect(done.statusCode, done.body).toBe(201);
    const code = done.json().code as string;
    expect(names(await search('pharmacy-a-staff', { q: code.toLowerCase() }))).toEqual(['Capucine Aubert']);
    expect(names(await search('pharmacy-b-staff', { q: code }))).toEqual([]);
  });

  it('keeps no name in the index, and nothing typed in the audit trail; each patient shown is audited as found by a search', async () => {
    const terms = await demo.app.db.query<{ term: string }>('SELECT term FROM patient_search_term');
    expect(terms.length).toBeGreaterThan(0);
    for (const { term } of terms) expect(term).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const before = (await demo.app.db.query<{ n: string }>('SELECT max(seq)::text AS n FROM audit_event'))[0]!.n;
    const res = await search('pharmacy-a-staff', { q: 'Lefèvre' });
    expect(res.json().items).toHaveLength(1);
    const added = await demo.app.db.query<Record<string, unknown>>('SELECT action, purpose, outcome, resource_id FROM audit_event WHERE seq > $1 ORDER BY seq', [before]);
    expect(added.filter((e) => e.action === 'patient.read')).toEqual([{ action: 'patient.read', purpose: 'search', outcome: 'success', resource_id: res.json().items[0].id }]);
    expect(JSON.stringify(await demo.app.db.query('SELECT * FROM audit_event')).toLowerCase()).not.toContain('lefevre');
  });

  it('refuses what cannot be searched with a clear 400, and refuses searches to anyone but the pharmacy', async () => {
    for (const q of ['', 'a', '!!', 'x'.repeat(101)]) {
      const res = await search('pharmacy-a-staff', { q });
      expect(res.statusCode, q).toBe(400);
      expect(res.json().error.code).toBe('invalid_request');
    }
    expect((await search('pharmacy-a-staff', { q: 'a' })).json().error.issues).toEqual([{ path: 'body.q', code: 'nothing-to-search' }]);
    for (const who of ['patient-camille', 'professional-in-care', 'dpo']) expect((await search(who, { q: 'martin' })).statusCode, who).toBe(403);
    expect((await demo.server.inject({ method: 'POST', url: '/api/patients/search', payload: { q: 'martin' } })).statusCode).toBe(401);
  });

  it('pages through all of a pharmacy\'s patients without losing or repeating one, even registered in the same instant', async () => {
    const staff = (await principalFor(demo.app.db, demo.who('pharmacy-b-staff').id))!;
    // One transaction: the same registration instant for all of them, so order rests on the id.
    await demo.app.uow.run(staff, 'test', async (w) => {
      for (let i = 0; i < 7; i++) await registerPatient(w, { givenName: `Jumeau${i}`, familyName: 'Simultané', birthDate: '2010-05-05' });
    });
    const all = await demo.app.uow.read(staff, 'test', (w) => findTenantPatients(w, { limit: 1000 }));
    const seen: string[] = [];
    let after: string | undefined;
    for (let pages = 0; pages < 20; pages++) {
      const page = await demo.app.uow.read(staff, 'test', (w) => findTenantPatients(w, { limit: 3, ...(after ? { after } : {}) }));
      seen.push(...page.items.map((p) => p.id));
      if (!page.next) break;
      after = page.next;
    }
    expect(seen).toEqual(all.items.map((p) => p.id));
    expect(new Set(seen).size).toBe(seen.length);
    const twins = await demo.app.uow.read(staff, 'test', (w) => findTenantPatients(w, { q: planSearch('simultane'), limit: 4 }));
    expect(twins.items).toHaveLength(4);
    expect(twins.next).not.toBeNull();
    // The API pages the same way; a malformed cursor is a 400, not a 500.
    const api = await demo.server.inject({ url: '/api/patients', headers: demo.who('pharmacy-b-staff').headers });
    expect(api.json().items.map((p: { id: string }) => p.id)).toEqual(all.items.map((p) => p.id));
    expect((await demo.server.inject({ url: '/api/patients?after=2026-01-01', headers: demo.who('pharmacy-b-staff').headers })).statusCode).toBe(400);
  });

  it('indexes records registered before the index existed, at start', async () => {
    await demo.app.db.query(`DELETE FROM patient_search_term WHERE patient_id IN (SELECT id FROM patient WHERE tenant_id = (SELECT tenant_id FROM account WHERE id = $1))`, [demo.who('pharmacy-a-staff').id]);
    expect(names(await search('pharmacy-a-staff', { q: 'camille' }))).toEqual([]);
    expect(await indexUnsearchablePatients(demo.app.db, demo.app.fields, demo.app.keys.lookup)).toBeGreaterThan(3);
    expect(names(await search('pharmacy-a-staff', { q: 'camille' }))).toEqual(['Camille Martin']);
    expect(await indexUnsearchablePatients(demo.app.db, demo.app.fields, demo.app.keys.lookup)).toBe(0);
  });
});
