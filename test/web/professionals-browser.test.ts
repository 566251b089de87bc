import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { accessible as checkAccessible, useBrowserDemo } from '../support/browser.ts';
import { DEMO, type DemoPrincipal } from '../../src/demo/world.ts';
import { totpNow } from '../../src/auth/totp.ts';

/**
 * The professionals issue's pages in Debian Chromium, French and English: the patient's care team
 * (choose a professional, show a code, end, protect), the professional's code entry and emergency
 * access with its warning, the patient's history with the emergency highlighted, the DPO's alerts and
 * review queue. Every page state gets an axe-core run (WCAG 2.1 A/AA: no serious or critical
 * violation) and is checked for sideways scrolling at 320 px.
 */
const demo = useBrowserDemo();
const who = (name: string) => demo.who(name);
const as = (p: DemoPrincipal | null, locale: string) => demo.as(p, locale);
const checked: string[] = [];

async function accessible(page: Page, state: string): Promise<void> {
  await checkAccessible(page, state);
  checked.push(state);
}

describe('professionals pages in a browser', () => {
  let code = '';

  it('the patient (English) chooses a professional, ends it, shows a code and protects a record; mistakes are explained', async () => {
    const { context, page } = await as(who('patient-camille'), 'en-GB');
    await page.goto('/patient?lang=en');
    await page.click('a[data-care-link]');
    await page.waitForURL('**/patient/care');
    await accessible(page, 'patient care team');
    // A malformed RPPS number: the form comes back with its error summary and the field's message.
    await page.fill('#f-rpps', '123');
    await page.click('form[data-form="care-choose"] button[type="submit"]');
    await page.waitForSelector('[data-field-error="rpps"]');
    expect(await page.locator('[data-form-error]').count()).toBe(1);
    await accessible(page, 'patient care team, invalid RPPS');
    const moreau = DEMO.professionals.find((p) => p.name === 'professional-no-care')!;
    await page.fill('#f-rpps', moreau.rpps);
    await page.fill('#f-days', '30');
    await page.click('form[data-form="care-choose"] button[type="submit"]');
    await page.waitForURL('**/patient/care?done=created');
    expect(await page.locator('[data-care-notice="created"]').textContent()).toContain('Dr Gilles Moreau');
    await accessible(page, 'patient care team, relationship created');
    await page.locator('tr', { hasText: 'Dr Gilles Moreau' }).locator('button[data-care-end]').click();
    await page.waitForURL('**/patient/care?done=ended');
    await accessible(page, 'patient care team, relationship ended');
    await page.click('form[data-form="care-code"] button[type="submit"]');
    code = (await page.locator('[data-consent-code]').getAttribute('data-consent-code'))!;
    expect(code).toMatch(/^[0-9A-Z]{4}-[0-9A-Z]{4}$/);
    await accessible(page, 'patient care team, code shown');
    await page.locator('button[data-protect-toggle]').first().click();
    await page.waitForURL('**/patient/care?done=protected');
    expect(await page.locator('[data-protected]').count()).toBe(1);
    await page.locator('button[data-protect-toggle]').first().click();
    await page.waitForURL('**/patient/care?done=protected');
    await context.close();
  });

  it('the professional (French, logged in with password and code) enters the code, then opens another record in an emergency', async () => {
    const { context, page } = await as(null, 'fr-FR');
    const moreau = DEMO.professionals.find((p) => p.name === 'professional-no-care')!;
    await page.goto('/login');
    await page.fill('#f-login', moreau.login);
    await page.fill('#f-password', moreau.password);
    await page.click('form[action="/login"] button[type="submit"]');
    await page.waitForURL('**/login/totp');
    await page.fill('#f-code', await totpNow(moreau.totp));
    await page.click('form[action="/login/totp"] button[type="submit"]');
    await page.waitForURL('**/professional');
    await accessible(page, 'professional home');
    await page.fill('#f-code', 'ZZZZ-ZZZZ');
    await page.click('form[data-form="consent-code"] button[type="submit"]');
    await page.waitForURL('**/professional?done=code-wrong');
    await accessible(page, 'professional home, wrong code');
    await page.fill('#f-code', code);
    await page.click('form[data-form="consent-code"] button[type="submit"]');
    await page.waitForURL('**/professional?done=code-accepted');
    expect(await page.locator('a[data-patient-link]').count()).toBe(1);
    await accessible(page, 'professional home, code accepted');

    await page.click('a[data-break-glass-link]');
    await page.waitForURL('**/professional/break-glass');
    expect(await page.locator('[data-break-glass-warning]').textContent()).toContain('prévenu');
    await accessible(page, 'break-glass form');
    await page.click('button[data-break-glass-open]');
    await page.waitForSelector('[data-field-error="justification"]');
    await accessible(page, 'break-glass form, errors');
    const elise = who('patient-elise').canAccess.patientId[0]!;
    await page.fill('#f-patientId', elise);
    await page.selectOption('#f-reason', 'patient-unable-to-consent');
    await page.fill('#f-justification', 'Amenée inconsciente aux urgences, vérification des derniers résultats.');
    await page.click('button[data-break-glass-open]');
    await page.waitForURL('**/professional?done=break-glass-opened');
    expect(await page.locator('[data-professional-notice="break-glass-opened"]').count()).toBe(1);
    await accessible(page, 'professional home, emergency opened');
    await page.locator('li[data-break-glass] a').first().click();
    await page.waitForURL(`**/professional/patients/${elise}`);
    expect(await page.locator('h1').textContent()).toBeTruthy();
    await page.goBack();
    await page.locator('button[data-break-glass-end]').first().click();
    await page.waitForURL('**/professional?done=break-glass-ended');
    await context.close();
  });

  it('the patient sees the emergency access highlighted in her history, in words', async () => {
    const { context, page } = await as(who('patient-elise'), 'fr-FR');
    await page.goto('/patient?lang=fr');
    const row = page.locator('tr[data-highlight="break-glass"]').first();
    expect(await row.textContent()).toContain('Dr Gilles Moreau');
    expect(await row.textContent()).toContain("Patient hors d'état de consentir");
    await accessible(page, 'patient space with an emergency access');
    await context.close();
  });

  it('the DPO reads the alerts and reviews emergency accesses', async () => {
    const { context, page } = await as(who('dpo'), 'en-GB');
    await page.goto('/dpo?lang=en');
    expect(await page.locator('table[data-table="alerts"] tr[data-alert]').count()).toBeGreaterThan(0);
    expect(await page.locator('li[data-break-glass]').count()).toBeGreaterThan(0);
    await accessible(page, 'DPO page');
    await page.locator('table[data-table="alerts"] a').first().click();
    await page.waitForURL('**/dpo/alerts/**');
    await accessible(page, 'DPO alert');
    await page.locator('form[data-form="alert-decide"] button[value="acknowledge"]').click();
    await page.waitForURL('**?error=note');
    await accessible(page, 'DPO alert, note missing');
    await page.fill('#f-note', 'Called the hospital: a real emergency.');
    await page.locator('form[data-form="alert-decide"] button[value="dismiss"]').click();
    await page.waitForURL('**?done=dismissed');
    expect(await page.locator('[data-alert-final]').count()).toBe(1);
    await accessible(page, 'DPO alert, dismissed');
    await page.goto('/dpo');
    const item = page.locator('li[data-break-glass]').first();
    await item.locator('input[name="note"]').fill('Justified by the emergency department.');
    await item.locator('button[value="accepted"]').click();
    await page.waitForURL('**/dpo?done=reviewed');
    await accessible(page, 'DPO page, review done');
    await context.close();
    expect(checked.length).toBe(17);
  });
});
