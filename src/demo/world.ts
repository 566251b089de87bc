import { randomUUID } from 'node:crypto';
import type { App } from '../app.ts';
import type { Actor } from '../domain/work.ts';
import type { Principal } from '../policy/principal.ts';
import { SCOPES } from '../policy/principal.ts';
import { createAccount, findAccountByLogin, principalFor } from '../domain/accounts.ts';
import { registerPatient } from '../domain/patients.ts';
import { recordResult } from '../domain/results.ts';
import { issuePass, issueVaccinationPass } from '../domain/passes.ts';
import { recordVaccination, type VaccinationInput } from '../domain/vaccinations.ts';
import { hashPassword } from '../auth/passwords.ts';
import { createApiKey } from '../auth/api-keys.ts';
import { DEFAULT_KEY_DAYS, revokeKeys } from '../domain/api-keys.ts';
import { createSession } from '../auth/sessions.ts';
import { sessionPolicy } from '../auth/login.ts';

/**
 * The demo world: two pharmacies with staff and API keys, three patients tested at different
 * pharmacies (one at both), a professional with a care relationship and one without, a DPO.
 * Everything is fictitious. TOTP secrets are fixed so the README can explain how to log in.
 */
export const DEMO = {
  tenants: [
    { slug: 'pharmacie-des-tilleuls', name: 'Pharmacie des Tilleuls', kind: 'pharmacy' as const, key: 'pharmacy-a' },
    { slug: 'pharmacie-du-port', name: 'Pharmacie du Port', kind: 'pharmacy' as const, key: 'pharmacy-b' },
  ],
  staff: [
    { name: 'pharmacy-a-staff', login: 'alice@tilleuls.demo', displayName: 'Alice Durand', tenant: 'pharmacy-a', password: 'demo-Alice-2026', totp: 'HUGO274PAFHSG4A7UNZQWWYEVFSS5JTB' },
    { name: 'pharmacy-b-staff', login: 'bruno@port.demo', displayName: 'Bruno Lefèvre', tenant: 'pharmacy-b', password: 'demo-Bruno-2026', totp: 'XX53FZ7H37ZQ26BOIDG36J6OH56QZT6Z' },
  ],
  professionals: [
    { name: 'professional-in-care', login: 'dr.haddad@cabinet.demo', displayName: 'Dr Farida Haddad', password: 'demo-Farida-2026', totp: '3MSRACJ57XMQ7573CSU5G4Q4L36ER7XG', careOf: ['camille'] },
    { name: 'professional-no-care', login: 'dr.moreau@cabinet.demo', displayName: 'Dr Gilles Moreau', password: 'demo-Gilles-2026', totp: 'M2J4AFA4FMPHCRWJAU7IO6ISF2KIT2YJ', careOf: [] as string[] },
  ],
  dpo: { name: 'dpo', login: 'dpo@saufconduit.demo', displayName: 'Hélène Roux', password: 'demo-Helene-2026', totp: 'MYAGYEDWWBB6UT4UH75KJN3V5OEZCMLC' },
  patients: [
    { key: 'camille', name: 'patient-camille', login: 'camille.martin@example.org', givenName: 'Camille', familyName: 'Martin', birthDate: '1990-04-12', ssn: '290047511234560', phone: '+33 6 12 34 56 78', address: '12 rue des Lilas, 75011 Paris', at: ['pharmacy-a'], tests: [{ tenant: 'pharmacy-a', testType: 'antigen' as const, outcome: 'negative' as const }], vaccinations: [{ tenant: 'pharmacy-a', product: 'EU/1/20/1528' as const, doseNumber: 3, seriesDoses: 3, daysAgo: 40 }] },
    { key: 'dominique', name: 'patient-dominique', login: 'dominique.bernard@example.org', givenName: 'Dominique', familyName: 'Bernard', birthDate: '1975-11-30', ssn: undefined, phone: '+33 6 98 76 54 32', address: '3 quai du Port, 13002 Marseille', at: ['pharmacy-b'], tests: [{ tenant: 'pharmacy-b', testType: 'pcr' as const, outcome: 'positive' as const }], vaccinations: [] },
    { key: 'elise', name: 'patient-elise', login: 'elise.petit@example.org', givenName: 'Élise', familyName: 'Petit', birthDate: '2001-02-03', ssn: undefined, phone: undefined, address: undefined, at: ['pharmacy-a', 'pharmacy-b'], tests: [{ tenant: 'pharmacy-a', testType: 'antigen' as const, outcome: 'negative' as const }, { tenant: 'pharmacy-b', testType: 'antigen' as const, outcome: 'negative' as const }], vaccinations: [{ tenant: 'pharmacy-b', product: 'EU/1/20/1507' as const, doseNumber: 2, seriesDoses: 2, daysAgo: 200 }] },
  ],
};

