import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { PNG } from 'pngjs';
import jsQRModule from 'jsqr';
import { chromium, type Browser, type Page } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, launchVerifierBrowser, startVerifierServer, tempDir, writeQrVideo, type VerifierServer } from '../verifier/support.ts';

/**
 * The whole chain of issue 4 in Chromium, against the real server on loopback: staff show a
 * counter QR code; the patient scans it (we decode the image) and registers on their phone; staff
 * type the registration code, record a negative test and issue a pass; the patient logs in,
 * downloads the QR code and the PDF; the QR code goes in front of the verifier's (fake) camera and
 * the screen turns green with the name and birth date.
 */
const PERSON = { givenName: 'Rosalie', familyName: 'Chaintreuil', birthDate: '1994-06-21', email: 'rosalie.chaintreuil@example.org', ssn: '294067511234539' };

// jsqr is CommonJS: its default export arrives wrapped or not depending on the loader.
const jsQR = ((jsQRModule as unknown as { default?: typeof jsQRModule }).default ?? jsQRModule) as unknown as typeof jsQRModule.default;

let s: VerifierServer;
let browser: Browser;
const dir = tempDir('saufconduit-chain-');

/** The text of the first QR code in a PNG image, as a phone camera would read it. */
function readQr(png: Buffer): string {
  const img = PNG.sync.read(png);
  const found = jsQR(new Uint8ClampedArray(img.data.buffer, img.data.byteOffset, img.data.length), img.width, img.height);
  if (!found) throw new Error('no QR code in the image');
  return found.data;
}

beforeAll(async () => {
  s = await startVerifierServer();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
});
afterAll(async () => {
  await browser?.close();
  await s?.close();
});

async function staffPage(): Promise<Page> {
  const context = await browser.newContext({ baseURL: s.base, locale: 'fr-FR', timezoneId: 'Europe/Paris' });
  // A full staff session, as after password + TOTP (the login itself is tested in test/web/browser.test.ts).
  const token = s.staff.headers.authorization.replace(/^Bearer /, '');
  await context.addCookies([{ name: 'sc_session', value: s.server.signCookie(token), url: s.base }]);
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  return page;
}

