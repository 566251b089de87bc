import { randomUUID } from 'node:crypto';
import type { App } from '../app.ts';
import type { Actor } from '../domain/work.ts';
import type { Principal } from '../policy/principal.ts';
import { SCOPES } from '../policy/principal.ts';
import { createAccount, findAccountByLogin, principalFor } from '../domain/accounts.ts';
import { registerPatient } from '../domain/patients.ts';
import { recordResult } from '../domain/results.ts';
import { issuePass, issueVaccinationPass, reissuePass } from '../domain/passes.ts';
import { recordVaccination, type VaccinationInput } from '../domain/vaccinations.ts';
import { hashPassword } from '../auth/passwords.ts';
import { createApiKey } from '../auth/api-keys.ts';
import { DEFAULT_KEY_DAYS, revokeKeys } from '../domain/api-keys.ts';
import { createSession } from '../auth/sessions.ts';
import { sessionPolicy } from '../auth/login.ts';
import { totpNow } from '../auth/totp.ts';
import { completeEnrolment, createEnrolment } from '../domain/enrolment.ts';
import { acceptConsentCode, carePolicyFrom, createConsentCode, createRelationship } from '../domain/care.ts';
import { breakGlassPolicyFrom, endBreakGlass, openBreakGlass } from '../domain/break-glass.ts';
import { setProtected } from '../domain/patients.ts';
import { rppsFrom } from '../domain/professionals.ts';

/**
 * The demo world: two pharmacies with staff and API keys, three patients tested at different
 * pharmacies (one at both, one whose record is protected), three professionals enrolled the real way
 * (two in care of patients by each route a relationship starts, one who once broke the glass), a
 * DPO. Everything is fictitious. TOTP secrets are fixed so the README can explain how to log in.
 */
export const DEMO = {
  tenants: [
    // Fictitious identifiers of the right shape (the SIRETs pass Luhn, the VAT keys match), printed on invoices.
    { slug: 'pharmacie-des-tilleuls', name: 'Pharmacie des Tilleuls', kind: 'pharmacy' as const, key: 'pharmacy-a',
      address: '12 avenue des Tilleuls, 75011 Paris', siret: '91234567500017', finess: '750100018', vatNumber: 'FR65912345675' },
    { slug: 'pharmacie-du-port', name: 'Pharmacie du Port', kind: 'pharmacy' as const, key: 'pharmacy-b',
      address: '27 quai du Port, 13002 Marseille', siret: '91345678600015', finess: '130100027', vatNumber: 'FR90913456786' },
  ],
  staff: [
    { name: 'pharmacy-a-staff', login: 'alice@tilleuls.demo', displayName: 'Alice Durand', tenant: 'pharmacy-a', password: 'demo-Alice-2026', totp: 'HUGO274PAFHSG4A7UNZQWWYEVFSS5JTB' },
    { name: 'pharmacy-b-staff', login: 'bruno@port.demo', displayName: 'Bruno Lefèvre', tenant: 'pharmacy-b', password: 'demo-Bruno-2026', totp: 'XX53FZ7H37ZQ26BOIDG36J6OH56QZT6Z' },
  ],
  professionals: [
    // In care of Camille (she chose her in her space) and of Élise (who showed her a consent code).
    { name: 'professional-in-care', login: 'dr.haddad@cabinet.demo', displayName: 'Dr Farida Haddad', familyName: 'Haddad', profession: 'physician' as const, rpps: '10003456786', organisation: 'Cabinet médical des Lilas', password: 'demo-Farida-2026', totp: '3MSRACJ57XMQ7573CSU5G4Q4L36ER7XG', chosenBy: ['camille'], codeFrom: ['elise'], seededFor: [] as string[] },
    // In nobody's care: opened Dominique's (protected) record once in an emergency, ended since.
    { name: 'professional-no-care', login: 'dr.moreau@cabinet.demo', displayName: 'Dr Gilles Moreau', familyName: 'Moreau', profession: 'physician' as const, rpps: '10002345675', organisation: 'Centre hospitalier du Port', password: 'demo-Gilles-2026', totp: 'M2J4AFA4FMPHCRWJAU7IO6ISF2KIT2YJ', chosenBy: [] as string[], codeFrom: [] as string[], seededFor: [] as string[] },
    // A nurse put in care of Dominique by the operator who seeded the world.
    { name: 'professional-nurse', login: 'ines.martin@soins.demo', displayName: 'Inès Martin', familyName: 'Martin', profession: 'nurse' as const, rpps: '10001234565', organisation: 'Cabinet infirmier du Port', password: 'demo-Ines-2026!', totp: 'ORILN4QJITUOKKFJ5HPJD5VQUIIODCMN', chosenBy: [] as string[], codeFrom: [] as string[], seededFor: ['dominique'] },
  ],
  dpo: { name: 'dpo', login: 'dpo@saufconduit.demo', displayName: 'Hélène Roux', password: 'demo-Helene-2026', totp: 'MYAGYEDWWBB6UT4UH75KJN3V5OEZCMLC' },
  patients: [
    { key: 'camille', name: 'patient-camille', login: 'camille.martin@example.org', givenName: 'Camille', familyName: 'Martin', birthDate: '1990-04-12', ssn: '290047511234560', phone: '+33 6 12 34 56 78', address: '12 rue des Lilas, 75011 Paris', at: ['pharmacy-a'], tests: [{ tenant: 'pharmacy-a', testType: 'antigen' as const, device: '1232', outcome: 'negative' as const }], vaccinations: [{ tenant: 'pharmacy-a', product: 'EU/1/20/1528' as const, doseNumber: 3, seriesDoses: 3, daysAgo: 40 }] },
    { key: 'dominique', name: 'patient-dominique', login: 'dominique.bernard@example.org', givenName: 'Dominique', familyName: 'Bernard', birthDate: '1975-11-30', ssn: undefined, phone: '+33 6 98 76 54 32', address: '3 quai du Port, 13002 Marseille', at: ['pharmacy-b'], tests: [{ tenant: 'pharmacy-b', testType: 'pcr' as const, outcome: 'positive' as const }, { tenant: 'pharmacy-b', testType: 'antigen' as const, device: '1833', outcome: 'positive' as const }], vaccinations: [] },
    { key: 'elise', name: 'patient-elise', login: 'elise.petit@example.org', givenName: 'Élise', familyName: 'Petit', birthDate: '2001-02-03', ssn: undefined, phone: undefined, address: undefined, at: ['pharmacy-a', 'pharmacy-b'], tests: [{ tenant: 'pharmacy-a', testType: 'antigen' as const, device: '1468', outcome: 'negative' as const }, { tenant: 'pharmacy-b', testType: 'antigen' as const, device: '1833', outcome: 'negative' as const }], vaccinations: [{ tenant: 'pharmacy-b', product: 'EU/1/20/1507' as const, doseNumber: 2, seriesDoses: 2, daysAgo: 200 }] },
  ],
};

