import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { accessible, useBrowserDemo } from '../support/browser.ts';

/**
 * Forms people can live with (pages issue, points 6, 7 and 11), in Chromium at desktop and phone
 * width, French and English: after a failed submit the error summary has the focus and is in view,
 * the title says there is an error, each problem links to its field and the link puts the cursor
 * there; a social-security number typed as printed on the card is accepted; a record's page title
 * does not carry the person's name; login and code forms start in their first field.
 */
const demo = useBrowserDemo();

const WIDTHS = [{ name: 'desktop', viewport: { width: 1280, height: 800 } }, { name: 'phone', viewport: { width: 390, height: 844 } }];
const LANGS = [{ locale: 'fr-FR', lang: 'fr', error: 'Erreur : ', problem: 'Il y a un problème', givenName: 'Prénom', record: 'Dossier patient' },
  { locale: 'en-GB', lang: 'en', error: 'Error: ', problem: 'There is a problem', givenName: 'Given name', record: 'Patient record' }];

const focusedId = (page: Page) => page.evaluate(() => (document.activeElement as HTMLElement | null)?.id || (document.activeElement as HTMLElement | null)?.className || '');

describe('forms in a browser', () => {
  for (const width of WIDTHS) {
    for (const l of LANGS) {
      it(`a failed registration puts its error summary in view and in focus, linked to the fields (${l.lang}, ${width.name})`, async () => {
        const { context, page } = await demo.as(demo.who('pharmacy-a-staff'), l.locale, width.viewport);
        try {
          await page.goto(`/pharmacy?lang=${l.lang}`);
          await page.locator('form[data-form="register-patient"] button[type="submit"]').click();
          await page.waitForSelector('[data-form-error]');
          expect(await page.title()).toMatch(new RegExp(`^${l.error}`));
          const summary = page.locator('.error-summary');
          expect(await summary.locator('h2').textContent()).toBe(l.problem);
          // The summary holds the focus and is on screen, wherever the form is on the page.
          expect(await focusedId(page)).toBe('error-summary');
          const box = (await summary.boundingBox())!;
          expect(box.y).toBeGreaterThanOrEqual(0);
          expect(box.y + Math.min(box.height, 80)).toBeLessThanOrEqual(width.viewport.height);
          // One link per problem, named by the field's label; following it puts the cursor in the field.
          const links = summary.locator('a[data-error-link]');
          expect(await links.count()).toBeGreaterThanOrEqual(3);
          expect(await links.first().textContent()).toContain(l.givenName);
          await links.first().click();
          expect(await focusedId(page)).toBe('f-givenName');
          await accessible(page, `registration errors ${l.lang} ${width.name}`);
        } finally {
          await context.close();
        }
      });
    }
  }

  it('a social-security number typed as printed on the card (spaces) is accepted; the record page title does not name the person', async () => {
    for (const l of LANGS) {
      const { context, page } = await demo.as(demo.who('pharmacy-a-staff'), l.locale, { width: 390, height: 844 });
      try {
        await page.goto(`/pharmacy?lang=${l.lang}`);
        await page.fill('#f-givenName', 'Noémie');
        await page.fill('#f-familyName', `Carte${l.lang.toUpperCase()}`);
        await page.fill('#f-birthDate', '1995-08-14');
        await page.fill('#f-ssn', '2 95 08 75 056 123 81');
        expect(await page.inputValue('#f-ssn')).toBe('2 95 08 75 056 123 81'); // not cut by maxlength
        await page.locator('form[data-form="register-patient"] button[type="submit"]').click();
        await page.waitForURL(/\/pharmacy\/patients\//);
        expect(await page.locator('[data-field="ssn"]').textContent()).toContain('123 81');
        expect(await page.title()).toBe(`${l.record} — Saufconduit`);
        expect(await page.locator('h1').textContent()).toContain(`Carte${l.lang.toUpperCase()}`);
        await accessible(page, `record page ${l.lang} phone`);
      } finally {
        await context.close();
      }
    }
  });

  it('"who accessed my data" is in words, groups repeats, folds the person\'s own reads, marks refusals and pages through the whole history', async () => {
    const camille = demo.who('patient-camille');
    const staff = demo.who('pharmacy-a-staff');
    const record = camille.canAccess.patientId[0]!;
    // 120 reads of her record by the pharmacy: one grouped line, and more events than a page holds.
    for (let i = 0; i < 120; i++) await demo.server.inject({ method: 'GET', url: `/api/patients/${record}`, headers: staff.headers });
    // A refused attempt by another pharmacy.
    const other = demo.who('pharmacy-b-staff');
    expect((await demo.server.inject({ method: 'GET', url: `/api/patients/${record}`, headers: other.headers })).statusCode).toBe(404);
    for (const l of LANGS) {
      const { context, page } = await demo.as(camille, l.locale, { width: 390, height: 844 });
      try {
        await page.goto(`/patient?lang=${l.lang}`);
        await page.goto(`/patient?lang=${l.lang}`); // the first visit read her own data: now counted
        const table = page.locator('table[data-table="access-log"]');
        const text = (await table.textContent())!;
        // No raw codes: actions, roles and purposes are words.
        expect(text).not.toMatch(/\b(patient|result|document|pass|auth)\.[a-z-]+\b/);
        expect(text).not.toMatch(/\b(tenant-service|own-record|other-tenant|not-own|success|denied)\b/);
        expect(text).toContain(l.lang === 'fr' ? 'A consulté votre dossier' : 'Read your record');
        // The 120 reads are grouped on one line (as many of them as the page's 100 events hold, beside her own reads and the refusal).
        const counts = await page.locator('[data-count]').evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-count'))));
        expect(Math.max(...counts)).toBeGreaterThanOrEqual(50);
        // Her own reads are counted, not listed.
        expect(Number(await page.locator('[data-own-reads]').getAttribute('data-own-reads'))).toBeGreaterThan(0);
        expect(text).not.toContain(l.lang === 'fr' ? 'Votre propre usage' : 'Your own use');
        // The refused attempt stands out.
        expect(await page.locator('tr[data-highlight="refused"]').count()).toBeGreaterThanOrEqual(1);
        // On a phone the history is a list of cards, each cell under its column's name (WCAG 1.4.10).
        expect(await page.locator('table[data-table="access-log"] tbody tr').first().evaluate((tr) => getComputedStyle(tr).display)).toBe('block');
        expect(await page.locator('table[data-table="access-log"] tbody td').first().evaluate((td) => getComputedStyle(td, '::before').content)).toMatch(/When|Quand/);
        await accessible(page, `access log ${l.lang} phone`);
        // Older entries: the rest of the history, down to the registration.
        await page.locator('a[data-access-older]').click();
        await page.waitForURL(/before=\d+/);
        expect(await page.locator('table[data-table="access-log"] tr').count()).toBeGreaterThan(1);
        await accessible(page, `access log older page ${l.lang} phone`);
      } finally {
        await context.close();
      }
    }
  });

  it('login and code forms start in their first field; an error summary takes precedence', async () => {
    const { context, page } = await demo.as(null, 'fr-FR');
    try {
      for (const path of ['/login', '/patient/login']) {
        await page.goto(path);
        // Autofocus is applied when the page is next rendered, which may come after its load event.
        await page.waitForFunction(() => document.activeElement?.id === 'f-login', undefined, { timeout: 5000 }).catch(() => undefined);
        expect(await focusedId(page), path).toBe('f-login');
      }
      await page.goto('/login');
      await page.fill('#f-login', 'nobody@example.invalid');
      await page.locator('form button[type="submit"]').first().click();
      await page.waitForSelector('[data-form-error]');
      expect(await focusedId(page)).toBe('error-summary');
      await accessible(page, 'login error fr');
    } finally {
      await context.close();
    }
  });

  it('a link from a mail to a page of the space shows the login right there, then that page (320 px, both languages)', async () => {
    const camille = demo.who('patient-camille');
    const login = 'camille.martin@example.org';
    const passId = camille.canAccess.passId[0]!;
    for (const l of LANGS) {
      const { context, page } = await demo.as(null, l.locale, { width: 320, height: 720 });
      try {
        const target = `/patient/passes/${passId}/reissue`;
        await page.goto(target);
        expect(await page.locator('[data-login-to-continue]').isVisible()).toBe(true);
        await page.waitForFunction(() => document.activeElement?.id === 'f-login', undefined, { timeout: 5000 }).catch(() => undefined);
        expect(await focusedId(page)).toBe('f-login');
        await accessible(page, `login to continue ${l.lang}`);
        const sent = demo.app.mail.sent.length;
        await page.fill('#f-login', login);
        await page.locator('form[action="/patient/login"] button[type="submit"]').click();
        await page.waitForURL('**/patient/login/code');
        const code = /(\d{6})/.exec((await demo.app.mail.waitFor((m) => m.to === login, { after: sent })).text)![1]!;
        await page.fill('#f-code', code);
        await page.fill('#f-birthDate', '1990-04-12');
        await page.locator('form[action="/patient/login/code"] button[type="submit"]').click();
        await page.waitForURL(`**${target}`);
        expect(new URL(page.url()).pathname).toBe(target);
      } finally {
        await context.close();
      }
    }
  });
});