describe('from the pharmacy counter to the venue door', () => {
  it('register on the phone, record, issue, download, verify with the camera', async () => {
    // 1. Staff show a registration QR code for their counter.
    const staff = await staffPage();
    await staff.goto('/pharmacy');
    await staff.click('a[data-counter-link]');
    await staff.fill('#f-counter', 'Comptoir 1');
    await staff.click('form[data-form="registration-link"] button[type="submit"]');
    const qrSrc = (await staff.locator('img[data-registration-qr]').getAttribute('src'))!;
    const registrationUrl = readQr(Buffer.from(qrSrc.replace(/^data:image\/png;base64,/, ''), 'base64'));
    expect(registrationUrl).toMatch(new RegExp(`^${s.base}/register/[A-Za-z0-9_-]+$`));

    // 2. The patient opens it on their own phone (English) and registers.
    const phoneContext = await browser.newContext({ locale: 'en-GB', timezoneId: 'Europe/Paris', viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, acceptDownloads: true });
    const phone = await phoneContext.newPage();
    phone.setDefaultTimeout(15_000);
    await phone.goto(registrationUrl);
    expect(await phone.locator('h1').innerText()).toBe('Register for your test');
    expect(await phone.locator('main').innerText()).toContain('Comptoir 1');
    for (const [k, v] of Object.entries(PERSON)) await phone.fill(`#f-${k}`, v);
    await phone.click('form[data-form="self-registration"] button[type="submit"]');
    const code = (await phone.locator('[data-registration-code]').innerText()).trim();
    expect(code).toMatch(/^[0-9A-Z]{4}-[0-9A-Z]{4}$/);
    // The code survives a reload and a return to the link on this phone, for its 24 hours, with
    // nothing readable kept on the phone: a sealed receipt, sent only to this link's page.
    await phone.reload();
    expect((await phone.locator('[data-registration-code]').innerText()).trim()).toBe(code);
    const again = await phone.context().newPage();
    await again.goto(registrationUrl);
    expect((await again.locator('[data-registration-code]').innerText()).trim()).toBe(code);
    await again.close();
    const receipt = (await phoneContext.cookies()).find((c) => c.name === 'sc_registration')!;
    expect(receipt.httpOnly).toBe(true);
    expect(receipt.path).toBe(new URL(registrationUrl).pathname);
    expect(receipt.value).not.toContain(code.replace('-', ''));
    for (const v of Object.values(PERSON)) expect(decodeURIComponent(receipt.value)).not.toContain(v);
    expect((await phone.evaluate(() => [localStorage.length, sessionStorage.length]))).toEqual([0, 0]);
    // The link was single-use: on any other device, opening it again explains what to do.
    const otherDevice = await browser.newContext({ locale: 'en-GB' });
    const other = await otherDevice.newPage();
    await other.goto(registrationUrl);
    expect(await other.locator('[data-link-closed="used"]').isVisible()).toBe(true);
    await otherDevice.close();

    // 3. Staff type the code, record a negative antigen test, issue the test pass.
    await staff.fill('#f-code', code.toLowerCase());
    await staff.click('form[data-form="registration-lookup"] button[type="submit"]');
    await staff.waitForURL(/\/pharmacy\/patients\/[0-9a-f-]{36}\?done=found$/);
    expect(await staff.locator('[data-done="found"]').isVisible()).toBe(true);
    expect(await staff.locator('#patient-h + dl').innerText()).toContain(PERSON.familyName);
    expect(await staff.locator('[data-field="ssn"]').innerText()).not.toContain(PERSON.ssn.slice(0, 13));
    await staff.selectOption('#f-testType', 'antigen');
    await staff.selectOption('#f-device', '1468');
    await staff.selectOption('#f-outcome', 'negative');
    await staff.click('form[data-form="record-result"] button[type="submit"]');
    await staff.locator('[data-result-id] [data-outcome="negative"]').waitFor();
    await staff.click('[data-result-id] form[data-form="issue-pass"] button[type="submit"]');
    await staff.locator('[data-list="patient-passes"] [data-pass-pdf]').waitFor();
    await staff.context().close();

    // 4. The patient logs in to their space (one-time code + birth date), sees the result, downloads QR and PDF.
    await phone.goto(`${s.base}/patient/login`);
    await phone.fill('#f-login', PERSON.email);
    const sent = s.app.mail.sent.length;
    await phone.click('form[action="/patient/login"] button[type="submit"]');
    await phone.waitForURL('**/patient/login/code');
    const mail = await s.app.mail.waitFor((m) => m.to === PERSON.email && /\d{6}/.test(m.text), { after: sent });
    await phone.fill('#f-code', /(\d{6})/.exec(mail.text)![1]!);
    await phone.fill('#f-birthDate', PERSON.birthDate);
    await phone.click('form[action="/patient/login/code"] button[type="submit"]');
    await phone.waitForURL('**/patient');
    // The record is offered to the new space: its holder accepts it with the birth date given at the counter.
    await phone.fill('[data-offer] input[name="birthDate"]', PERSON.birthDate);
    await phone.click('[data-offer-accept]');
    await phone.waitForURL('**/patient?offer=accepted');
    expect(await phone.locator('[data-result-id]').first().innerText()).toContain('Negative');
    const qrImg = phone.locator('[data-list="passes"] img').first();
    const qrUrl = new URL((await qrImg.getAttribute('src'))!, s.base).toString();
    const png = await phoneContext.request.get(qrUrl);
    expect(png.headers()['content-type']).toBe('image/png');
    const hc1 = readQr(await png.body());
    expect(hc1).toMatch(/^HC1:/);
    const [download] = await Promise.all([phone.waitForEvent('download'), phone.locator('[data-list="passes"] a[data-pass-pdf]').first().click()]);
    expect((await readFile((await download.path())!)).subarray(0, 5).toString('latin1')).toBe('%PDF-');
    await phoneContext.close();

    // 5. At the venue: the verifier's camera sees the downloaded QR code.
    const { context } = await launchVerifierBrowser({ base: s.base, video: writeQrVideo(dir, hc1), locale: 'fr-FR' });
    try {
      const page = context.pages()[0] ?? (await context.newPage());
      await page.goto('/verify');
      await page.locator('#trust[data-state="fresh"]').waitFor();
      await page.click('#camera');
      const box = page.locator('#verdict[data-verdict]');
      await box.waitFor({ state: 'visible' });
      expect(await box.getAttribute('data-verdict')).toBe('valid');
      const text = await box.innerText();
      expect(text).toContain(`${PERSON.givenName} ${PERSON.familyName}`);
      expect(text).toContain('21 juin 1994');
      expect(text).not.toMatch(/test|antig|vaccin|Tilleuls|UVCI|202\d/i);
    } finally {
      await context.close();
    }
  });

  it('a vaccination pass issued by the pharmacy verifies green in the verifier (pasted text)', async () => {
    const list = (await s.server.inject({ url: '/api/passes', headers: s.staff.headers })).json().items as { id: string; kind: string; revokedAt: string | null }[];
    const vacc = list.find((p) => p.kind === 'vaccination' && !p.revokedAt)!;
    const hc1 = (await s.server.inject({ url: `/api/passes/${vacc.id}`, headers: s.staff.headers })).json().hc1 as string;
    const { context } = await launchVerifierBrowser({ base: s.base, locale: 'en-GB' });
    try {
      const page = context.pages()[0] ?? (await context.newPage());
      await page.goto('/verify');
      await page.locator('#trust[data-state="fresh"]').waitFor();
      await page.click('#paste summary');
      await page.fill('#paste-text', hc1);
      await page.click('#paste-form button[type="submit"]');
      const box = page.locator('#verdict[data-verdict]');
      await box.waitFor({ state: 'visible' });
      expect(await box.getAttribute('data-verdict')).toBe('valid');
      expect(await box.innerText()).toContain('Camille Martin');
      expect(await box.innerText()).not.toMatch(/vaccin|Comirnaty|dose/i);
    } finally {
      await context.close();
    }
  });
});
