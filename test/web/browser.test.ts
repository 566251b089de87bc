import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { freePort } from '../support/net.ts';
import type { FastifyInstance } from 'fastify';
import { chromium, type Browser, type BrowserContext, type ConsoleMessage, type Page, type Response } from 'playwright-core';
import { openTestApp, type TestApp } from '../support/engines.ts';
import { buildServer } from '../../src/http/server.ts';
import { DEMO, seedDemo } from '../../src/demo/world.ts';
import { totpNow } from '../../src/auth/totp.ts';

/**
 * End to end in Debian Chromium against the real server on loopback: staff (French) register a
 * patient and record a result; that patient (English) logs in, sees it and downloads the invoice;
 * another patient gets 404 for the same invoice; logout kills the session; passkeys through the
 * WebAuthn virtual authenticator; the strict CSP holds on every page (no violations reported).
 */
const CHROMIUM = process.env.SAUFCONDUIT_CHROMIUM ?? '/usr/bin/chromium';
const ARGS = ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const NEW_PATIENT = { givenName: 'Léa', familyName: 'Fontaine', birthDate: '1992-03-04', ssn: '292037511234589', phone: '+33 6 11 22 33 44', email: 'lea.fontaine@example.org', address: '8 place du Marché, 69001 Lyon' };

let app: TestApp;
let server: FastifyInstance;
let browser: Browser;
let base = '';
const cspViolations: string[] = [];
const pageErrors: string[] = [];
const htmlResponses: { url: string; csp: string | undefined }[] = [];

/** Watches a page: CSP reports in the console, uncaught script errors, and the CSP header of every HTML page. */
function watch(page: Page): Page {
  page.on('console', (m: ConsoleMessage) => {
    if (/Content Security Policy|Refused to (load|execute|apply|connect|frame)/i.test(m.text())) cspViolations.push(`${page.url()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => pageErrors.push(`${page.url()}: ${e.message}`));
  page.on('response', (r: Response) => {
    if ((r.headers()['content-type'] ?? '').startsWith('text/html')) htmlResponses.push({ url: r.url(), csp: r.headers()['content-security-policy'] });
  });
  return page;
}

async function newPage(locale: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ baseURL: base, locale, timezoneId: 'Europe/Paris', acceptDownloads: true });
  const page = watch(await context.newPage());
  page.setDefaultTimeout(10_000);
  return { context, page };
}

/** The one-time code in the first mail to `email` among those sent from index `after` on (it may leave after the answer). */
const codeFor = async (email: string, after: number): Promise<string> => {
  const mail = await app.mail.waitFor((m) => m.to === email && /\d{6}/.test(m.text), { after });
  return /(\d{6})/.exec(mail.text)![1]!;
};

async function virtualAuthenticator(context: BrowserContext, page: Page): Promise<void> {
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  });
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM}: install Debian's chromium package or set SAUFCONDUIT_CHROMIUM to a Chromium executable. The browser tests never skip.`);
  }
  const port = await freePort();
  base = `http://localhost:${port}`;
  app = await openTestApp('pglite', { publicUrl: base });
  await seedDemo(app);
  server = await buildServer(app);
  await server.listen({ port, host: '127.0.0.1' });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await app?.dispose();
});