const SEED: Actor = { kind: 'system', id: 'system:demo-seed', role: 'system', tenantId: null };
const DAY = 86_400_000;
const CARE = (app: App) => carePolicyFrom(app.config);

/** A principal as if it had just passed its second factor (seeding acts as the people would). */
async function actingAs(app: App, accountId: string): Promise<Principal> {
  const p = (await principalFor(app.db, accountId))!;
  return p.kind === 'account' ? { ...p, secondFactorAt: Date.now() } : p;
}

/**
 * Enrols a professional the way an operator does (`saufconduit account create --role professional`),
 * then completes the enrolment with the published password and a code of the published
 * authenticator secret (the previous 30 s step's, so that logging in at once is no replay).
 */
async function enrolProfessional(app: App, pro: (typeof DEMO.professionals)[number]): Promise<string> {
  const made = await createEnrolment(app, {
    role: 'professional', login: pro.login, displayName: pro.displayName, tenantId: null, totpSecret: pro.totp,
    professional: { profession: pro.profession, rpps: pro.rpps, familyName: pro.familyName, organisation: pro.organisation },
  }, 'demo-seed');
  const token = made.url.slice(made.url.lastIndexOf('/') + 1);
  await completeEnrolment(app, token, pro.password, await totpNow(pro.totp, new Date(Date.now() - 30_000)), 'demo-seed');
  return made.accountId;
}

/**
 * The passes the demo shows the verifier on purpose, one per verdict: Camille's vaccination (green
 * for a year, where a test pass turns red 72 h after its sample), Dominique's positive antigen test (red: authentic, but a positive test admits nobody) and
 * the first pass of Élise's test at the Tilleuls, replaced since as if it had leaked (revoked).
 */
