import { describe, expect, it } from 'vitest';
import { ENGINES } from '../support/engines.ts';
import { useDemoServer } from '../support/demo.ts';
import { DEMO, type DemoPrincipal } from '../../src/demo/world.ts';
import { MAX_ACCEPT_FAILURES } from '../../src/domain/record-offers.ts';
import { sendResultNotification } from '../../src/notify/result-available.ts';
import { MemoryMailer } from '../../src/notify/mailer.ts';

/**
 * A record registered with the e-mail of an existing patient account is offered to that account,
 * never attached to it: a mistyped (or someone else's) address must not show a stranger's record in
 * a patient's space. The holder sees the offer (pharmacy and date only) and accepts it with the
 * record's birth date, or declines it.
 */
const camille = DEMO.patients.find((p) => p.key === 'camille')!;
const STRANGER = { givenName: 'Bastien', familyName: 'Ferrand', birthDate: '1968-03-21', email: camille.login };

describe.each(ENGINES)('records offered to an existing patient account on %s', (engine) => {
  const demo = useDemoServer(engine);
  const register = async (body: object = STRANGER) => {
    const res = await demo.server.inject({ method: 'POST', url: '/api/patients', headers: demo.who('pharmacy-b-staff').headers, payload: body });
    expect(res.statusCode, res.body).toBe(201);
    return (res.json() as { id: string }).id;
  };
  const offers = async (p: DemoPrincipal) => {
    const res = await demo.server.inject({ method: 'GET', url: '/api/me/record-offers', headers: p.headers });
    expect(res.statusCode, res.body).toBe(200);
    return (res.json() as { items: { patientId: string; pharmacy: string; offeredAt: string }[] }).items;
  };
  const answer = (p: DemoPrincipal, id: string, verb: 'accept' | 'decline', birthDate?: string) =>
    demo.server.inject({ method: 'POST', url: `/api/me/record-offers/${id}/${verb}`, headers: p.headers, ...(verb === 'accept' ? { payload: { birthDate } } : {}) });
  const row = async (id: string) =>
    (await demo.app.db.query<{ account_id: string | null; offered_to: string | null }>('SELECT account_id, offered_to FROM patient WHERE id = $1', [id]))[0]!;
  const read = (p: DemoPrincipal, id: string) => demo.server.inject({ method: 'GET', url: `/api/patients/${id}`, headers: p.headers });
  /** The pharmacy records a result for the record; its notification is sent: the receipt and the mails. */
  const notifyNewResult = async (id: string, outcome: 'negative' | 'positive') => {
    const res = await demo.server.inject({ method: 'POST', url: `/api/patients/${id}/results`, headers: demo.who('pharmacy-b-staff').headers, payload: { testType: 'antigen', device: '1232', outcome, sampledAt: new Date(Date.now() - 60_000).toISOString() } });
    expect(res.statusCode, res.body).toBe(201);
    const [note] = await demo.app.db.query<{ id: string }>(`SELECT id FROM outbox WHERE kind = 'notification' AND result_id = $1`, [res.json().id]);
    const mailer = new MemoryMailer();
    const receipt = await sendResultNotification({ uow: demo.app.uow, fields: demo.app.fields, mailer, publicUrl: 'https://saufconduit.example' }, note!.id);
    return { receipt, mails: mailer.sent };
  };

  it('registering with the e-mail of an existing account offers the record; it is not in that space until accepted with its birth date', async () => {
    const me = demo.who('patient-camille');
    const other = demo.who('patient-dominique');
    const id = await register();
    const stored = await row(id);
    expect(stored.account_id).toBeNull();
    expect(stored.offered_to).not.toBeNull();

    // Not readable, not listed: only offered, with the pharmacy and the date and nothing of the record.
    expect((await read(me, id)).statusCode).toBe(404);
    const listed = await demo.server.inject({ method: 'GET', url: '/api/patients', headers: me.headers });
    expect(listed.body).not.toContain(id);
    const mine = await offers(me);
    expect(mine.map((o) => o.patientId)).toEqual([id]);
    expect(mine[0]!.pharmacy).toBe('Pharmacie du Port');
    const raw = JSON.stringify(mine);
    for (const secret of [STRANGER.givenName, STRANGER.familyName, STRANGER.birthDate]) expect(raw).not.toContain(secret);

    // Nobody else sees or answers the offer; they cannot tell it from a record that does not exist.
    expect(await offers(other)).toEqual([]);
    for (const verb of ['accept', 'decline'] as const) {
      const res = await answer(other, id, verb, STRANGER.birthDate);
      expect(res.statusCode).toBe(404);
      expect((await answer(other, '00000000-0000-4000-8000-000000000000', verb, STRANGER.birthDate)).json().error).toEqual(res.json().error);
    }
    expect((await answer(demo.who('pharmacy-b-staff'), id, 'accept', STRANGER.birthDate)).statusCode).toBe(404);

    // A wrong birth date changes nothing and is audited as a failure.
    const wrong = await answer(me, id, 'accept', '1990-04-12');
    expect(wrong.statusCode).toBe(422);
    expect(wrong.json().error.code).toBe('offer_mismatch');
    expect(await row(id)).toEqual(stored);
    const [failure] = await demo.app.db.query<{ outcome: string }>(`SELECT outcome FROM audit_event WHERE resource_id = $1 AND action = 'record-offer.accept' ORDER BY seq DESC LIMIT 1`, [id]);
    expect(failure).toEqual({ outcome: 'failure' });

    // The right one attaches it: now readable by its holder, and no longer offered.
    const ok = await answer(me, id, 'accept', STRANGER.birthDate);
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json()).toEqual({ patientId: id, status: 'accepted' });
    expect((await read(me, id)).statusCode).toBe(200);
    expect(await offers(me)).toEqual([]);
    expect((await answer(me, id, 'accept', STRANGER.birthDate)).statusCode).toBe(404);
  });

  it('declining leaves the record at its pharmacy, in nobody\'s space', async () => {
    const me = demo.who('patient-camille');
    const id = await register({ ...STRANGER, givenName: 'Octave' });
    const res = await answer(me, id, 'decline');
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({ patientId: id, status: 'declined' });
    expect(await row(id)).toEqual({ account_id: null, offered_to: null });
    expect((await read(me, id)).statusCode).toBe(404);
    expect((await read(demo.who('pharmacy-b-staff'), id)).statusCode).toBe(200);
    const [event] = await demo.app.db.query<{ action: string; outcome: string }>(`SELECT action, outcome FROM audit_event WHERE resource_id = $1 AND action LIKE 'record-offer.%' ORDER BY seq DESC LIMIT 1`, [id]);
    expect(event).toEqual({ action: 'record-offer.decline', outcome: 'success' });

    // A later result of the declined record e-mails nobody: it is in no patient space.
    expect(await notifyNewResult(id, 'negative')).toEqual({ receipt: 'no-contact', mails: [] });
  });

  it('the mail about a result of an offered record asks to confirm it, and speaks of the space only once it is accepted', async () => {
    const me = demo.who('patient-camille');
    const id = await register({ ...STRANGER, givenName: 'Ulysse' });
    const result = async () => {
      const { receipt, mails } = await notifyNewResult(id, 'positive');
      expect(receipt).toBe('sent');
      return mails[0]!;
    };
    const offered = await result();
    expect(offered.to).toBe(camille.login);
    expect(offered.subject).toBe('Résultat à confirmer / Result to confirm');
    expect(offered.text).toContain('Log in to confirm or decline it: https://saufconduit.example/patient');
    expect(offered.text).not.toContain('available in your');
    for (const word of ['positi', 'antig', STRANGER.familyName, 'Ulysse', 'Pharmacie']) expect(offered.subject + offered.text).not.toContain(word);
    expect((await answer(me, id, 'accept', STRANGER.birthDate)).statusCode).toBe(200);
    expect((await result()).subject).toBe('Nouveau résultat disponible / New result available');
  });

  it(`the offer is withdrawn after ${MAX_ACCEPT_FAILURES} wrong birth dates`, async () => {
    const me = demo.who('patient-camille');
    const id = await register({ ...STRANGER, givenName: 'Prosper' });
    for (let i = 0; i < MAX_ACCEPT_FAILURES; i++) expect((await answer(me, id, 'accept', `1950-01-${String(i + 1).padStart(2, '0')}`)).statusCode).toBe(422);
    expect(await row(id)).toEqual({ account_id: null, offered_to: null });
    expect((await answer(me, id, 'accept', STRANGER.birthDate)).statusCode).toBe(404);
    expect(await offers(me)).toEqual([]);
  });

  it('guesses sent all at once are counted one by one: no more than the limit is ever judged', async () => {
    // Sent together, they are committed in one batch (one transaction): the count must still hold.
    const me = demo.who('patient-camille');
    const id = await register({ ...STRANGER, givenName: 'Hyacinthe' });
    const wrong = Array.from({ length: 20 }, (_, i) => `1951-02-${String(i + 1).padStart(2, '0')}`);
    const answers = await Promise.all([...wrong, STRANGER.birthDate].map((d) => answer(me, id, 'accept', d)));
    const judged = answers.slice(0, -1).filter((a) => a.statusCode === 422).length;
    const right = answers.at(-1)!;
    expect(judged).toBeLessThanOrEqual(MAX_ACCEPT_FAILURES);
    for (const a of answers.slice(0, -1)) expect([404, 409, 422]).toContain(a.statusCode);
    const [failures] = await demo.app.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit_event WHERE resource_id = $1 AND action = 'record-offer.accept' AND outcome = 'failure'`, [id]);
    expect(Number(failures!.n)).toBe(judged);
    if (judged >= MAX_ACCEPT_FAILURES) {
      // The limit was reached: the offer is gone, even for the right date sent with the guesses.
      expect([404, 409]).toContain(right.statusCode);
      expect(await row(id)).toEqual({ account_id: null, offered_to: null });
    } else {
      expect(right.statusCode).toBe(200);
    }
  });

  it('a new address gets a space of its own, which is only offered the record until its holder accepts it; the patient space shows offers with their forms', async () => {
    const fresh = await register({ ...STRANGER, email: 'bastien.ferrand@example.org' });
    const stored = await row(fresh);
    expect(stored.account_id).toBeNull();
    expect(stored.offered_to).not.toBeNull();

    const me = demo.who('patient-camille');
    const id = await register({ ...STRANGER, givenName: 'Quentin' });
    const page = await demo.server.inject({ method: 'GET', url: '/patient?lang=en', headers: me.headers });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain(`data-offer="${id}"`);
    expect(page.body).toContain(`action="/patient/record-offers/${id}/accept"`);
    expect(page.body).not.toContain('Quentin');
    // A blank or garbled date is no guess: it does not count towards withdrawing the offer.
    const failures = async () => Number((await demo.app.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit_event WHERE resource_id = $1 AND action = 'record-offer.accept' AND outcome = 'failure'`, [id]))[0]!.n);
    for (const bad of ['', 'birthDate=', 'birthDate=garbage', 'birthDate=2001-02-30']) {
      const refused = await demo.server.inject({
        method: 'POST', url: `/patient/record-offers/${id}/accept`, headers: { ...me.headers, 'content-type': 'application/x-www-form-urlencoded' }, payload: bad,
      });
      expect(refused.statusCode, bad).toBe(303);
      expect(refused.headers.location).toBe('/patient?offer=invalid');
    }
    expect(await failures()).toBe(0);
    expect((await demo.server.inject({ method: 'GET', url: '/patient?lang=en&offer=invalid', headers: me.headers })).body).toContain('data-offer-notice="invalid"');
    // The form posts back to the space with the outcome (cookie sessions need our own origin).
    const form = await demo.server.inject({
      method: 'POST', url: `/patient/record-offers/${id}/accept`,
      headers: { ...me.headers, 'content-type': 'application/x-www-form-urlencoded' }, payload: `birthDate=${STRANGER.birthDate}`,
    });
    expect(form.statusCode, form.body).toBe(303);
    expect(form.headers.location).toBe('/patient?offer=accepted');
    expect((await read(me, id)).statusCode).toBe(200);
    const after = await demo.server.inject({ method: 'GET', url: '/patient?lang=en&offer=accepted', headers: me.headers });
    expect(after.body).toContain('data-offer-notice="accepted"');
  });
});