describe('browser end to end', () => {
  let invoiceHref = '';
  let patient: { context: BrowserContext; page: Page };

  it('staff log in with password and TOTP in French, register a patient, record a result, then use a passkey', async () => {
    const { context, page } = await newPage('fr-FR');
    await page.goto('/');
    expect(await page.locator('html').getAttribute('lang')).toBe('fr');
    await page.click('a[data-link="staff-login"]');
    await page.waitForURL('**/login');
    expect(await page.locator('h1').textContent()).toBe('Connexion professionnelle');
    const alice = DEMO.staff[0]!;
    await page.fill('#f-login', alice.login);
    await page.fill('#f-password', alice.password);
    await page.click('form[action="/login"] button[type="submit"]');
    await page.waitForURL('**/login/totp');
    await page.fill('#f-code', await totpNow(alice.totp));
    await page.click('form[action="/login/totp"] button[type="submit"]');
    await page.waitForURL('**/pharmacy');
    expect(await page.locator('h1').textContent()).toBe('Patients de la pharmacie');

    // A first submission with a mistake re-renders the form with a French field message.
    await page.fill('#f-givenName', NEW_PATIENT.givenName);
    await page.fill('#f-familyName', NEW_PATIENT.familyName);
    await page.fill('#f-birthDate', NEW_PATIENT.birthDate);
    await page.fill('#f-ssn', '123');
    await page.click('form[data-form="register-patient"] button[type="submit"]');
    await page.waitForSelector('[data-field-error="ssn"]');
    expect(await page.locator('[data-field-error="ssn"]').textContent()).toContain('sécurité sociale');
    expect(await page.inputValue('#f-familyName')).toBe(NEW_PATIENT.familyName);

    await page.fill('#f-ssn', NEW_PATIENT.ssn);
    await page.fill('#f-phone', NEW_PATIENT.phone);
    await page.fill('#f-email', NEW_PATIENT.email);
    await page.fill('#f-address', NEW_PATIENT.address);
    await page.click('form[data-form="register-patient"] button[type="submit"]');
    await page.waitForURL(/\/pharmacy\/patients\/[0-9a-f-]{36}\?done=registered$/);
    // A confirmation says what happened; no personal data in the URL, the social-security number shown masked.
    expect(await page.locator('[data-done="registered"]').isVisible()).toBe(true);
    expect(page.url()).not.toMatch(/Fontaine|L%C3%A9a|lea|1992|292037/i);
    expect(await page.locator('[data-field="ssn"]').textContent()).toBe('• ••• •• •• ••• 345 89');
    expect(await page.content()).not.toContain(NEW_PATIENT.ssn);

    await page.selectOption('#f-testType', 'pcr');
    await page.selectOption('#f-outcome', 'negative');
    await page.fill('#f-sampledAt', '2025-06-02T08:15');
    await page.click('form[data-form="record-result"] button[type="submit"]');
    await page.waitForSelector('[data-result-id]');
    expect(await page.locator('[data-result-id]').count()).toBe(1);
    expect(await page.locator('[data-done="result-recorded"]').isVisible()).toBe(true);
    const row = page.locator('[data-result-id]').first();
    expect(await row.textContent()).toContain('Test PCR');
    expect(await row.textContent()).toContain('Négatif');
    expect(await row.textContent()).toContain('2 juin 2025, 08:15');

    // Staff may replace password + TOTP with a passkey (both factors at once): add one, log out, log in with it.
    await virtualAuthenticator(context, page);
    await page.goto('/pharmacy');
    await page.click('button[data-passkey="register"]');
    await page.waitForSelector('#passkey-status-register[data-state="ok"]');
    expect(await page.locator('#passkey-status-register').textContent()).toContain("Clé d'accès ajoutée");
    await page.click('form[action="/account/logout"] button[type="submit"]');
    await page.waitForURL(`${base}/`);
    await page.goto('/login');
    await page.click('button[data-passkey="login"]');
    await page.waitForURL('**/pharmacy');
    expect(await page.locator('[data-patient-link]').count()).toBeGreaterThan(0);
    // The passkey is listed in the security section, and its holder can remove it (the passkey
    // login is a fresh second factor); the page confirms it and the holder is told by mail.
    expect(await page.locator('[data-list="passkeys"] [data-passkey-id]').count()).toBe(1);
    const sent = app.mail.sent.length;
    await page.click('[data-passkey-remove]');
    await page.waitForURL('**/pharmacy?security=passkey-removed');
    expect(await page.locator('[data-security-notice="passkey-removed"]').textContent()).toContain("La clé d'accès a été retirée");
    expect(await page.locator('[data-list="passkeys"] [data-passkey-id]').count()).toBe(0);
    await app.mail.waitFor((m) => m.to === DEMO.staff[0]!.login && /retirée de votre compte/.test(m.text), { after: sent });
    await context.close();
  });

  it('the patient logs in with a one-time code and birth date in English, sees the result and downloads the invoice', async () => {
    patient = await newPage('fr-FR');
    const { context, page } = patient;
    await page.goto('/patient/login');
    expect(await page.locator('html').getAttribute('lang')).toBe('fr');
    // The language switch link sets a cookie: the following pages stay in English.
    await page.click('a[data-lang-switch]');
    await page.waitForURL('**/patient/login?lang=en');
    expect(await page.locator('h1').textContent()).toBe('Patient login');
    expect((await context.cookies()).find((c) => c.name === 'lang')?.value).toBe('en');
    await page.fill('#f-login', NEW_PATIENT.email);
    const sent = app.mail.sent.length;
    await page.click('form[action="/patient/login"] button[type="submit"]');
    await page.waitForURL('**/patient/login/code');
    expect(await page.locator('html').getAttribute('lang')).toBe('en');
    await page.fill('#f-code', await codeFor(NEW_PATIENT.email, sent));
    await page.fill('#f-birthDate', NEW_PATIENT.birthDate);
    await page.click('form[action="/patient/login/code"] button[type="submit"]');
    await page.waitForURL('**/patient');
    expect(await page.locator('h1').textContent()).toBe('My space');
    // The record registered at the pharmacy is offered to the new space until its holder, who has
    // just proved the mailbox, accepts it with the birth date given there.
    expect(await page.locator('[data-result-id]').count()).toBe(0);
    await page.fill('[data-offer] input[name="birthDate"]', NEW_PATIENT.birthDate);
    await page.click('[data-offer-accept]');
    await page.waitForURL('**/patient?offer=accepted');
    await page.goto('/patient');
    const row = page.locator('[data-result-id]').first();
    expect(await row.textContent()).toContain('PCR test');
    expect(await row.textContent()).toContain('Negative');

    const link = row.locator('a[data-invoice-link]');
    invoiceHref = (await link.getAttribute('href'))!;
    expect(invoiceHref).toMatch(/^\/api\/documents\/[0-9a-f-]{36}$/);
    const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
    const bytes = await readFile((await download.path())!);
    expect(bytes.subarray(0, 4).toString('latin1')).toBe('%PDF');
    const res = await context.request.get(invoiceHref);
    expect(res.status()).toBe(200);
    expect(res.headers()['content-type']).toBe('application/pdf');
    expect((await res.body()).subarray(0, 4).toString('latin1')).toBe('%PDF');
    // "Who accessed my data" shows the pharmacy's accesses.
    expect(await page.locator('table[data-table="access-log"]').textContent()).toContain('Pharmacie des Tilleuls');
  });

  it("another patient's session gets 404 for that same invoice", async () => {
    expect(invoiceHref).toMatch(/^\/api\/documents\//);
    const other = await browser.newContext({ baseURL: base });
    const camille = DEMO.patients[0]!;
    const sent = app.mail.sent.length;
    const start = await other.request.post('/api/auth/patient/code', { data: { login: camille.login } });
    expect(start.status()).toBe(202);
    const { challengeId } = (await start.json()) as { challengeId: string };
    const verify = await other.request.post('/api/auth/patient/verify', { data: { challengeId, code: await codeFor(camille.login, sent), birthDate: camille.birthDate } });
    expect(verify.status()).toBe(200);
    expect((await other.request.get('/api/results')).status()).toBe(200);
    const res = await other.request.get(invoiceHref);
    expect(res.status()).toBe(404);
    expect((await res.body()).subarray(0, 4).toString('latin1')).not.toBe('%PDF');
    await other.close();
  });

  it('the patient adds a passkey; after logout the old session cookie is dead; the passkey logs in again', async () => {
    expect(patient?.page.url()).toBe(`${base}/patient`);
    const { context, page } = patient;
    await virtualAuthenticator(context, page);
    await page.goto('/patient');
    const add = page.locator('button[data-passkey="register"]');
    await add.waitFor({ state: 'visible' });
    await add.click();
    await page.waitForSelector('#passkey-status-register[data-state="ok"]', { timeout: 15_000 });
    expect(await page.locator('#passkey-status-register').textContent()).toContain('Passkey added');
    // Its holder is told by mail: a passkey added with a stolen session does not go unseen.
    await app.mail.waitFor((m) => m.to === NEW_PATIENT.email && /A passkey was added to your account/.test(m.text));

    const oldCookie = (await context.cookies()).find((c) => c.name === 'sc_session')!;
    expect(oldCookie.httpOnly).toBe(true);
    expect(oldCookie.sameSite).toBe('Strict');
    await page.click('form[action="/account/logout"] button[type="submit"]');
    await page.waitForURL(`${base}/`);
    expect((await context.cookies()).find((c) => c.name === 'sc_session')).toBeUndefined();

    // Replaying the old cookie in a fresh context: the session is gone on the server.
    const replay = await browser.newContext({ baseURL: base });
    await replay.addCookies([{ ...oldCookie }]);
    expect((await replay.request.get('/patient')).status()).toBe(401);
    expect((await replay.request.get(invoiceHref)).status()).toBe(401);
    await replay.close();

    await page.goto('/patient/login');
    const login = page.locator('button[data-passkey="login"]');
    await login.waitFor({ state: 'visible' });
    await login.click();
    await page.waitForURL('**/patient', { timeout: 15_000 });
    expect(await page.locator('[data-result-id]').count()).toBe(1);
    const session = (await context.cookies()).find((c) => c.name === 'sc_session')!;
    expect(session.value).not.toBe(oldCookie.value);
    await context.close();
  });

  it('every HTML page carried the strict CSP and no page reported a CSP violation or script error', async () => {
    expect(htmlResponses.length).toBeGreaterThan(8);
    for (const r of htmlResponses) {
      expect(r.csp, r.url).toBeDefined();
      expect(r.csp).toContain("script-src 'self'");
      expect(r.csp).toContain("style-src 'self'");
      expect(r.csp).not.toContain('unsafe-inline');
    }
    expect(cspViolations).toEqual([]);
    expect(pageErrors).toEqual([]);
    // The detector itself works: an inline script injected into a page is refused and reported.
    const { context, page } = await newPage('en-GB');
    await page.goto('/');
    await page.evaluate(() => {
      const s = document.createElement('script');
      s.textContent = 'window.__inline = 1';
      document.body.appendChild(s);
    });
    await expect.poll(() => cspViolations.length).toBeGreaterThan(0);
    expect(await page.evaluate(() => (window as unknown as { __inline?: number }).__inline)).toBeUndefined();
    cspViolations.length = 0;
    await context.close();
  });
});
