import { describe, expect, it } from 'vitest';
import { ENGINES } from '../support/engines.ts';
import { useDemoServer } from '../support/demo.ts';
import { allRoutes } from '../../src/http/routes.ts';
import type { DemoPrincipal } from '../../src/demo/world.ts';

/**
 * Finding 10 (security hardening): role checks inside handlers answered 403 without an audit event
 * (an API key calling POST /api/api-keys, staff opening the patient space…), against invariant 2.
 * Every route that takes a principal is driven here with every demo principal, on ids it may and
 * may not read, with a body the route would accept: every refusal (403, 404) must have left a
 * `denied` event under the request's id, written by the decision point itself.
 */
type Kind = keyof DemoPrincipal['canAccess'];

const today = () => new Date().toISOString().slice(0, 10);
/** A body each route would accept from someone allowed, so that refusals are about who asks, not what. */
const BODIES: Record<string, () => unknown> = {
  'POST /api/patients': () => ({ givenName: 'Rôle', familyName: 'Testeur', birthDate: '1990-01-01' }),
  'POST /pharmacy/patients': () => ({ givenName: 'Rôle', familyName: 'Testeur', birthDate: '1990-01-01' }),
  'POST /api/patients/:patientId/results': () => ({ testType: 'antigen', device: '1232', outcome: 'negative', sampledAt: new Date().toISOString() }),
  'POST /pharmacy/patients/:patientId/results': () => ({ testType: 'antigen', device: '1232', outcome: 'negative', sampledAt: new Date().toISOString() }),
  'POST /api/patients/:patientId/vaccinations': () => ({ product: 'EU/1/20/1528', doseNumber: 1, seriesDoses: 2, administeredOn: today() }),
  'POST /pharmacy/patients/:patientId/vaccinations': () => ({ product: 'EU/1/20/1528', doseNumber: '1', seriesDoses: '2', administeredOn: today() }),
  'POST /api/results/:resultId/passes': () => ({ kind: 'test' }),
  'POST /pharmacy/results/:resultId/passes': () => ({ kind: 'test' }),
  'POST /api/vaccinations/:vaccinationId/passes': () => ({}),
  'POST /pharmacy/vaccinations/:vaccinationId/passes': () => ({ kind: 'vaccination' }),
  'POST /api/api-keys': () => ({ label: 'role test', scopes: ['patients:read'] }),
  'POST /api/registration-links': () => ({ counter: 'Comptoir 1' }),
  'POST /pharmacy/counter/links': () => ({ counter: 'Comptoir 1' }),
  'POST /api/registrations/lookup': () => ({ code: 'ABCD-1234' }),
  'POST /pharmacy/counter/lookup': () => ({ code: 'ABCD-1234' }),
  'POST /api/me/record-offers/:patientId/accept': () => ({ birthDate: '1990-01-01' }),
  'POST /patient/record-offers/:patientId/accept': () => ({ birthDate: '1990-01-01' }),
  'POST /api/patients/:patientId/break-glass': () => ({ reason: 'emergency-care', justification: 'Unconscious at the emergency department, no relative.' }),
  'POST /api/break-glass/:breakGlassId/review': () => ({ decision: 'accepted', note: 'Checked with the emergency department.' }),
  'POST /api/care-relationships': () => ({ patientId: '00000000-0000-4000-8000-000000000000', rpps: '10001234565' }),
  'POST /api/consent-codes': () => ({ patientId: '00000000-0000-4000-8000-000000000000' }),
  'POST /api/consent-codes/accept': () => ({ code: 'ABCD-EFGH' }),
  'POST /api/patients/:patientId/protection': () => ({ protected: true }),
  'POST /api/alerts/:alertId/acknowledge': () => ({ note: 'Looking into it.' }),
  'POST /api/alerts/:alertId/dismiss': () => ({ note: 'Explained.' }),
  'POST /api/alerts/:alertId/confirm': () => ({ note: 'Misuse.' }),
  'POST /api/me/passkeys': () => ({ challengeId: '00000000-0000-4000-8000-000000000000', response: { id: 'x', rawId: 'x', type: 'public-key', response: {} } }),
};

