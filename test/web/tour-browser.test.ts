import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { accessible, useBrowserDemo } from '../support/browser.ts';

/**
 * Every persona's pages, in each state the pages issue is about, in Chromium at desktop and phone
 * width, French and English: each answers what it should (no error page where a page is expected),
 * passes axe-core (WCAG 2.1 A/AA, no serious or critical violation) and does not scroll sideways at
 * 320 px. The focused tests (forms, search, professionals, the chain) check behaviour; this one
 * makes sure no page state escapes the accessibility baseline.
 */
const demo = useBrowserDemo();

const WIDTHS = [{ name: 'desktop', viewport: { width: 1280, height: 800 } }, { name: 'phone', viewport: { width: 390, height: 844 } }];
const LANGS = [{ locale: 'fr-FR', lang: 'fr' }, { locale: 'en-GB', lang: 'en' }];

interface Stop { who: string | null; path: () => string | Promise<string>; status?: number; expect: string; act?: (page: Page) => Promise<void> }

const recordOf = async (tenant: string, nth = 0) => (await demo.app.db.query<{ id: string }>(
  `SELECT p.id FROM patient p JOIN tenant t ON t.id = p.tenant_id WHERE t.slug = $1 ORDER BY p.created_at, p.id`, [tenant]))[nth]!.id;
const validPassOf = async (who: string) => (await demo.app.db.query<{ id: string }>(
  `SELECT id::text FROM pass WHERE id::text IN (SELECT jsonb_array_elements_text($1::text::jsonb)) AND revoked_at IS NULL ORDER BY issued_at LIMIT 1`,
  [JSON.stringify(demo.who(who).canAccess.passId)]))[0]!.id;
const registrationLink = async () => {
  const res = await demo.server.inject({ method: 'POST', url: '/api/registration-links', headers: demo.who('pharmacy-a-staff').headers, payload: { counter: 'Comptoir 9' } });
  return new URL(res.json().url as string).pathname;
};

const STOPS: Record<string, Stop> = {
  'home': { who: null, path: () => '/', expect: 'a[data-link="patient-login"]' },
  'staff login': { who: null, path: () => '/login', expect: 'form[action="/login"]' },
  'patient login': { who: null, path: () => '/patient/login', expect: 'form[action="/patient/login"]' },
  'login to continue': { who: null, path: () => '/patient', status: 401, expect: '[data-login-to-continue]' },
  'unknown page': { who: null, path: () => '/no/such/page', status: 404, expect: '[data-error-code="not_found"]' },
  'self-registration form': { who: null, path: registrationLink, expect: 'form[data-form="self-registration"]' },
  'self-registration used link': { who: null, path: async () => {
    const path = await registrationLink();
    await demo.server.inject({ method: 'POST', url: '/api/self-registrations', headers: { 'x-registration-link': path.split('/').pop()! }, payload: { givenName: 'Tour', familyName: 'Guidée', birthDate: '1990-01-01', email: 'tour@example.org' } });
    return path;
  }, status: 410, expect: '[data-link-closed="used"]' },
  'pharmacy list': { who: 'pharmacy-a-staff', path: () => '/pharmacy', expect: '[data-signed-in-as]' },
  'pharmacy record': { who: 'pharmacy-a-staff', path: async () => `/pharmacy/patients/${await recordOf('pharmacie-des-tilleuls')}?done=pass-issued`, expect: '[data-done="pass-issued"]' },
  'pharmacy record, positive PCR of the day': { who: 'pharmacy-b-staff', path: async () => `/pharmacy/patients/${await recordOf('pharmacie-du-port')}`, expect: '[data-no-pass="recovery-too-early"]' },
  'pharmacy record, failed result': { who: 'pharmacy-a-staff', path: async () => `/pharmacy/patients/${await recordOf('pharmacie-des-tilleuls')}`, expect: '[data-form-error]',
    act: async (page) => {
      await page.locator('form[data-form="record-result"] button[type="submit"]').click();
      await page.waitForSelector('[data-form-error]');
    } },
  'counter': { who: 'pharmacy-a-staff', path: () => '/pharmacy/counter', expect: 'form[data-form="registration-link"]' },
  'counter QR code': { who: 'pharmacy-a-staff', path: () => '/pharmacy/counter', expect: '[data-registration-qr]',
    act: async (page) => {
      await page.fill('#f-counter', 'Comptoir 2');
      await page.locator('form[data-form="registration-link"] button[type="submit"]').click();
      await page.waitForSelector('[data-registration-qr]');
    } },
  'patient space with access history': { who: 'patient-camille', path: () => '/patient', expect: '[data-table="access-log"]' },
  'patient space with a replaced pass': { who: 'patient-elise', path: () => '/patient', expect: '[data-pass-revoked]' },
  'replace a QR code, confirmation': { who: 'patient-elise', path: async () => `/patient/passes/${await validPassOf('patient-elise')}/reissue`, expect: 'form[action$="/reissue"]' },
  'patient care team': { who: 'patient-camille', path: () => '/patient/care', expect: '[data-section="care-team"]' },
  'professional patients': { who: 'professional-in-care', path: () => '/professional', expect: '[data-signed-in-as]' },
  'professional record': { who: 'professional-in-care', path: async () => `/professional/patients/${demo.who('professional-in-care').canAccess.patientId[0]!}`, expect: '#patient-h' },
  'break the glass': { who: 'professional-no-care', path: () => '/professional/break-glass', expect: 'form' },
  'DPO console': { who: 'dpo', path: () => '/dpo', expect: '[data-section="alerts"]' },
  'DPO alert': { who: 'dpo', path: () => `/dpo/alerts/${demo.who('dpo').canAccess.alertId[0]!}`, expect: '[data-table="alert-events"]' },
};

describe('a tour of every page state', () => {
  for (const [state, stop] of Object.entries(STOPS)) {
    it(`${state}: answers, passes axe and fits 320 px, in French and English, desktop and phone`, async () => {
      for (const width of WIDTHS) {
        for (const l of LANGS) {
          const { context, page } = await demo.as(stop.who ? demo.who(stop.who) : null, l.locale, width.viewport);
          try {
            const path = await stop.path();
            const res = await page.goto(`${path}${path.includes('?') ? '&' : '?'}lang=${l.lang}`);
            expect(res?.status(), `${state} ${path}`).toBe(stop.status ?? 200);
            await stop.act?.(page);
            expect(await page.locator(stop.expect).count(), `${state}: ${stop.expect}`).toBeGreaterThan(0);
            expect(await page.getAttribute('html', 'lang')).toBe(l.lang);
            await accessible(page, `${state} ${l.lang} ${width.name}`);
          } finally {
            await context.close();
          }
        }
      }
    });
  }
});
