/**
 * `npm run screens`: screenshots of the main pages in the states the pages issue was about, taken
 * the way the evidence was (demo world, headless Chromium, desktop 1280×800 and phone 390×844),
 * written to docs/screens/after/ beside the evidence in docs/screens/before/. A documentation aid,
 * not a test: the browser tests check these states (with axe) and fail on a regression.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Page } from 'playwright-core';
import { openTestApp } from '../test/support/engines.ts';
import { freePort } from '../test/support/net.ts';
import { buildServer } from '../src/http/server.ts';
import { SESSION_COOKIE } from '../src/http/authenticate.ts';
import { demoCredentials, seedDemo, DEMO } from '../src/demo/world.ts';

const out = new URL('../docs/screens/after/', import.meta.url).pathname;
mkdirSync(out, { recursive: true });
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

const port = await freePort();
const base = `http://localhost:${port}`;
const app = await openTestApp('pglite', { publicUrl: base });
await seedDemo(app);
const principals = (await demoCredentials(app)).principals;
const who = (name: string) => principals.find((p) => p.name === name)!;
const server = await buildServer(app);
await server.listen({ port, host: '127.0.0.1' });
const browser = await chromium.launch({ executablePath: process.env.SAUFCONDUIT_CHROMIUM ?? '/usr/bin/chromium', args: ['--headless=new', '--no-sandbox', '--disable-gpu'] });

async function as(name: string | null, locale: string, viewport: { width: number; height: number }): Promise<Page> {
  const context = await browser.newContext({ baseURL: base, locale, timezoneId: 'Europe/Paris', viewport });
  if (name) {
    const token = who(name).headers.authorization.slice('Bearer '.length);
    await context.addCookies([{ name: SESSION_COOKIE, value: (server as unknown as { signCookie(v: string): string }).signCookie(token), url: base, httpOnly: true, sameSite: 'Lax' }]);
  }
  return context.newPage();
}
const shot = async (page: Page, file: string, fullPage = true) => {
  await page.screenshot({ path: join(out, file), fullPage });
  console.log(`docs/screens/after/${file}`);
  await page.context().close();
};

try {
  // 1. "Who accessed my data", in words (Camille, French).
  let page = await as('patient-camille', 'fr-FR', DESKTOP);
  await page.goto('/patient?lang=fr');
  await shot(page, 'patient-access-log-fr-desktop.png');

  // 2. A space with a replaced pass: grouped by person, named, the revoked one said so (Élise).
  page = await as('patient-elise', 'fr-FR', DESKTOP);
  await page.goto('/patient?lang=fr');
  await shot(page, 'patient-pass-reissued-fr-desktop.png');

  // 3. A failed "record a result": the error summary in view and in focus.
  const recordAtA = who('pharmacy-a-staff').canAccess.patientId[0]!;
  page = await as('pharmacy-a-staff', 'fr-FR', DESKTOP);
  await page.goto(`/pharmacy/patients/${recordAtA}?lang=fr`);
  await page.locator('form[data-form="record-result"] button[type="submit"]').click();
  await page.waitForSelector('[data-form-error]');
  await shot(page, 'staff-result-errors-viewport-fr-desktop.png', false);

  // 4. A positive PCR of the day: no recovery pass offered, and from when one will be.
  const dominique = (await app.db.query<{ id: string }>(`SELECT p.id FROM patient p JOIN tenant t ON t.id = p.tenant_id WHERE t.slug = 'pharmacie-du-port' ORDER BY p.created_at LIMIT 1`))[0]!.id;
  page = await as('pharmacy-b-staff', 'en-GB', DESKTOP);
  await page.goto(`/pharmacy/patients/${dominique}?lang=en`);
  await shot(page, 'staff-recovery-pass-day0-en-desktop.png');

  // 5. Self-registration on a phone with the social-security number as printed, then the code.
  const link = await server.inject({ method: 'POST', url: '/api/registration-links', headers: who('pharmacy-a-staff').headers, payload: { counter: 'Comptoir 1' } });
  page = await as(null, 'fr-FR', PHONE);
  await page.goto(`${link.json().url.replace(/^https?:\/\/[^/]+/, '')}?lang=fr`);
  await page.fill('#f-givenName', 'Rosalie');
  await page.fill('#f-familyName', 'Chaintreuil');
  await page.fill('#f-birthDate', '1994-06-21');
  await page.fill('#f-email', 'rosalie.chaintreuil@example.org');
  await page.fill('#f-ssn', '2 94 06 75 112 345 39');
  await page.screenshot({ path: join(out, 'patient-selfreg-ssn-spaces-fr-phone.png'), fullPage: true });
  console.log('docs/screens/after/patient-selfreg-ssn-spaces-fr-phone.png');
  await page.locator('form[data-form="self-registration"] button[type="submit"]').click();
  await page.waitForSelector('[data-registration-code]');
  await page.reload();
  await page.waitForSelector('[data-registration-code]');
  await shot(page, 'patient-selfreg-code-after-reload-fr-phone.png');

  // 6. The staff record page at phone width after issuing a pass: no sideways scroll, a confirmation.
  page = await as('pharmacy-a-staff', 'fr-FR', PHONE);
  await page.goto(`/pharmacy/patients/${recordAtA}?lang=fr&done=pass-issued`);
  await shot(page, 'staff-pass-issued-fr-phone.png');

  // 7. New: staff find a patient (phone), and who is logged in for which pharmacy.
  page = await as('pharmacy-a-staff', 'fr-FR', PHONE);
  await page.goto('/pharmacy?lang=fr');
  await page.fill('#f-q', DEMO.patients[0]!.familyName.slice(0, 3));
  await page.locator('form[data-form="patient-search"] button[type="submit"]').click();
  await page.waitForSelector('[data-search-count]');
  await shot(page, 'staff-search-fr-phone.png', false);
} finally {
  await browser.close();
  await server.close();
  await app.dispose();
}