describe.each(ENGINES)('finding 10: no refusal without its audit event, every route × every role, on %s', (engine) => {
  const demo = useDemoServer(engine);

  it('every 403 and 404 answered to a principal was decided and recorded by the decision point', async () => {
    const allIds = {} as Record<Kind, string[]>;
    for (const [kind, table] of [['patientId', 'patient'], ['resultId', 'test_result'], ['vaccinationId', 'vaccination'], ['documentId', 'document'], ['passId', 'pass'], ['apiKeyId', 'api_key']] as const) {
      allIds[kind] = (await demo.app.db.query<{ id: string }>(`SELECT id FROM ${table} ORDER BY id`)).map((r) => r.id);
    }
    allIds.passkeyId = (await demo.app.db.query<{ id: string }>('SELECT ref AS id FROM webauthn_credential ORDER BY ref')).map((r) => r.id);
    for (const [kind, table] of [['relationshipId', 'care_relationship'], ['breakGlassId', 'break_glass'], ['alertId', 'alert']] as const) {
      allIds[kind] = (await demo.app.db.query<{ id: string }>(`SELECT id FROM ${table} ORDER BY id`)).map((r) => r.id);
    }
    // "Log out everywhere" ends the principal's sessions: those routes go last.
    const routes = allRoutes().filter((r) => r.auth === 'principal').sort((a, b) => Number(a.url.endsWith('/lockdown')) - Number(b.url.endsWith('/lockdown')));
    const refusals: string[] = [];
    const unaudited: string[] = [];
    const roles = new Set<string>();
    for (const r of routes) {
      const param = /:([A-Za-z]+)/.exec(r.url)?.[1] as Kind | undefined;
      for (const p of demo.principals) {
        const ids: (string | null)[] = [];
        if (!param) ids.push(null);
        else {
          const mine = p.canAccess[param] ?? [];
          const foreign = (allIds[param] ?? []).filter((id) => !mine.includes(id));
          // Writes only on foreign ids: the matrix must not revoke the keys and passes it still uses.
          if (r.method === 'GET' && mine[0]) ids.push(mine[0]);
          ids.push(foreign[0] ?? '00000000-0000-4000-8000-000000000000');
        }
        for (const id of ids) {
          const url = param && id ? r.url.replace(`:${param}`, id) : r.url;
          const body = BODIES[`${r.method} ${r.url}`]?.();
          const res = await demo.server.inject({ method: r.method, url, headers: p.headers, ...(r.method === 'POST' ? { payload: (body ?? {}) as object } : {}) });
          if (res.statusCode !== 403 && res.statusCode !== 404) continue;
          const where = `${p.name} (${p.role}) ${r.method} ${url} → ${res.statusCode}`;
          refusals.push(where);
          roles.add(p.role);
          const events = await demo.app.db.query<{ outcome: string; purpose: string }>('SELECT outcome, purpose FROM audit_event WHERE request_id = $1', [String(res.headers['x-request-id'])]);
          if (!events.some((e) => e.outcome === 'denied') || events.some((e) => e.purpose === 'outside-decision-point')) unaudited.push(where);
        }
      }
    }
    expect(unaudited).toEqual([]);
    // The matrix really exercised refusals, for every kind of principal.
    expect(refusals.length).toBeGreaterThan(150);
    expect([...roles].sort()).toEqual(['api-key', 'dpo', 'patient', 'professional', 'staff']);
    // The examples the finding named.
    expect(refusals.some((x) => x.includes('(api-key) POST /api/api-keys → 403'))).toBe(true);
    expect(refusals.some((x) => x.includes('(staff) GET /patient → 403'))).toBe(true);
  });
});
