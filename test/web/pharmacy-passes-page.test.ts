import { describe, expect, it } from 'vitest';
import { useDemoServer } from '../support/demo.ts';

/** Staff pages: record a vaccination, issue test and vaccination passes from the patient page. */
describe('pass issuance on the pharmacy patient page', () => {
  const demo = useDemoServer('pglite');
  const form = (url: string, headers: Record<string, string>, payload: Record<string, string>) =>
    demo.server.inject({ method: 'POST', url, headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams(payload).toString() });

  it('staff record a vaccination and issue passes; the patient page lists them with PDF links', async () => {
    const staff = demo.who('pharmacy-a-staff');
    const patientId = demo.who('patient-camille').canAccess.patientId.find((id) => staff.canAccess.patientId.includes(id))!;
    const page = await demo.server.inject({ method: 'GET', url: `/pharmacy/patients/${patientId}?lang=en`, headers: staff.headers });
    expect(page.body).toContain('data-form="record-vaccination"');
    const before = (page.body.match(/data-pass-pdf/g) ?? []).length;

    const bad = await form(`/pharmacy/patients/${patientId}/vaccinations`, staff.headers, { product: 'nope', doseNumber: '1', seriesDoses: '2', administeredOn: '2026-01-10' });
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toContain('data-field-error="product"');
    const ok = await form(`/pharmacy/patients/${patientId}/vaccinations`, staff.headers, { product: 'EU/1/20/1507', doseNumber: '2', seriesDoses: '2', administeredOn: '2026-01-10', idempotencyKey: 'web-abcdefgh1234' });
    expect(ok.statusCode).toBe(303);

    const shown = await demo.server.inject({ method: 'GET', url: `/pharmacy/patients/${patientId}?lang=en`, headers: staff.headers });
    const vaccinationId = /data-vaccination-id="([0-9a-f-]{36})">(?:(?!<\/tr>)[\s\S])*?Spikevax/.exec(shown.body)?.[1];
    expect(vaccinationId).toBeTruthy();
    const resultId = /data-result-id="([0-9a-f-]{36})"/.exec(shown.body)![1]!;
    expect(shown.body).toContain(`action="/pharmacy/vaccinations/${vaccinationId}/passes"`);
    // The demo result already has its test pass: no button would issue a second one.
    expect(shown.body).not.toContain(`action="/pharmacy/results/${resultId}/passes"`);
    expect(shown.body).toContain('data-pass-issued');
    expect((await form(`/pharmacy/vaccinations/${vaccinationId}/passes`, staff.headers, { kind: 'vaccination' })).statusCode).toBe(303);
    // A second click (or a replayed form) answers the pass already issued: still one valid pass.
    expect((await form(`/pharmacy/vaccinations/${vaccinationId}/passes`, staff.headers, { kind: 'vaccination' })).statusCode).toBe(303);
    expect((await form(`/pharmacy/results/${resultId}/passes`, staff.headers, { kind: 'test' })).statusCode).toBe(303);
    const after = await demo.server.inject({ method: 'GET', url: `/pharmacy/patients/${patientId}?lang=fr`, headers: staff.headers });
    expect((after.body.match(/data-pass-pdf/g) ?? []).length).toBe(before + 1);
    expect(after.body).toContain('Certificat de vaccination');
    expect(after.body).not.toContain(`action="/pharmacy/vaccinations/${vaccinationId}/passes"`);

    // Another pharmacy's staff cannot issue from this record: 404, nothing issued.
    const other = demo.who('pharmacy-b-staff');
    const count = async () => (await demo.app.db.query('SELECT 1 FROM pass')).length;
    const n = await count();
    expect((await form(`/pharmacy/results/${resultId}/passes`, other.headers, { kind: 'test' })).statusCode).toBe(404);
    expect((await form(`/pharmacy/vaccinations/${vaccinationId}/passes`, other.headers, { kind: 'vaccination' })).statusCode).toBe(404);
    // A kind the button does not offer is refused, not issued as another kind.
    for (const [url, payload] of [
      [`/pharmacy/results/${resultId}/passes`, { kind: 'vaccination' }], [`/pharmacy/results/${resultId}/passes`, {}],
      [`/pharmacy/vaccinations/${vaccinationId}/passes`, { kind: 'test' }], [`/pharmacy/vaccinations/${vaccinationId}/passes`, {}],
    ] as const) {
      expect((await form(url, staff.headers, payload)).statusCode, `${url} ${JSON.stringify(payload)}`).toBe(400);
    }
    expect(await count()).toBe(n);
  });

  it('a professional in care sees vaccinations read-only, without pass buttons', async () => {
    const pro = demo.who('professional-in-care');
    // Camille's record (vaccinated) is in her care: the patient chose her in her space.
    const camille = demo.who('patient-camille').canAccess.patientId[0]!;
    expect(pro.canAccess.patientId).toContain(camille);
    const res = await demo.server.inject({ method: 'GET', url: `/professional/patients/${camille}?lang=en`, headers: pro.headers });
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('data-table="vaccinations"');
    expect(res.body).not.toContain('data-form="issue-pass"');
    expect(res.body).not.toContain('data-form="record-vaccination"');
  });
});