const SEED: Actor = { kind: 'system', id: 'system:demo-seed', role: 'system', tenantId: null };

/** Seeds the demo world once; later calls find it and do nothing. Returns whether it seeded. */
export async function seedDemo(app: App): Promise<boolean> {
  const existing = await app.db.query('SELECT 1 FROM tenant WHERE slug = $1', [DEMO.tenants[0]!.slug]);
  if (existing.length > 0) return false;
  // Fictitious people with published logins never join a store that serves real pharmacies.
  if ((await app.db.query('SELECT 1 FROM tenant LIMIT 1')).length > 0) throw new Error('this store holds real pharmacies: the demo world is never seeded into it');
  // The store now holds fictitious people: `serve` refuses it outside the demo (SAUFCONDUIT_DEMO).
  await app.db.query(`INSERT INTO installation_flag (name) VALUES ('demo-world') ON CONFLICT DO NOTHING`);
  const tenantIds = new Map<string, string>();
  await app.uow.run(SEED, 'demo-seed', async (w) => {
    for (const t of DEMO.tenants) {
      const id = randomUUID();
      tenantIds.set(t.key, id);
      await w.tx.query('INSERT INTO tenant (id, kind, name, slug) VALUES ($1, $2, $3, $4)', [id, t.kind, t.name, t.slug]);
    }
  });
  const accounts = new Map<string, string>();
  const people = [
    ...DEMO.staff.map((s) => ({ ...s, role: 'staff' as const, tenantId: tenantIds.get(s.tenant)! })),
    ...DEMO.professionals.map((p) => ({ ...p, role: 'professional' as const, tenantId: null })),
    { ...DEMO.dpo, role: 'dpo' as const, tenantId: null },
  ];
  const hashes = await Promise.all(people.map((p) => hashPassword(p.password)));
  await app.uow.run(SEED, 'demo-seed', async (w) => {
    for (const [i, p] of people.entries()) {
      const id = await createAccount(w.tx, app.keys, app.fields, { role: p.role, tenantId: p.tenantId, login: p.login, displayName: p.displayName, passwordHash: hashes[i]!, totpSecret: p.totp });
      accounts.set(p.name, id);
      w.record({ action: 'account.create', resourceType: 'Account', resourceId: id, subjectRef: null, purpose: 'administration', outcome: 'success' });
    }
    for (const p of DEMO.patients) {
      const id = await createAccount(w.tx, app.keys, app.fields, { role: 'patient', tenantId: null, login: p.login, displayName: `${p.givenName} ${p.familyName}`, passwordHash: null, totpSecret: null });
      // Known to the operator who seeds them: their spaces hold their records from the start.
      await w.tx.query('UPDATE account SET confirmed_at = $2 WHERE id = $1', [id, w.now]);
      accounts.set(p.name, id);
      w.record({ action: 'account.create', resourceType: 'Account', resourceId: id, subjectRef: null, purpose: 'administration', outcome: 'success' });
    }
  });
  const staffOf = async (tenant: string): Promise<Principal> => (await principalFor(app.db, accounts.get(DEMO.staff.find((s) => s.tenant === tenant)!.name)!))!;
  const day = 86_400_000;
  for (const [n, p] of DEMO.patients.entries()) {
    for (const tenant of p.at) {
      const staff = await staffOf(tenant);
      const patient = await app.uow.run(staff, 'demo-seed', (w) => registerPatient(w, {
        givenName: p.givenName, familyName: p.familyName, birthDate: p.birthDate,
        ...(p.ssn ? { ssn: p.ssn } : {}), ...(p.phone ? { phone: p.phone } : {}), ...(p.address ? { address: p.address } : {}), email: p.login,
      }, { accountId: accounts.get(p.name)! }));
      for (const [k, t] of p.tests.filter((x) => x.tenant === tenant).entries()) {
        const result = await app.uow.run(staff, 'demo-seed', (w) => recordResult(w, patient.id, { testType: t.testType, outcome: t.outcome, sampledAt: new Date(Date.now() - (n + k + 1) * 5 * 3_600_000).toISOString() }, null));
        if (t.outcome === 'negative') await app.uow.run(staff, 'demo-seed', (w) => issuePass(w, app.signer, result.id, 'test'));
      }
      for (const v of (p.vaccinations as readonly { tenant: string; product: VaccinationInput['product']; doseNumber: number; seriesDoses: number; daysAgo: number }[]).filter((x) => x.tenant === tenant)) {
        const administeredOn = new Date(Date.now() - v.daysAgo * day).toISOString().slice(0, 10);
        const vac = await app.uow.run(staff, 'demo-seed', (w) => recordVaccination(w, patient.id, { product: v.product, doseNumber: v.doseNumber, seriesDoses: v.seriesDoses, administeredOn }, null));
        await app.uow.run(staff, 'demo-seed', (w) => issueVaccinationPass(w, app.signer, vac.id));
      }
      for (const pro of DEMO.professionals.filter((x) => x.careOf.includes(p.key))) {
        await app.uow.run(SEED, 'demo-seed', async (w) => {
          await w.tx.query('INSERT INTO care_relationship (professional_id, patient_id, since) VALUES ($1, $2, $3)', [accounts.get(pro.name)!, patient.id, new Date(Date.now() - 30 * day)]);
          w.record({ action: 'care-relationship.create', resourceType: 'CareTeam', resourceId: null, subjectRef: null, purpose: 'care', outcome: 'success' });
        });
      }
    }
  }
  return true;
}

