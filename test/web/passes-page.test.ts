import { describe, expect, it } from 'vitest';
import { useDemoServer } from '../support/demo.ts';

describe('passes in the patient space', () => {
  const demo = useDemoServer('pglite');

  it('shows the QR code and PDF link in both languages, and revoke-and-reissue replaces the pass', async () => {
    const camille = demo.who('patient-camille');
    const passId = camille.canAccess.passId[0]!;
    const fr = await demo.server.inject({ method: 'GET', url: '/patient?lang=fr', headers: camille.headers });
    expect(fr.statusCode).toBe(200);
    // Under the holder's name (a space may hold a family's records), each pass naming its holder.
    expect(fr.body).toContain('<h2 id="person-0-h">Camille Martin</h2>');
    expect(fr.body).toContain('Pass sanitaires');
    expect(fr.body).toMatch(/Certificat de test<\/strong> — Camille Martin/);
    expect(fr.body).toContain(`src="/api/passes/${passId}/qr"`);
    expect(fr.body).toContain(`href="/api/passes/${passId}/pdf"`);
    const en = await demo.server.inject({ method: 'GET', url: '/patient?lang=en', headers: camille.headers });
    // What the pass certifies and until when; replacing it is a secondary link to a page that says what happens.
    expect(en.body).toMatch(/Certifies a test: Antigen test, negative, sampled/);
    expect(en.body).toMatch(/Accepted until \d/);
    expect(en.body).toContain(`href="/patient/passes/${passId}/reissue"`);
    expect(en.body).not.toContain('data-pass-reissue');
    const confirm = await demo.server.inject({ method: 'GET', url: `/patient/passes/${passId}/reissue?lang=en`, headers: camille.headers });
    expect(confirm.statusCode).toBe(200);
    expect(confirm.body).toContain('revokes it at once');
    expect(confirm.body).toContain(`action="/patient/passes/${passId}/reissue"`);
    expect(confirm.body).toContain('Revoke it and get a new QR code');
    // Someone else's pass: 404, like any other record.
    expect((await demo.server.inject({ method: 'GET', url: `/patient/passes/${passId}/reissue`, headers: demo.who('patient-elise').headers })).statusCode).toBe(404);
    const res = await demo.server.inject({ method: 'POST', url: `/patient/passes/${passId}/reissue`, headers: { ...camille.headers, 'content-type': 'application/x-www-form-urlencoded' }, payload: '' });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/patient?reissue=done');
    const after = await demo.server.inject({ method: 'GET', url: '/patient?lang=en&reissue=done', headers: camille.headers });
    expect(after.body).toContain('data-pass-revoked');
    expect(after.body).toContain('data-reissue-notice="done"');
    // The reissued test pass and the vaccination pass: one PDF link each, none for the revoked one.
    expect((after.body.match(/data-pass-pdf/g) ?? []).length).toBe(2);
    expect(after.body).not.toContain(`src="/api/passes/${passId}/qr"`);
  });

  it("another patient's pass answers 404, and nothing is revoked", async () => {
    const elise = demo.who('patient-elise');
    const dominique = demo.who('patient-dominique');
    // One of her passes still valid (the demo replaced one of them, as if it had leaked).
    const [{ id: passId }] = await demo.app.db.query<{ id: string }>(`SELECT id::text FROM pass WHERE id::text IN (SELECT jsonb_array_elements_text($1::text::jsonb)) AND revoked_at IS NULL LIMIT 1`, [JSON.stringify(elise.canAccess.passId)]) as [{ id: string }];
    const res = await demo.server.inject({ method: 'POST', url: `/patient/passes/${passId}/reissue`, headers: { ...dominique.headers, 'content-type': 'application/x-www-form-urlencoded' }, payload: '' });
    expect(res.statusCode).toBe(404);
    expect(res.headers['content-type']).toContain('text/html');
    const [row] = await demo.app.db.query<{ revoked_at: Date | null }>('SELECT revoked_at FROM pass WHERE id = $1', [passId]);
    expect(row!.revoked_at).toBeNull();
  });
});
