import { describe, expect, it } from 'vitest';
import { accessible, useBrowserDemo } from '../support/browser.ts';
import { principalFor } from '../../src/domain/accounts.ts';
import { registerPatient } from '../../src/domain/patients.ts';

/**
 * Staff find patients (pages issue, point 3), in Chromium at desktop and phone width, French and
 * English: the search finds by name, birth date or code and says how many it found; a search with
 * nothing to search says why in the error summary; a long list pages without losing anyone; what
 * was typed never goes into an address; every signed-in page says who is logged in, for which
 * pharmacy.
 */
const demo = useBrowserDemo();

const WIDTHS = [{ name: 'desktop', viewport: { width: 1280, height: 800 } }, { name: 'phone', viewport: { width: 320, height: 720 } }];
const LANGS = [{ locale: 'fr-FR', lang: 'fr', found: 'trouvé', none: 'Aucun patient', older: 'Patients plus anciens' },
  { locale: 'en-GB', lang: 'en', found: 'found', none: 'No patient', older: 'Older patients' }];

describe('finding patients in a browser', () => {
  it('seeds enough patients at the Tilleuls for more than one page', async () => {
    const staff = (await principalFor(demo.app.db, demo.who('pharmacy-a-staff').id))!;
    await demo.app.uow.run(staff, 'test', async (w) => {
      for (let i = 0; i < 55; i++) await registerPatient(w, { givenName: `Prénom${String(i).padStart(2, '0')}`, familyName: 'Foule', birthDate: '1980-01-01' });
    });
  });

  for (const width of WIDTHS) {
    for (const l of LANGS) {
      it(`searches by name and birth date, says how many, pages, and names who is logged in (${l.lang}, ${width.name})`, async () => {
        const { context, page } = await demo.as(demo.who('pharmacy-a-staff'), l.locale, width.viewport);
        const addresses: string[] = [];
        page.on('request', (r) => addresses.push(r.url()));
        try {
          await page.goto(`/pharmacy?lang=${l.lang}`);
          expect(await page.locator('[data-signed-in-as]').innerText()).toBe('Alice Durand · Pharmacie des Tilleuls');
          await accessible(page, `pharmacy list ${l.lang} ${width.name}`);
          // The newest 50, then the way to older ones; nobody lost or shown twice.
          expect(await page.locator('[data-patient-link]').count()).toBe(50);
          const first = await page.locator('[data-patient-link]').allInnerTexts();
          await page.click('[data-page-next]');
          const second = await page.locator('[data-patient-link]').allInnerTexts();
          expect(second.length).toBeGreaterThan(0);
          expect(second.filter((n) => first.includes(n))).toEqual([]);
          expect(second).toContain('Martin Camille');
          await accessible(page, `pharmacy list page 2 ${l.lang} ${width.name}`);

          await page.fill('#f-q', 'cAmIl');
          await page.click('form[data-form="patient-search"] button[type="submit"]');
          await page.waitForSelector('[data-search-count]');
          expect(await page.locator('[data-patient-link]').allInnerTexts()).toEqual(['Martin Camille']);
          expect(await page.locator('[data-search-count]').innerText()).toContain(l.found);
          expect(await page.inputValue('#f-q')).toBe('cAmIl');
          await accessible(page, `search found ${l.lang} ${width.name}`);

          await page.fill('#f-q', '12/04/1990');
          await page.click('form[data-form="patient-search"] button[type="submit"]');
          await page.waitForSelector('[data-search-count]');
          expect(await page.locator('[data-patient-link]').allInnerTexts()).toEqual(['Martin Camille']);

          await page.fill('#f-q', 'Dominique');
          await page.click('form[data-form="patient-search"] button[type="submit"]');
          await page.waitForSelector('[data-search-count="0"]');
          expect(await page.locator('[data-search-count]').innerText()).toContain(l.none);
          await accessible(page, `search none ${l.lang} ${width.name}`);

          // A search of many: the first 50, then more by a form post (the name stays out of the address).
          await page.fill('#f-q', 'foule');
          await page.click('form[data-form="patient-search"] button[type="submit"]');
          await page.waitForSelector('[data-search-count="50"]');
          await page.click('form[data-form="search-more"] button');
          await page.waitForSelector('[data-search-count="5"]');

          await page.fill('#f-q', 'x');
          await page.click('form[data-form="patient-search"] button[type="submit"]');
          await page.waitForSelector('[data-form-error]');
          expect(await page.evaluate(() => document.activeElement?.className)).toBe('error-summary');
          await accessible(page, `search error ${l.lang} ${width.name}`);

          for (const a of addresses) expect(a.toLowerCase()).not.toMatch(/camil|foule|dominique|1990/);
        } finally {
          await context.close();
        }
      });
    }
  }

  it('every signed-in page says who is logged in; a patient sees their own name, a professional theirs', async () => {
    for (const [who, path, label] of [
      ['pharmacy-b-staff', '/pharmacy/counter', 'Bruno Lefèvre · Pharmacie du Port'],
      ['professional-in-care', '/professional', 'Dr Farida Haddad'],
      ['patient-camille', '/patient', 'Camille Martin'],
      ['dpo', '/dpo', 'Hélène Roux'],
    ] as const) {
      const { context, page } = await demo.as(demo.who(who), 'fr-FR', { width: 320, height: 720 });
      try {
        await page.goto(path);
        expect(await page.locator('[data-signed-in-as]').innerText(), who).toBe(label);
      } finally {
        await context.close();
      }
    }
  });
});
