import { describe, expect, it } from 'vitest';
import { ENGINES } from '../support/engines.ts';
import { useDemoServer } from '../support/demo.ts';
import type { DemoPrincipal } from '../../src/demo/world.ts';
import { UnitOfWork } from '../../src/domain/unit-of-work.ts';
import { hashSecret } from '../../src/crypto/tokens.ts';
import { STEP_UP_MINUTES } from '../../src/policy/authorize.ts';

/**
 * Break-the-glass (professionals issue, points 3, 4 and 6): a professional without a relationship
 * opens one patient's record in an emergency, with a coded reason, a written justification and a
 * recent second factor; for a short time; audited with its reason; the patient told at once by mail
 * and in their history, highlighted; the DPO reviews it; over the daily limit refused until then.
 * Protected records are invisible without a relationship, and opening one raises a high alert at once.
 */
describe.each(ENGINES)('break-the-glass on %s', (engine) => {
  const demo = useDemoServer(engine);
  const get = (url: string, p: DemoPrincipal) => demo.server.inject({ method: 'GET', url, headers: p.headers });
  const post = (url: string, p: DemoPrincipal, payload?: object) => demo.server.inject({ method: 'POST', url, headers: p.headers, ...(payload ? { payload } : {}) });
  const tokenOf = (p: DemoPrincipal) => p.headers.authorization.slice('Bearer '.length);
  const staleSecondFactor = (p: DemoPrincipal) => demo.app.db.query(`UPDATE session SET second_factor_at = now() - interval '1 minute' * $2 WHERE token_hash = $1`, [hashSecret(tokenOf(p)), STEP_UP_MINUTES + 1]);
  const freshSecondFactor = (p: DemoPrincipal) => demo.app.db.query('UPDATE session SET second_factor_at = now() WHERE token_hash = $1', [hashSecret(tokenOf(p))]);
  const justification = 'Unconscious at the emergency department; checking recent results before treatment.';
  /** The demo world's one opening (Dr Moreau on Dominique's protected record) is reviewed first: limits count from here. */
  const review = async (id: string, decision = 'accepted') => post(`/api/break-glass/${id}/review`, demo.who('dpo'), { decision, note: 'Checked with the emergency department.' });

  it('refused without a reason, with a short justification, or with a second factor older than 15 minutes (audited)', async () => {
    const pro = demo.who('professional-no-care');
    const record = demo.who('patient-camille').canAccess.patientId[0]!;
    for (const body of [{ justification }, { reason: 'curiosity', justification }, { reason: 'emergency-care' }, { reason: 'emergency-care', justification: 'too short' }, { reason: 'other', justification: ' '.repeat(30) }]) {
      const res = await post(`/api/patients/${record}/break-glass`, pro, body);
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(res.json().error.code).toBe('invalid_request');
    }
    await staleSecondFactor(pro);
    const stale = await post(`/api/patients/${record}/break-glass`, pro, { reason: 'emergency-care', justification });
    expect(stale.statusCode).toBe(401);
    expect(stale.json().error.code).toBe('step_up_required');
    const [event] = await demo.app.db.query<{ action: string; outcome: string; purpose: string }>('SELECT action, outcome, purpose FROM audit_event WHERE request_id = $1', [String(stale.headers['x-request-id'])]);
    expect(event).toEqual({ action: 'break-glass.open', outcome: 'denied', purpose: 'step-up' });
    expect((await get(`/api/patients/${record}`, pro)).statusCode).toBe(404);
    expect(await demo.app.db.query('SELECT 1 FROM break_glass WHERE patient_id = $1', [record])).toEqual([]);
    await freshSecondFactor(pro);
    // Nobody but a professional breaks the glass.
    for (const who of ['pharmacy-b-staff', 'pharmacy-b-api-key', 'patient-dominique', 'dpo']) {
      expect((await post(`/api/patients/${record}/break-glass`, demo.who(who), { reason: 'emergency-care', justification })).statusCode, who).toBeGreaterThanOrEqual(403);
    }
  });

  it('opens one record for a short time: audited with its reason, the patient told by mail and in their history, highlighted; the DPO reviews it', async () => {
    const pro = demo.who('professional-no-care');
    const camille = demo.who('patient-camille');
    const record = camille.canAccess.patientId[0]!;
    const other = demo.who('patient-elise').canAccess.patientId[0]!;
    const opened = await post(`/api/patients/${record}/break-glass`, pro, { reason: 'patient-unable-to-consent', justification });
    expect(opened.statusCode, opened.body).toBe(201);
    const bg = opened.json();
    expect(bg).toMatchObject({ patientId: record, reason: 'patient-unable-to-consent' });
    expect(Date.parse(bg.expiresAt) - Date.parse(bg.openedAt)).toBe(demo.app.config.breakGlassMinutes * 60_000);
    // The usual record routes answer for that patient, and only that one.
    expect((await get(`/api/patients/${record}`, pro)).statusCode).toBe(200);
    expect((await get(`/api/patients/${record}/results`, pro)).statusCode).toBe(200);
    expect((await get(`/api/results/${camille.canAccess.resultId[0]}`, pro)).statusCode).toBe(200);
    expect((await get(`/api/patients/${other}`, pro)).statusCode).toBe(404);
    // Papers (invoices, passes) stay closed.
    expect((await get(`/api/documents/${camille.canAccess.documentId[0]}`, pro)).statusCode).toBe(404);
    // Audited with the reason, start and reads.
    const events = await demo.app.db.query<{ action: string; purpose: string }>(`SELECT action, purpose FROM audit_event WHERE actor_id = $1 AND outcome = 'success' AND action IN ('break-glass.open', 'patient.read') ORDER BY seq DESC LIMIT 2`, [pro.id]);
    expect(events).toEqual([{ action: 'patient.read', purpose: 'break-glass:patient-unable-to-consent' }, { action: 'break-glass.open', purpose: 'break-glass:patient-unable-to-consent' }]);
    // The patient's history: named professional, machine-readable purpose and reason, highlighted.
    const history = (await get('/api/me/access-log', camille)).json().items as { action: string; purpose: string; reason?: string; highlight: boolean; professional: { name: string; profession: string; organisation: string } | null }[];
    const open = history.find((e) => e.action === 'break-glass.open')!;
    expect(open).toMatchObject({ purpose: 'break-glass', reason: 'patient-unable-to-consent', highlight: true, professional: { name: 'Dr Gilles Moreau', profession: 'physician', organisation: 'Centre hospitalier du Port' } });
    expect(history.find((e) => e.action === 'patient.read' && e.purpose === 'break-glass')).toMatchObject({ reason: 'patient-unable-to-consent', highlight: true });
    // The mail: who, why, until when; no health data, no justification.
    const mail = await demo.app.mail.waitFor((m) => m.to === 'camille.martin@example.org' && /urgence|emergency/i.test(m.subject));
    expect(mail.text).toContain('Dr Gilles Moreau');
    expect(mail.text).toContain('patient unable to consent');
    for (const secret of ['negative', 'négatif', 'antigen', justification]) expect(mail.text).not.toContain(secret);
    // The DPO's review queue shows it with its justification; the review is final and audited.
    const queue = (await get('/api/break-glass', demo.who('dpo'))).json().items as { id: string; justification: string; reviewStatus: string }[];
    expect(queue.find((x) => x.id === bg.id)).toMatchObject({ justification, reviewStatus: 'pending' });
    const done = await review(bg.id);
    expect(done.statusCode, done.body).toBe(200);
    expect(done.json()).toMatchObject({ reviewStatus: 'accepted', reviewNote: 'Checked with the emergency department.' });
    expect((await review(bg.id, 'rejected')).statusCode).toBe(409);
    expect((await get('/api/break-glass', demo.who('dpo'))).json().items.map((x: { id: string }) => x.id)).not.toContain(bg.id);
    // The professional ends it before its time: the next read answers 404.
    const ended = await post(`/api/break-glass/${bg.id}/end`, pro);
    expect(ended.statusCode, ended.body).toBe(200);
    expect(ended.json().endedAt).not.toBeNull();
    expect((await get(`/api/patients/${record}`, pro)).statusCode).toBe(404);
    expect((await post(`/api/break-glass/${bg.id}/end`, demo.who('professional-in-care'))).statusCode).toBe(404);
  });

  it('ends by itself at its expiry (the clock moved past it)', async () => {
    const pro = demo.who('professional-nurse');
    const record = demo.who('patient-elise').canAccess.patientId[0]!;
    const opened = await post(`/api/patients/${record}/break-glass`, pro, { reason: 'covering-colleague', justification });
    expect(opened.statusCode, opened.body).toBe(201);
    expect((await get(`/api/patients/${record}`, pro)).statusCode).toBe(200);
    const justBefore = new Date(Date.parse(opened.json().expiresAt) - 60_000);
    const after = new Date(Date.parse(opened.json().expiresAt) + 1000);
    const uow = demo.app.uow;
    try {
      demo.app.uow = new UnitOfWork(demo.app.db, { fields: demo.app.fields, keys: demo.app.keys, checkpointEvery: 1000, clock: () => justBefore });
      expect((await get(`/api/patients/${record}`, pro)).statusCode).toBe(200);
      demo.app.uow = new UnitOfWork(demo.app.db, { fields: demo.app.fields, keys: demo.app.keys, checkpointEvery: 1000, clock: () => after });
      expect((await get(`/api/patients/${record}`, pro)).statusCode).toBe(404);
    } finally {
      demo.app.uow = uow;
    }
    await review(opened.json().id);
  });

  it('over the daily limit of openings awaiting review: 429 break_glass_limit (audited) until the DPO reviews them', async () => {
    const pro = demo.who('professional-in-care');
    const protectedIds = demo.who('patient-dominique').canAccess.patientId;
    const targets = [...demo.who('pharmacy-b-staff').canAccess.patientId, ...demo.who('pharmacy-a-staff').canAccess.patientId].filter((id) => !protectedIds.includes(id));
    const ids: string[] = [];
    for (let i = 0; i < demo.app.config.breakGlassPerDay; i++) {
      const res = await post(`/api/patients/${targets[i]}/break-glass`, pro, { reason: 'emergency-care', justification });
      expect(res.statusCode, res.body).toBe(201);
      ids.push(res.json().id);
    }
    const over = await post(`/api/patients/${targets[0]}/break-glass`, pro, { reason: 'emergency-care', justification });
    expect(over.statusCode).toBe(429);
    expect(over.json().error.code).toBe('break_glass_limit');
    const [event] = await demo.app.db.query<{ outcome: string; purpose: string }>('SELECT outcome, purpose FROM audit_event WHERE request_id = $1', [String(over.headers['x-request-id'])]);
    expect(event).toEqual({ outcome: 'denied', purpose: 'break-glass-limit' });
    expect((await review(ids[0]!)).statusCode).toBe(200);
    expect((await post(`/api/patients/${targets[0]}/break-glass`, pro, { reason: 'emergency-care', justification })).statusCode).toBe(201);
  });

  it('a protected record: invisible without a relationship (as an unknown id), opened in an emergency with a high alert at once', async () => {
    const dominique = demo.who('patient-dominique');
    const record = dominique.canAccess.patientId[0]!;
    expect((await demo.app.db.query<{ protected: boolean }>('SELECT protected FROM patient WHERE id = $1', [record]))[0]!.protected).toBe(true);
    const pro = demo.who('professional-no-care');
    await freshSecondFactor(pro);
    const unknown = '00000000-0000-4000-8000-000000000000';
    for (const who of ['professional-no-care', 'professional-in-care', 'pharmacy-a-staff', 'pharmacy-a-api-key', 'patient-camille']) {
      const seen = await get(`/api/patients/${record}`, demo.who(who));
      const none = await get(`/api/patients/${unknown}`, demo.who(who));
      expect(seen.statusCode, who).toBe(404);
      expect(seen.json().error, who).toEqual(none.json().error);
    }
    // The nurse in care reads it; in-care reads do not alert by default.
    expect((await get(`/api/patients/${record}`, demo.who('professional-nurse'))).statusCode).toBe(200);
    const before = (await get('/api/alerts', demo.who('dpo'))).json().items as { id: string }[];
    const opened = await post(`/api/patients/${record}/break-glass`, pro, { reason: 'emergency-care', justification });
    expect(opened.statusCode, opened.body).toBe(201);
    const alerts = (await get('/api/alerts', demo.who('dpo'))).json().items as { id: string; rule: string; severity: string; actorId: string; status: string; subjectRefs: string[] }[];
    const high = alerts.find((a) => a.rule === 'break-glass-protected' && a.actorId === pro.id)!;
    expect(high).toMatchObject({ severity: 'high', status: 'open' });
    const [subject] = await demo.app.db.query<{ subject_ref: string }>('SELECT subject_ref FROM patient WHERE id = $1', [record]);
    expect(high.subjectRefs).toContain(subject!.subject_ref);
    expect(before.length).toBeLessThanOrEqual(alerts.length);
    // The holder may lift the protection; nobody else but the DPO may touch it.
    expect((await post(`/api/patients/${record}/protection`, demo.who('patient-camille'), { protected: false })).statusCode).toBe(404);
    expect((await post(`/api/patients/${record}/protection`, demo.who('pharmacy-b-staff'), { protected: false })).statusCode).toBe(404);
    expect((await post(`/api/patients/${record}/protection`, dominique, { protected: false })).json()).toEqual({ patientId: record, protected: false });
    expect((await post(`/api/patients/${record}/protection`, demo.who('dpo'), { protected: true })).json()).toEqual({ patientId: record, protected: true });
  });
});