export interface DemoPrincipal {
  name: string;
  role: string;
  headers: { authorization: string };
  canAccess: { patientId: string[]; resultId: string[]; vaccinationId: string[]; documentId: string[]; passId: string[]; apiKeyId: string[]; passkeyId: string[] };
}

/**
 * Fresh credentials for every demo principal, for black-box tests: a full session per person
 * (created directly, as an operator with database access could) and a new API key per pharmacy.
 * `canAccess` is derived from the data's ownership, independently of the policy code.
 */
export async function demoCredentials(app: App): Promise<{ principals: DemoPrincipal[] }> {
  const out: DemoPrincipal[] = [];
  const now = new Date();
  const q = async (sql: string, params: string[]) => (await app.db.query<{ id: string }>(sql, params)).map((r) => r.id).sort();
  const tenantId = async (key: string) => (await app.db.query<{ id: string }>('SELECT id FROM tenant WHERE slug = $1', [DEMO.tenants.find((t) => t.key === key)!.slug]))[0]!.id;
  const passkeysOf = (accountId: string) => q('SELECT ref AS id FROM webauthn_credential WHERE account_id = $1', [accountId]);
  const tenantAccess = async (tid: string, withKeys: boolean, accountId: string | null) => ({
    patientId: await q('SELECT id FROM patient WHERE tenant_id = $1', [tid]),
    resultId: await q('SELECT id FROM test_result WHERE tenant_id = $1', [tid]),
    vaccinationId: await q('SELECT id FROM vaccination WHERE tenant_id = $1', [tid]),
    documentId: await q('SELECT id FROM document WHERE tenant_id = $1', [tid]),
    passId: await q('SELECT id FROM pass WHERE tenant_id = $1', [tid]),
    apiKeyId: withKeys ? await q('SELECT id FROM api_key WHERE tenant_id = $1', [tid]) : [],
    passkeyId: accountId ? await passkeysOf(accountId) : [],
  });
  const session = async (login: string) => {
    const acc = (await findAccountByLogin(app.db, app.keys, login))!;
    return { id: acc.id, token: await createSession(app.db, acc.id, 'full', 'demo-credentials', now, sessionPolicy(app)) };
  };
  for (const t of DEMO.tenants) {
    const tid = await tenantId(t.key);
    // One live demo key per pharmacy: earlier ones are revoked when new credentials are written.
    await revokeKeys(app.db, `tenant_id = $1 AND label = 'demo-credentials'`, [tid], now, 'demo-credentials', 'system:demo-seed');
    const key = await createApiKey(app.db, { id: randomUUID(), tenantId: tid, label: 'demo-credentials', scopes: SCOPES, createdBy: null, expiresAt: new Date(now.getTime() + DEFAULT_KEY_DAYS * 86_400_000) });
    const staff = DEMO.staff.find((s) => s.tenant === t.key)!;
    const s = await session(staff.login);
    out.push({ name: staff.name, role: 'staff', headers: { authorization: `Bearer ${s.token}` }, canAccess: await tenantAccess(tid, true, s.id) });
    out.push({ name: `${t.key}-api-key`, role: 'api-key', headers: { authorization: `Bearer ${key}` }, canAccess: await tenantAccess(tid, false, null) });
  }
  for (const p of DEMO.patients) {
    const s = await session(p.login);
    out.push({
      name: p.name, role: 'patient', headers: { authorization: `Bearer ${s.token}` },
      canAccess: {
        patientId: await q('SELECT id FROM patient WHERE account_id = $1', [s.id]),
        resultId: await q('SELECT r.id FROM test_result r JOIN patient p ON p.id = r.patient_id WHERE p.account_id = $1', [s.id]),
        vaccinationId: await q('SELECT v.id FROM vaccination v JOIN patient p ON p.id = v.patient_id WHERE p.account_id = $1', [s.id]),
        documentId: await q('SELECT d.id FROM document d JOIN patient p ON p.id = d.patient_id WHERE p.account_id = $1', [s.id]),
        passId: await q('SELECT x.id FROM pass x JOIN patient p ON p.id = x.patient_id WHERE p.account_id = $1', [s.id]),
        apiKeyId: [],
        passkeyId: await passkeysOf(s.id),
      },
    });
  }
  for (const pro of DEMO.professionals) {
    const s = await session(pro.login);
    out.push({
      name: pro.name, role: 'professional', headers: { authorization: `Bearer ${s.token}` },
      canAccess: {
        patientId: await q('SELECT patient_id AS id FROM care_relationship WHERE professional_id = $1', [s.id]),
        resultId: await q('SELECT r.id FROM test_result r JOIN care_relationship c ON c.patient_id = r.patient_id WHERE c.professional_id = $1', [s.id]),
        vaccinationId: await q('SELECT v.id FROM vaccination v JOIN care_relationship c ON c.patient_id = v.patient_id WHERE c.professional_id = $1', [s.id]),
        documentId: [],
        passId: [],
        apiKeyId: [],
        passkeyId: await passkeysOf(s.id),
      },
    });
  }
  const d = await session(DEMO.dpo.login);
  out.push({ name: DEMO.dpo.name, role: 'dpo', headers: { authorization: `Bearer ${d.token}` }, canAccess: { patientId: [], resultId: [], vaccinationId: [], documentId: [], passId: [], apiKeyId: [], passkeyId: await passkeysOf(d.id) } });
  return { principals: out };
}
