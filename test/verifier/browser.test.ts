import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext, Page, Request } from 'playwright-core';
import { qrPng } from '../../src/hcert/qr.ts';
import { makeSigner, issue, SAMPLE_DCC } from '../hcert/fixtures.ts';
import type { Json } from '../../src/hcert/index.ts';
import {
  CHROMIUM, issueFreshPass, launchVerifierBrowser, reissue, startVerifierServer, tempDir, uniquePerson, writeQrVideo, uciOf,
  type IssuedPerson, type VerifierServer,
} from './support.ts';

/**
 * The venue verifier end to end in Debian Chromium against the real server: passes issued through
 * the API for new patients, read by Chromium's fake camera (a Y4M video of the QR), by an image file
 * and by pasted text. Then DESIGN.md invariant 7: after many scans, nothing about the people
 * scanned is in cookies, Web Storage, IndexedDB, Cache Storage, the profile on disk, the console or
 * any request. Then offline: network cut after the first load, verification still works, and
 * trust material past its expiry is refused.
 */

let s: VerifierServer;
let dir = '';

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: install Debian's chromium package or set SAUFCONDUIT_CHROMIUM. The browser tests never skip.`);
  s = await startVerifierServer();
  dir = tempDir('saufconduit-verifier-');
});

afterAll(async () => {
  await s?.close();
});

interface Shown {
  verdict: string | null;
  text: string;
}

/** The verdict screen: its state and every line of text on it. */
const readVerdict = (page: Page): Promise<Shown> => page.evaluate(() => {
  const box = document.getElementById('verdict')!;
  return { verdict: box.dataset.verdict ?? null, text: Array.from(box.children).map((c) => c.textContent?.trim()).filter(Boolean).join('\n') };
});

const verdictCount = (page: Page) => page.evaluate(() => performance.getEntriesByName('verdict').length);

/**
 * Wait for the verdict after the `after`-th (the app measures each one), read it and dismiss it
 * with a tap. With the camera still pointed at a pass, a new verdict may follow at once, so waiting
 * for the screen to be wiped is optional.
 */
async function nextVerdict(page: Page, after: number, waitWiped = true): Promise<Shown> {
  await page.waitForFunction((n) => performance.getEntriesByName('verdict').length > n, after);
  const box = page.locator('#verdict');
  const shown = await readVerdict(page);
  await box.click();
  if (waitWiped) await box.waitFor({ state: 'hidden' });
  return shown;
}

async function openVerifier(context: BrowserContext): Promise<Page> {
  const page = context.pages()[0] ?? (await context.newPage());
  await page.goto('/verify');
  expect(new URL(page.url()).pathname).toBe('/verify/');
  await page.locator('#trust[data-state="fresh"]').waitFor();
  return page;
}

async function paste(page: Page, text: string): Promise<Shown> {
  const details = page.locator('#paste');
  if ((await details.getAttribute('open')) === null) await page.click('#paste summary');
  await page.fill('#paste-text', text);
  const n = await verdictCount(page);
  await page.click('#paste-form button[type="submit"]');
  return nextVerdict(page, n);
}