export type DemoPasses = Record<'green' | 'red' | 'revoked', { hc1: string; holder: string; what: string }>;
export const DEMO_PASS_STORY: Record<keyof DemoPasses, { holder: string; what: string }> = {
  green: { holder: 'Camille Martin', what: 'complete vaccination (booster 40 days before the demo was seeded)' },
  red: { holder: 'Dominique Bernard', what: 'positive antigen test: authentic, but it admits nobody' },
  revoked: { holder: 'Élise Petit', what: 'test pass replaced at her request (as if it had leaked), so revoked' },
};

/** Seeds the demo world once; later calls find it and do nothing. Returns its demo passes when it seeded. */
export async function seedDemo(app: App): Promise<DemoPasses | null> {
  const existing = await app.db.query('SELECT 1 FROM tenant WHERE slug = $1', [DEMO.tenants[0]!.slug]);
  if (existing.length > 0) return null;
  // Fictitious people with published logins never join a store that serves real pharmacies.
  if ((await app.db.query('SELECT 1 FROM tenant LIMIT 1')).length > 0) throw new Error('this store holds real pharmacies: the demo world is never seeded into it');
  // The store now holds fictitious people: `serve` refuses it outside the demo (SAUFCONDUIT_DEMO).
  await app.db.query(`INSERT INTO installation_flag (name) VALUES ('demo-world') ON CONFLICT DO NOTHING`);
  const tenantIds = new Map<string, string>();
  await app.uow.run(SEED, 'demo-seed', async (w) => {
    for (const t of DEMO.tenants) {
      const id = randomUUID();
      tenantIds.set(t.key, id);
      await w.tx.query('INSERT INTO tenant (id, kind, name, slug, address, siret, finess, vat_number) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
        [id, t.kind, t.name, t.slug, t.address, t.siret, t.finess, t.vatNumber]);
    }
  });
  const accounts = new Map<string, string>();
  const people = [
    ...DEMO.staff.map((s) => ({ ...s, role: 'staff' as const, tenantId: tenantIds.get(s.tenant)! })),
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
  for (const pro of DEMO.professionals) accounts.set(pro.name, await enrolProfessional(app, pro));
  const staffOf = async (tenant: string): Promise<Principal> => (await principalFor(app.db, accounts.get(DEMO.staff.find((s) => s.tenant === tenant)!.name)!))!;
  const firstRecord = new Map<string, string>();
  const firstPass = new Map<string, { id: string; hc1: string }>();
  const vaccinationPass = new Map<string, { id: string; hc1: string }>();
  for (const [n, p] of DEMO.patients.entries()) {
    for (const tenant of p.at) {
      const staff = await staffOf(tenant);
      const patient = await app.uow.run(staff, 'demo-seed', (w) => registerPatient(w, {
        givenName: p.givenName, familyName: p.familyName, birthDate: p.birthDate,
        ...(p.ssn ? { ssn: p.ssn } : {}), ...(p.phone ? { phone: p.phone } : {}), ...(p.address ? { address: p.address } : {}), email: p.login,
      }, { accountId: accounts.get(p.name)! }));
      if (!firstRecord.has(p.key)) firstRecord.set(p.key, patient.id);
      for (const [k, t] of p.tests.filter((x) => x.tenant === tenant).entries()) {
        const result = await app.uow.run(staff, 'demo-seed', (w) => recordResult(w, patient.id, { testType: t.testType, ...('device' in t ? { device: t.device } : {}), outcome: t.outcome, sampledAt: new Date(Date.now() - (n + k + 1) * 5 * 3_600_000).toISOString() }, null));
        // A negative test gives a pass; so does a positive antigen test (the certificate states the
        // result; verifiers refuse it), which the demo keeps to show a red verdict.
        if (t.outcome === 'negative' || t.testType === 'antigen') {
          const pass = await app.uow.run(staff, 'demo-seed', (w) => issuePass(w, app.signer, result.id, 'test'));
          if (!firstPass.has(p.key)) firstPass.set(p.key, pass);
        }
      }
      for (const v of (p.vaccinations as readonly { tenant: string; product: VaccinationInput['product']; doseNumber: number; seriesDoses: number; daysAgo: number }[]).filter((x) => x.tenant === tenant)) {
        const administeredOn = new Date(Date.now() - v.daysAgo * DAY).toISOString().slice(0, 10);
        const vac = await app.uow.run(staff, 'demo-seed', (w) => recordVaccination(w, patient.id, { product: v.product, doseNumber: v.doseNumber, seriesDoses: v.seriesDoses, administeredOn }, null));
        const pass = await app.uow.run(staff, 'demo-seed', (w) => issueVaccinationPass(w, app.signer, vac.id));
        if (!vaccinationPass.has(p.key)) vaccinationPass.set(p.key, pass);
      }
    }
  }
  // Care relationships of each origin, made as the people would make them.
  const patientOf = (key: string) => accounts.get(DEMO.patients.find((p) => p.key === key)!.name)!;
  for (const pro of DEMO.professionals) {
    const proId = accounts.get(pro.name)!;
    for (const key of pro.chosenBy) {
      await app.uow.run(await actingAs(app, patientOf(key)), 'demo-seed', (w) => createRelationship(w, CARE(app), { patientId: firstRecord.get(key)!, rpps: pro.rpps }));
    }
    for (const key of pro.codeFrom) {
      const { code } = await app.uow.run(await actingAs(app, patientOf(key)), 'demo-seed', (w) => createConsentCode(w, CARE(app), { patientId: firstRecord.get(key)! }));
      await app.uow.run(await actingAs(app, proId), 'demo-seed', (w) => acceptConsentCode(w, CARE(app), code));
    }
    for (const key of pro.seededFor) await seedRelationship(app, proId, firstRecord.get(key)!, CARE(app).defaultDays);
  }
  // Dominique's record is protected (the public figure's case); Dr Moreau once opened it in an
  // emergency (which raised a high alert for the DPO and waits for review), and closed it since.
  const dominique = firstRecord.get('dominique')!;
  await app.uow.run(await actingAs(app, patientOf('dominique')), 'demo-seed', (w) => setProtected(w, dominique, true));
  const moreau = await actingAs(app, accounts.get('professional-no-care')!);
  const opened = await app.uow.run(moreau, 'demo-seed', (w) => openBreakGlass(w, breakGlassPolicyFrom(app.config), dominique,
    { reason: 'patient-unable-to-consent', justification: 'Brought to the emergency department unconscious; checking recent test results.' }));
  await app.uow.run(moreau, 'demo-seed', (w) => endBreakGlass(w, opened.view.id));
  // Élise asks the Tilleuls for a new QR code of her first test pass (as if a photo of it had circulated).
  const leaked = firstPass.get('elise')!;
  await app.uow.run(await actingAs(app, accounts.get('pharmacy-a-staff')!), 'demo-seed', (w) => reissuePass(w, app.signer, leaked.id));
  const story = (k: keyof DemoPasses, hc1: string) => ({ hc1, ...DEMO_PASS_STORY[k] });
  return { green: story('green', vaccinationPass.get('camille')!.hc1), red: story('red', firstPass.get('dominique')!.hc1), revoked: story('revoked', leaked.hc1) };
}

/** A relationship put in place by the operator who seeds the world (origin `seed`), audited as such. */
async function seedRelationship(app: App, professionalId: string, patientId: string, days: number): Promise<void> {
  await app.uow.run(SEED, 'demo-seed', async (w) => {
    const id = randomUUID();
    const [p] = await w.tx.query<{ subject_ref: string }>('SELECT subject_ref FROM patient WHERE id = $1', [patientId]);
    await w.tx.query(`INSERT INTO care_relationship (id, professional_id, patient_id, since, until, origin, purpose, created_by) VALUES ($1, $2, $3, $4, $5, 'seed', 'care', $6)`,
      [id, professionalId, patientId, w.now, new Date(w.now.getTime() + days * DAY), SEED.id]);
    w.record({ action: 'care.create', resourceType: 'CareTeam', resourceId: id, subjectRef: p!.subject_ref, purpose: 'seed', outcome: 'success' });
  });
}

// Common French names: drawn for the crowd, so that some professionals share a family name with
// some patients (what the same-surname alert rule is about).
const GIVEN = ['Camille', 'Léa', 'Manon', 'Chloé', 'Inès', 'Sarah', 'Jade', 'Louise', 'Emma', 'Alice', 'Lucas', 'Hugo', 'Louis', 'Gabriel', 'Arthur', 'Jules', 'Nathan', 'Paul', 'Adam', 'Yanis', 'Karim', 'Fatou', 'Mei', 'Nour'];
const FAMILY = ['Martin', 'Bernard', 'Thomas', 'Petit', 'Robert', 'Richard', 'Durand', 'Dubois', 'Moreau', 'Laurent', 'Simon', 'Michel', 'Lefebvre', 'Leroy', 'Roux', 'David', 'Bertrand', 'Morel', 'Fournier', 'Girard',
  'Bonnet', 'Dupont', 'Lambert', 'Fontaine', 'Rousseau', 'Vincent', 'Muller', 'Lefèvre', 'Faure', 'André', 'Mercier', 'Blanc', 'Guérin', 'Boyer', 'Garnier', 'Chevalier', 'François', 'Legrand', 'Gauthier', 'Garcia',
  'Perrin', 'Robin', 'Clément', 'Morin', 'Nicolas', 'Henry', 'Roussel', 'Mathieu', 'Gautier', 'Masson', 'Marchand', 'Duval', 'Denis', 'Dumont', 'Marie', 'Lemaire', 'Noël', 'Meyer', 'Dufour', 'Meunier'];
const PROFESSIONS_DRAWN = ['physician', 'physician', 'physician', 'nurse', 'nurse', 'pharmacist', 'physiotherapist', 'midwife', 'dentist'] as const;

/** A small deterministic generator (mulberry32): the same crowd for the same sizes and seed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Adds a crowd to the demo world (load and alert scenarios): `professionals` professionals enrolled
 * the real way, and `patients` patients spread over the pharmacies (at least 300 at the first one
 * when there are 400 or more), each with a space, one result and its invoice, and in the care of 1 to 3
 * professionals. Fast: patients go in by the hundred per transaction, through the domain's own
 * functions (every record audited like any other).
 */
export async function seedCrowd(app: App, size: { professionals: number; patients: number }, seed = 2026): Promise<{ professionals: number; patients: number }> {
  const rnd = random(seed + size.professionals * 7919 + size.patients);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const run = randomUUID().slice(0, 8);
  const pros: string[] = [];
  // Enrolment links are never completed for the crowd: `demo --credentials` writes their sessions.
  for (let i = 0; i < size.professionals; i++) {
    const given = pick(GIVEN);
    const family = pick(FAMILY);
    const profession = pick(PROFESSIONS_DRAWN);
    const made = await createEnrolment(app, {
      role: 'professional', login: `pro-${run}-${i}@crowd.demo`, displayName: `${profession === 'physician' ? 'Dr ' : ''}${given} ${family}`, tenantId: null,
      professional: { profession, rpps: rppsFrom(`2${String(Math.floor(rnd() * 1e9)).padStart(9, '0')}`), familyName: family, organisation: `${pick(['Cabinet', 'Centre de santé', 'Maison de santé'])} ${pick(FAMILY)}` },
    }, 'demo-crowd').catch(async (err: Error) => {
      // Two drawn RPPS numbers may collide: draw again once.
      if (!/RPPS/.test(err.message)) throw err;
      return createEnrolment(app, { role: 'professional', login: `pro-${run}-${i}b@crowd.demo`, displayName: `${given} ${family}`, tenantId: null,
        professional: { profession, rpps: rppsFrom(`3${String(Math.floor(rnd() * 1e9)).padStart(9, '0')}`), familyName: family } }, 'demo-crowd');
    });
    pros.push(made.accountId);
  }
  const tenants = await app.db.query<{ id: string }>('SELECT t.id FROM tenant t ORDER BY (SELECT min(created_at) FROM patient p WHERE p.tenant_id = t.id) NULLS LAST, t.slug DESC');
  const staffRows = await app.db.query<{ id: string; tenant_id: string }>(`SELECT id, tenant_id FROM account WHERE role = 'staff' AND disabled_at IS NULL ORDER BY id`);
  const staffOf = new Map<string, string>();
  for (const r of staffRows) if (!staffOf.has(r.tenant_id)) staffOf.set(r.tenant_id, r.id);
  const served = tenants.filter((t) => staffOf.has(t.id));
  if (served.length === 0 && size.patients > 0) throw new Error('the crowd needs a pharmacy with staff: seed the demo world first');
  // The first pharmacy takes three quarters when there are 400 or more (a pharmacy of 300+ patients).
  const first = size.patients >= 400 ? Math.max(300, Math.ceil(size.patients * 0.75)) : Math.ceil(size.patients / served.length);
  const perTenant = served.map((_, i) => (i === 0 ? Math.min(first, size.patients) : 0));
  for (let left = size.patients - perTenant[0]!, i = 1; left > 0; i = i % Math.max(1, served.length - 1) + 1) {
    if (served.length === 1) {
      perTenant[0]! += left;
      break;
    }
    perTenant[i]! += 1;
    left -= 1;
  }
  const CHUNK = 100;
  let made = 0;
  for (const [t, tenant] of served.entries()) {
    const staff = (await principalFor(app.db, staffOf.get(tenant.id)!))!;
    for (let done = 0; done < perTenant[t]!; done += CHUNK) {
      const n = Math.min(CHUNK, perTenant[t]! - done);
      const people = Array.from({ length: n }, (_, k) => {
        const given = pick(GIVEN);
        const family = pick(FAMILY);
        const born = new Date(Date.UTC(1940 + Math.floor(rnd() * 65), Math.floor(rnd() * 12), 1 + Math.floor(rnd() * 28))).toISOString().slice(0, 10);
        return { given, family, born, login: `${given}.${family}.${run}-${t}-${done + k}`.normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase().replace(/[^a-z0-9.-]/g, '') + '@example.org' };
      });
      const created = await app.uow.run(SEED, 'demo-crowd', async (w) => {
        const ids: string[] = [];
        for (const p of people) {
          const id = await createAccount(w.tx, app.keys, app.fields, { role: 'patient', tenantId: null, login: p.login, displayName: `${p.given} ${p.family}`, passwordHash: null, totpSecret: null });
          await w.tx.query('UPDATE account SET confirmed_at = $2 WHERE id = $1', [id, w.now]);
          w.record({ action: 'account.create', resourceType: 'Account', resourceId: id, subjectRef: null, purpose: 'administration', outcome: 'success' });
          ids.push(id);
        }
        return ids;
      });
      const records = await app.uow.run(staff, 'demo-crowd', async (w) => {
        const out: string[] = [];
        for (const [k, p] of people.entries()) {
          const patient = await registerPatient(w, { givenName: p.given, familyName: p.family, birthDate: p.born, email: p.login }, { accountId: created[k]! });
          await recordResult(w, patient.id, { ...(rnd() < 0.7 ? { testType: 'antigen' as const, device: '1232' } : { testType: 'pcr' as const }), outcome: rnd() < 0.85 ? 'negative' : 'positive', sampledAt: new Date(Date.now() - Math.floor(rnd() * 48) * 3_600_000 - 3_600_000).toISOString() }, null);
          out.push(patient.id);
        }
        return out;
      });
      if (pros.length > 0) {
        await app.uow.run(SEED, 'demo-crowd', async (w) => {
          const subjects = await w.tx.query<{ id: string; subject_ref: string }>(`SELECT id, subject_ref FROM patient WHERE id = ANY(string_to_array($1, ',')::uuid[])`, [records.join(',')]);
          for (const r of subjects) {
            const team = new Set<string>();
            const want = 1 + Math.floor(rnd() * 3);
            while (team.size < Math.min(want, pros.length)) team.add(pick(pros));
            for (const pro of team) {
              const id = randomUUID();
              await w.tx.query(`INSERT INTO care_relationship (id, professional_id, patient_id, since, until, origin, purpose, created_by) VALUES ($1, $2, $3, $4, $5, 'seed', 'care', $6)`,
                [id, pro, r.id, w.now, new Date(w.now.getTime() + app.config.careDefaultDays * DAY), SEED.id]);
              w.record({ action: 'care.create', resourceType: 'CareTeam', resourceId: id, subjectRef: r.subject_ref, purpose: 'seed', outcome: 'success' });
            }
          }
        });
      }
      made += n;
    }
  }
  return { professionals: pros.length, patients: made };
}

export interface DemoPrincipal {
  name: string;
  role: string;
  /** The account id (the API key's id for an API key): the `actorId` of its audit events and alerts. */
  id: string;
  /** The person's name as shown (the pharmacy's name for an API key). */
  displayName: string;
  headers: { authorization: string };
  canAccess: {
    patientId: string[]; resultId: string[]; vaccinationId: string[]; documentId: string[]; passId: string[]; apiKeyId: string[]; passkeyId: string[];
    relationshipId: string[]; breakGlassId: string[]; alertId: string[];
  };
}

export interface DemoCredentials {
  principals: DemoPrincipal[];
  /** Records marked protected (break-the-glass on them raises a high alert at once). */
  protectedPatientIds: string[];
}

type Access = DemoPrincipal['canAccess'];
const group = (rows: { k: string; id: string }[]) => {
  const m = new Map<string, string[]>();
  for (const r of rows) m.set(r.k, [...(m.get(r.k) ?? []), r.id]);
  for (const v of m.values()) v.sort();
  return (k: string) => m.get(k) ?? [];
};

/**
 * Fresh credentials for every principal of the demo store, for black-box tests: a full session per
 * person (created directly, as an operator with database access could; it counts as having passed its
 * second factor now) and a new API key per pharmacy. `canAccess` is derived from the data's
 * ownership, independently of the policy code. Every staff member, professional, patient and DPO of
 * the store is listed: the fixed demo people under their names, a crowd (seedCrowd) numbered.
 */
export async function demoCredentials(app: App): Promise<DemoCredentials> {
  const out: DemoPrincipal[] = [];
  const now = new Date();
  const q = async (sql: string, params: unknown[] = []) => group(await app.db.query<{ k: string; id: string }>(sql, params as string[]));
  const policy = sessionPolicy(app);
  // Ownership, grouped once (a crowd of thousands is a few queries, not thousands).
  const byTenant = {
    patientId: await q('SELECT tenant_id::text AS k, id::text FROM patient'),
    resultId: await q('SELECT tenant_id::text AS k, id::text FROM test_result'),
    vaccinationId: await q('SELECT tenant_id::text AS k, id::text FROM vaccination'),
    documentId: await q('SELECT tenant_id::text AS k, id::text FROM document'),
    passId: await q('SELECT tenant_id::text AS k, id::text FROM pass'),
  };
  const byHolder = {
    patientId: await q('SELECT account_id::text AS k, id::text FROM patient WHERE account_id IS NOT NULL'),
    resultId: await q('SELECT p.account_id::text AS k, r.id::text FROM test_result r JOIN patient p ON p.id = r.patient_id WHERE p.account_id IS NOT NULL'),
    vaccinationId: await q('SELECT p.account_id::text AS k, v.id::text FROM vaccination v JOIN patient p ON p.id = v.patient_id WHERE p.account_id IS NOT NULL'),
    documentId: await q('SELECT p.account_id::text AS k, d.id::text FROM document d JOIN patient p ON p.id = d.patient_id WHERE p.account_id IS NOT NULL'),
    passId: await q('SELECT p.account_id::text AS k, x.id::text FROM pass x JOIN patient p ON p.id = x.patient_id WHERE p.account_id IS NOT NULL'),
    relationshipId: await q('SELECT p.account_id::text AS k, c.id::text FROM care_relationship c JOIN patient p ON p.id = c.patient_id WHERE p.account_id IS NOT NULL'),
  };
  // A professional reads the records in their care now, or opened in an emergency now.
  const reach = `(SELECT professional_id, patient_id FROM care_relationship WHERE since <= $1 AND until > $1
                  UNION SELECT professional_id, patient_id FROM break_glass WHERE opened_at <= $1 AND expires_at > $1 AND ended_at IS NULL)`;
  const byProfessional = {
    patientId: await q(`SELECT DISTINCT c.professional_id::text AS k, c.patient_id::text AS id FROM ${reach} c`, [now]),
    resultId: await q(`SELECT DISTINCT c.professional_id::text AS k, r.id::text FROM ${reach} c JOIN test_result r ON r.patient_id = c.patient_id`, [now]),
    vaccinationId: await q(`SELECT DISTINCT c.professional_id::text AS k, v.id::text FROM ${reach} c JOIN vaccination v ON v.patient_id = c.patient_id`, [now]),
    relationshipId: await q('SELECT professional_id::text AS k, id::text FROM care_relationship'),
    breakGlassId: await q('SELECT professional_id::text AS k, id::text FROM break_glass'),
  };
  const passkeys = await q('SELECT account_id::text AS k, ref AS id FROM webauthn_credential');
  const everything = async (table: string) => (await app.db.query<{ id: string }>(`SELECT id::text FROM ${table} ORDER BY id`)).map((r) => r.id);
  const none = (): Access => ({ patientId: [], resultId: [], vaccinationId: [], documentId: [], passId: [], apiKeyId: [], passkeyId: [], relationshipId: [], breakGlassId: [], alertId: [] });

  const accounts = await app.db.query<{ id: string; role: string; tenant_id: string | null; login_enc: string; display_name_enc: string }>(
    `SELECT id::text, role, tenant_id::text, login_enc, display_name_enc FROM account WHERE disabled_at IS NULL AND role IN ('staff', 'professional', 'patient', 'dpo') ORDER BY created_at, id`);
  const fixed = new Map<string, string>([...DEMO.staff, ...DEMO.professionals, ...DEMO.patients, DEMO.dpo].map((p) => [p.login, p.name]));
  const counters = new Map<string, number>();
  const sessions: { token: string; accountId: string }[] = [];
  // Sessions by the hundred per transaction.
  for (let i = 0; i < accounts.length; i += 200) {
    await app.db.transaction(async (tx) => {
      for (const a of accounts.slice(i, i + 200)) sessions.push({ accountId: a.id, token: await createSession(tx, a.id, 'full', 'demo-credentials', now, policy) });
    });
  }
  const tokenOf = new Map(sessions.map((s) => [s.accountId, s.token]));
  const tenantNames = new Map((await app.db.query<{ id: string; name: string; slug: string }>('SELECT id::text, name, slug FROM tenant')).map((t) => [t.id, t]));
  const allBreakGlass = await everything('break_glass');
  const allAlerts = await everything('alert');

  for (const t of DEMO.tenants) {
    const tid = [...tenantNames.values()].find((x) => x.slug === t.slug)?.id;
    if (!tid) continue;
    // One live demo key per pharmacy: earlier ones are revoked when new credentials are written.
    await revokeKeys(app.db, `tenant_id = $1 AND label = 'demo-credentials'`, [tid], now, 'demo-credentials', 'system:demo-seed');
    const keyId = randomUUID();
    const key = await createApiKey(app.db, { id: keyId, tenantId: tid, label: 'demo-credentials', scopes: SCOPES, createdBy: null, expiresAt: new Date(now.getTime() + DEFAULT_KEY_DAYS * 86_400_000) });
    const keysOf = await q('SELECT tenant_id::text AS k, id::text FROM api_key');
    const tenantAccess = (withKeys: boolean): Access => ({
      ...none(), patientId: byTenant.patientId(tid), resultId: byTenant.resultId(tid), vaccinationId: byTenant.vaccinationId(tid), documentId: byTenant.documentId(tid), passId: byTenant.passId(tid),
      apiKeyId: withKeys ? keysOf(tid) : [],
    });
    for (const a of accounts.filter((x) => x.role === 'staff' && x.tenant_id === tid)) {
      out.push(person(a, 'staff', { ...tenantAccess(true), passkeyId: passkeys(a.id) }));
    }
    out.push({ name: `${t.key}-api-key`, role: 'api-key', id: keyId, displayName: t.name, headers: { authorization: `Bearer ${key}` }, canAccess: tenantAccess(false) });
  }
  for (const a of accounts.filter((x) => x.role === 'patient')) {
    out.push(person(a, 'patient', {
      ...none(), patientId: byHolder.patientId(a.id), resultId: byHolder.resultId(a.id), vaccinationId: byHolder.vaccinationId(a.id), documentId: byHolder.documentId(a.id),
      passId: byHolder.passId(a.id), passkeyId: passkeys(a.id), relationshipId: byHolder.relationshipId(a.id),
    }));
  }
  for (const a of accounts.filter((x) => x.role === 'professional')) {
    out.push(person(a, 'professional', {
      ...none(), patientId: byProfessional.patientId(a.id), resultId: byProfessional.resultId(a.id), vaccinationId: byProfessional.vaccinationId(a.id),
      passkeyId: passkeys(a.id), relationshipId: byProfessional.relationshipId(a.id), breakGlassId: byProfessional.breakGlassId(a.id),
    }));
  }
  for (const a of accounts.filter((x) => x.role === 'dpo')) out.push(person(a, 'dpo', { ...none(), passkeyId: passkeys(a.id), breakGlassId: allBreakGlass, alertId: allAlerts }));
  const protectedPatientIds = (await app.db.query<{ id: string }>('SELECT id::text FROM patient WHERE protected ORDER BY id')).map((r) => r.id);
  return { principals: out, protectedPatientIds };

  function person(a: (typeof accounts)[number], role: string, canAccess: Access): DemoPrincipal {
    const login = app.fields.decrypt(`account.login:${a.id}`, a.login_enc);
    let name = fixed.get(login);
    if (!name) {
      const n = (counters.get(role) ?? 0) + 1;
      counters.set(role, n);
      name = `${role}-${String(n).padStart(4, '0')}`;
    }
    return { name, role, id: a.id, displayName: app.fields.decrypt(`account.display_name:${a.id}`, a.display_name_enc), headers: { authorization: `Bearer ${tokenOf.get(a.id)!}` }, canAccess };
  }
}