const fullName = (p: { givenName: string; familyName: string }) => `${p.givenName} ${p.familyName}`;
const frenchDob = (iso: string) => new Intl.DateTimeFormat('fr-FR', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' }).format(new Date(`${iso}T00:00:00Z`));
const greenText = (p: IssuedPerson) => `✓\nPasse valide\n${fullName(p)}\nDate de naissance : ${frenchDob(p.birthDate)}\nToucher pour continuer`;

/** A pass signed with a key that is not the issuer's, under the real DSC's kid: authentic-looking, forged. */
async function forgedPass(who: { givenName: string; familyName: string; birthDate: string }): Promise<string> {
  const dsc = (await s.server.inject({ url: '/trust/dsc.json' })).json() as { rawData: string }[];
  const realCert = Uint8Array.from(Buffer.from(dsc[0]!.rawData, 'base64'));
  const forger = makeSigner();
  const t = (SAMPLE_DCC.test as { t: Record<string, Json>[] }).t[0]!;
  const dcc = { ver: '1.3.0', nam: { fn: who.familyName, gn: who.givenName, fnt: who.familyName.toUpperCase(), gnt: 'X' }, dob: who.birthDate, t: [{ ...t, sc: new Date(Date.now() - 3_600_000).toISOString().replace(/\.\d+Z$/, 'Z') }] };
  return issue({ ...forger, certificateDer: realCert }, dcc, new Date(Date.now() - 60_000), new Date(Date.now() + 86_400_000)).hc1;
}

describe('the /verify web app in Chromium', () => {
  it('camera: a freshly issued pass turns the screen green with the name and date of birth only, then wipes itself', async () => {
    const person = await issueFreshPass(s, uniquePerson(0));
    const { context } = await launchVerifierBrowser({ base: s.base, video: writeQrVideo(dir, person.hc1) });
    try {
      const page = await openVerifier(context);
      expect(await page.locator('html').getAttribute('lang')).toBe('fr');
      await page.click('#camera');
      const box = page.locator('#verdict[data-verdict]');
      await box.waitFor({ state: 'visible' });
      // Exactly this and nothing else: no test type, no result, no dates, no identifier, no issuer.
      expect(await readVerdict(page)).toEqual({ verdict: 'valid', text: greenText(person) });
      expect(await box.innerText()).not.toMatch(/test|antig|PCR|vaccin|Tilleuls|UVCI|20\d\d/i);
      // Stop the camera under the verdict (else it reads the pass again), then let the verdict time out.
      const started = Date.now();
      await page.evaluate(() => document.getElementById('camera')!.click());
      await page.locator('#verdict').waitFor({ state: 'hidden', timeout: 8_000 });
      expect(Date.now() - started).toBeGreaterThan(3_000);
      expect(await readVerdict(page)).toEqual({ verdict: null, text: 'Toucher pour continuer' });
      expect(await page.locator('body').innerText()).not.toContain(person.familyName);
      // The measure the benchmark reads: a duration with no data in its name or detail.
      const measures = await page.evaluate(() => performance.getEntriesByName('verdict').map((e) => ({ name: e.name, duration: e.duration, detail: (e as PerformanceMeasure).detail })));
      expect(measures.length).toBeGreaterThanOrEqual(1);
      expect(measures[0]).toMatchObject({ name: 'verdict', detail: null });
    } finally {
      await context.close();
    }
  });

  it('the keyboard shows where it is on "read an image", and "tap to continue" reads at full contrast', async () => {
    const { context } = await launchVerifierBrowser({ base: s.base });
    try {
      const page = await openVerifier(context);
      for (let i = 0; i < 12 && (await page.evaluate(() => document.activeElement?.id)) !== 'image'; i++) await page.keyboard.press('Tab');
      expect(await page.evaluate(() => document.activeElement?.id)).toBe('image');
      // The input is visually hidden: its label carries the focus ring.
      expect(await page.locator('label[for="image"]').evaluate((l) => getComputedStyle(l).outlineStyle)).toBe('solid');
      // White at full opacity on the verdict's green (#0b7a35): about 5.4:1, over the 4.5:1 text needs.
      expect(await page.locator('.verdict-dismiss').evaluate((p) => [getComputedStyle(p).opacity, getComputedStyle(p).color])).toEqual(['1', 'rgb(255, 255, 255)']);
    } finally {
      await context.close();
    }
  });

  it('camera: a revoked pass turns red, without any personal data on screen', async () => {
    const person = await issueFreshPass(s, uniquePerson(1));
    await reissue(s, person); // the pass leaked: revoked, a new one issued
    const { context } = await launchVerifierBrowser({ base: s.base, video: writeQrVideo(dir, person.hc1), locale: 'en-GB' });
    try {
      const page = await openVerifier(context);
      expect(await page.locator('html').getAttribute('lang')).toBe('en');
      await page.click('#camera');
      const shown = await nextVerdict(page, 0, false);
      expect(shown).toEqual({ verdict: 'invalid', text: '✗\nPass not valid\nThis pass has been revoked.\nTap to continue' });
    } finally {
      await context.close();
    }
  });

  it('camera: a forged pass (right kid, wrong key) turns red', async () => {
    const hc1 = await forgedPass(uniquePerson(2));
    const { context } = await launchVerifierBrowser({ base: s.base, video: writeQrVideo(dir, hc1) });
    try {
      const page = await openVerifier(context);
      await page.click('#camera');
      expect(await nextVerdict(page, 0, false)).toEqual({ verdict: 'invalid', text: '✗\nPasse non valide\nCe passe n’est pas authentique.\nToucher pour continuer' });
      // Stop the camera (under any verdict it read again meanwhile), clear the screen.
      await page.evaluate(() => document.getElementById('camera')!.click());
      if (await page.locator('#verdict').isVisible()) await page.locator('#verdict').click();
      await page.locator('#verdict').waitFor({ state: 'hidden' });
      // The language switch works in place (and stores nothing).
      await page.click('#lang');
      expect(await page.locator('html').getAttribute('lang')).toBe('en');
      expect(await page.locator('#camera').innerText()).toBe('Scan with the camera');
      expect(await page.locator('#trust').innerText()).toMatch(/^Trust lists updated \d+ min ago \(valid until .+\)\.$/);
    } finally {
      await context.close();
    }
  });

  it('keeps nothing: after 24 scans no cookie, storage, IndexedDB, cache entry, profile file, console line or request carries the people scanned', async () => {
    const people: IssuedPerson[] = [];
    for (let i = 0; i < 9; i++) people.push(await issueFreshPass(s, uniquePerson(10 + i)));
    const revoked = await issueFreshPass(s, uniquePerson(20));
    await reissue(s, revoked);
    const stale = await issueFreshPass(s, uniquePerson(21), 80); // authentic, but the test is too old
    const forgedWho = uniquePerson(22);
    const forged = await forgedPass(forgedWho);
    const everyone = [...people, revoked, stale, { ...forgedWho, hc1: forged, uci: uciOf(forged), passId: '' }];

    const { context, profileDir } = await launchVerifierBrowser({ base: s.base, video: writeQrVideo(dir, people[0]!.hc1) });
    const pageRequests: { url: string; headers: Record<string, string>; body: string | null }[] = [];
    const record = (r: Request) => pageRequests.push({ url: r.url(), headers: r.headers(), body: r.postData() });
    context.on('request', record);
    const consoleLines: string[] = [];
    context.on('console', (m) => consoleLines.push(m.text()));
    context.on('weberror', (e) => consoleLines.push(`page error: ${e.error().message}`));
    let page: Page;
    try {
      page = await openVerifier(context);
      page.on('request', record);
      await page.evaluate(() => navigator.serviceWorker.ready.then(() => undefined));
      // The recorders work: both saw the browser fetch the trust bundle.
      expect(s.browserRequests.some((r) => r.method === 'GET' && r.url === '/trust/bundle.jws')).toBe(true);
      expect(pageRequests.some((r) => new URL(r.url).pathname === '/trust/bundle.jws')).toBe(true);
      const requestsBefore = [s.browserRequests.length, pageRequests.length];

      const shown: Shown[] = [];
      // 3 by camera (each tap on the verdict lets the camera read the same pass again).
      await page.click('#camera');
      for (let i = 0; i < 3; i++) {
        if (i === 2) {
          await page.waitForFunction(() => performance.getEntriesByName('verdict').length > 2);
          await page.evaluate(() => document.getElementById('camera')!.click()); // stop the camera under the verdict
        }
        shown.push(await nextVerdict(page, i, i === 2));
      }
      expect(await page.locator('#viewfinder').isVisible()).toBe(false);
      // 18 by pasted text: valid and refused passes alike, most people twice.
      for (const p of [...people.slice(1), revoked, stale, everyone.at(-1)!]) shown.push(await paste(page, p.hc1));
      for (const p of people.slice(1, 8)) shown.push(await paste(page, p.hc1));
      // 3 by image file.
      for (const p of people.slice(6, 9)) {
        const n = await verdictCount(page);
        await page.setInputFiles('#image', { name: 'pass.png', mimeType: 'image/png', buffer: await qrPng(p.hc1, 4) });
        shown.push(await nextVerdict(page, n));
      }
      expect(shown.length).toBe(24);
      // What was on screen is what we search for below: the matcher is fed the real strings.
      expect(shown.filter((v) => v.verdict === 'valid').length).toBe(3 + 8 + 7 + 3);
      for (const [i, v] of shown.slice(0, 3).entries()) expect(v.text, `camera ${i}`).toBe(greenText(people[0]!));
      expect(shown[3]!.text).toBe(greenText(people[1]!));
      expect(shown.slice(11, 14).map((v) => v.text.split('\n')[2])).toEqual(['Ce passe a été révoqué.', 'Ce passe ne permet pas l’accès aujourd’hui.', 'Ce passe n’est pas authentique.']);

      // Not one request while scanning: verification happens in the page.
      expect([s.browserRequests.length, pageRequests.length]).toEqual(requestsBefore);

      const secrets = everyone.flatMap((p) => [p.familyName, fullName(p), p.birthDate, p.uci, p.hc1, p.hc1.slice(4, 60), p.hc1.slice(-60)]);
      const leaks = (where: string, text: string) => secrets.filter((x) => text.includes(x)).map((x) => `${where}: ${x.slice(0, 30)}`);
      // Self-check of the matcher on a string that does contain a secret.
      expect(leaks('control', `xx${people[3]!.familyName}xx`).length).toBe(1);

      const found: string[] = [];
      // Cookies: none at all.
      expect(await context.cookies()).toEqual([]);
      const state = await page.evaluate(async () => {
        const cacheDump: { cache: string; url: string; body: string; headers: string }[] = [];
        for (const name of await caches.keys()) {
          const cache = await caches.open(name);
          for (const req of await cache.keys()) {
            const res = (await cache.match(req))!;
            const headers: string[] = [];
            res.headers.forEach((v, k) => headers.push(`${k}: ${v}`));
            cacheDump.push({ cache: name, url: req.url, body: await res.text(), headers: headers.join('\n') });
          }
        }
        const registrations = await navigator.serviceWorker.getRegistrations();
        return {
          local: Object.entries({ ...localStorage }), session: Object.entries({ ...sessionStorage }),
          idb: (await indexedDB.databases()).map((d) => d.name ?? ''),
          caches: cacheDump,
          workers: registrations.map((r) => ({ scope: r.scope, script: r.active?.scriptURL ?? '' })),
          dom: document.documentElement.outerHTML,
          url: location.href,
          historyLength: history.length,
          performance: performance.getEntries().map((e) => e.name).join('\n'),
        };
      });
      expect(state.local).toEqual([]);
      expect(state.session).toEqual([]);
      expect(state.idb).toEqual([]);
      expect(state.workers).toEqual([{ scope: `${s.base}/verify/`, script: `${s.base}/verify/sw.js` }]);
      // Cache Storage holds the app shell and the two trust documents, nothing else.
      const cacheNames = [...new Set(state.caches.map((c) => c.cache))].sort();
      expect(cacheNames).toEqual([expect.stringMatching(/^verifier-shell-[0-9a-f]{16}$/), 'verifier-trust']);
      const trust = state.caches.filter((c) => c.cache === 'verifier-trust').map((c) => new URL(c.url).pathname).sort();
      expect(trust).toEqual(['/trust/anchor.json', '/trust/bundle.jws']);
      for (const c of state.caches.filter((x) => x.cache !== 'verifier-trust')) expect(new URL(c.url).pathname).toMatch(/^\/verify\/(|app\.js|app\.css|manifest\.webmanifest|icon\.svg|icon-192\.png|icon-512\.png)$/);
      for (const c of state.caches) found.push(...leaks(`cache ${c.url}`, c.url + c.headers + c.body));
      found.push(...leaks('dom', state.dom), ...leaks('url', state.url), ...leaks('performance', state.performance));
      for (const line of consoleLines) found.push(...leaks('console', line));
      // The strict CSP held (no violation reported) and no script failed.
      expect(consoleLines.filter((l) => /Content Security Policy|Refused to|page error/i.test(l))).toEqual([]);
      // Every request the page, its worker or the browser made, seen from both ends.
      for (const r of pageRequests) found.push(...leaks(`request ${r.url}`, r.url + JSON.stringify(r.headers) + (r.body ?? '')));
      for (const r of s.browserRequests) found.push(...leaks(`server saw ${r.url}`, r.url + JSON.stringify(r.headers) + r.body));
      for (const r of [...pageRequests.map((x) => new URL(x.url).pathname), ...s.browserRequests.map((x) => x.url.split('?')[0]!)]) {
        expect(r).toMatch(/^\/(verify\/?.*|trust\/(anchor\.json|bundle\.jws)|favicon\.ico)$/);
      }
      expect(found).toEqual([]);
      // A canary that must be found on disk, proving the profile scan below reads Web Storage.
      await page.evaluate(() => localStorage.setItem('probe', 'VERIFIER-DISK-CANARY'));
    } finally {
      await context.close();
    }
    // The whole Chromium profile on disk (LevelDB, Cache Storage, HTTP cache, session, history,
    // autofill…): no file holds a scanned name, identifier or QR text, in UTF-8 or UTF-16.
    const anchorKid = ((await s.server.inject({ url: '/trust/anchor.json' })).json() as { kid: string }).kid;
    const needles = [...everyone.flatMap((p) => [p.familyName, p.uci, p.hc1.slice(4, 40)]), 'VERIFIER-DISK-CANARY', anchorKid];
    const hits = new Map<string, string[]>();
    const walk = (d: string) => {
      for (const name of readdirSync(d)) {
        const f = join(d, name);
        const st = statSync(f, { throwIfNoEntry: false });
        if (!st) continue;
        if (st.isDirectory()) walk(f);
        else if (st.isFile() && st.size < 64 * 1024 * 1024) {
          const bytes = readFileSync(f);
          for (const n of needles) {
            if (bytes.includes(Buffer.from(n, 'utf8')) || bytes.includes(Buffer.from(n, 'utf16le'))) hits.set(n, [...(hits.get(n) ?? []), f.slice(profileDir.length)]);
          }
        }
      }
    };
    walk(profileDir);
    expect(hits.has('VERIFIER-DISK-CANARY'), 'the disk scan reads Web Storage').toBe(true);
    expect(hits.has(anchorKid), 'the disk scan reads Cache Storage').toBe(true);
    hits.delete('VERIFIER-DISK-CANARY');
    hits.delete(anchorKid);
    expect(Object.fromEntries(hits)).toEqual({});
  });

  it('offline: after one load the network is cut, the app reloads and still verifies; trust material past its expiry is refused, never green', async () => {
    const person = await issueFreshPass(s, uniquePerson(30));
    const { context } = await launchVerifierBrowser({ base: s.base });
    try {
      let page = await openVerifier(context);
      await page.evaluate(() => navigator.serviceWorker.ready.then(() => undefined));
      await expect.poll(() => page.evaluate(async () => (await caches.keys()).length)).toBe(2);

      s.cut.value = true;
      await context.setOffline(true);
      await page.reload();
      await page.locator('#trust[data-state="fresh"]').waitFor();
      await expect.poll(() => page.locator('#offline').isVisible(), { timeout: 5_000 }).toBe(true);
      expect(await paste(page, person.hc1)).toEqual({ verdict: 'valid', text: greenText(person) });

      // 73 hours later, still offline: the 72-hour bundle has expired.
      await page.close();
      page = await context.newPage();
      await page.clock.install({ time: new Date(Date.now() + 73 * 3_600_000) });
      await page.goto('/verify/');
      await page.locator('#trust[data-state="expired"]').waitFor();
      expect(await page.locator('#blocked').isVisible()).toBe(true);
      expect(await page.locator('#blocked').innerText()).toContain('reconnectez l’appareil');
      expect(await page.locator('#scan').isVisible()).toBe(false);
      // Even a scan pushed past the hidden controls gets no verdict at all.
      await page.evaluate((text) => {
        (document.getElementById('paste-text') as HTMLTextAreaElement).value = text;
        document.getElementById('paste-form')!.dispatchEvent(new Event('submit', { cancelable: true }));
      }, person.hc1);
      await page.waitForTimeout(1_500);
      expect(await page.locator('#verdict').isVisible()).toBe(false);
      expect(await page.locator('#verdict').getAttribute('data-verdict')).toBeNull();
    } finally {
      s.cut.value = false;
      await context.close();
    }
  });

  it('refuses trust material that does not verify under the pinned anchor, and never stores it', async () => {
    const person = await issueFreshPass(s, uniquePerson(40));
    const { context } = await launchVerifierBrowser({ base: s.base });
    try {
      const real = (await s.server.inject({ url: '/trust/bundle.jws' })).body;
      const [h, p, sig] = real.split('.') as [string, string, string];
      // The same bundle with a revocation list emptied after signing (a rollback attempt).
      const body = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as Record<string, unknown>;
      const tampered = `${h}.${Buffer.from(JSON.stringify({ ...body, revocation: { UCI: [], COUNTRYCODEUCI: [], SIGNATURE: [] } })).toString('base64url')}.${sig}`;
      await context.route('**/trust/bundle.jws', (route) => route.fulfill({ status: 200, contentType: 'application/jose', body: tampered }));
      const page = context.pages()[0] ?? (await context.newPage());
      await page.goto('/verify/');
      await page.locator('#trust[data-state="refused"]').waitFor();
      expect(await page.locator('#blocked').isVisible()).toBe(true);
      expect(await page.locator('#scan').isVisible()).toBe(false);
      const stored = await page.evaluate(async () => (await (await caches.open('verifier-trust')).keys()).map((r) => new URL(r.url).pathname));
      expect(stored).toEqual(['/trust/anchor.json']);
      // With the genuine bundle the same device verifies.
      await context.unroute('**/trust/bundle.jws');
      await page.reload();
      await page.locator('#trust[data-state="fresh"]').waitFor();
      expect((await paste(page, person.hc1)).verdict).toBe('valid');
    } finally {
      await context.close();
    }
  });

  it('is installable: manifest, icons and a service worker controlling /verify/, with no installability errors', async () => {
    const { context } = await launchVerifierBrowser({ base: s.base });
    try {
      const page = await openVerifier(context);
      await page.evaluate(() => navigator.serviceWorker.ready.then(() => undefined));
      await page.reload();
      await page.locator('#trust[data-state="fresh"]').waitFor();
      expect(await page.evaluate(() => navigator.serviceWorker.controller?.scriptURL)).toBe(`${s.base}/verify/sw.js`);
      const cdp = await context.newCDPSession(page);
      const { installabilityErrors } = (await cdp.send('Page.getInstallabilityErrors')) as { installabilityErrors: { errorId: string }[] };
      expect(installabilityErrors).toEqual([]);
      const manifest = (await cdp.send('Page.getAppManifest')) as { url: string; errors: unknown[] };
      expect(manifest.url).toBe(`${s.base}/verify/manifest.webmanifest`);
      expect(manifest.errors).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
