import { describe, expect, it } from 'vitest';
import { gzipSync } from 'node:zlib';
import { PNG } from 'pngjs';
import { useDemoServer } from '../support/demo.ts';
import { verifierRoutes } from '../../src/http/surfaces/verifier.ts';
import { verifierBuild } from '../../src/verifier/build.ts';
import { importAnchor, openBundle, freshness } from '../../src/verifier/trust.ts';

/**
 * What the server hands the verifier: the app shell with its headers (strict CSP, camera for this
 * origin only, no referrer, never a cookie), a versioned script within its size budget that
 * names no storage or tracking API, a service worker for /verify/, an installable manifest, and
 * trust material in the shape the app verifies.
 */
const PATHS = ['/verify/', '/verify/app.js', '/verify/app.css', '/verify/sw.js', '/verify/manifest.webmanifest', '/verify/icon.svg', '/verify/icon-192.png', '/verify/icon-512.png'];

describe('verifier routes', () => {
  const demo = useDemoServer('pglite');
  const get = (url: string, headers: Record<string, string> = {}) => demo.server.inject({ method: 'GET', url, headers });

  it('are public, hidden from OpenAPI, and on the verifier surface', () => {
    expect(verifierRoutes.map((r) => r.url).sort()).toEqual(['/verify', ...PATHS].sort());
    for (const r of verifierRoutes) expect(r).toMatchObject({ method: 'GET', surface: 'verifier', auth: 'none', policy: 'public', hidden: true });
  });

  it('/verify redirects into the service-worker scope /verify/', async () => {
    const res = await get('/verify');
    expect(res.statusCode).toBe(308);
    expect(res.headers.location).toBe('/verify/');
  });

  it('every answer has the strict CSP, camera for this origin only, no referrer, and never sets a cookie', async () => {
    for (const path of PATHS) {
      // Even a browser that carries cookies from the rest of the site gets none back.
      const res = await get(path, { cookie: 'lang=en; sc_session=whatever', 'accept-language': 'en' });
      expect(res.statusCode, path).toBe(200);
      expect(res.headers['set-cookie'], path).toBeUndefined();
      const csp = String(res.headers['content-security-policy']);
      expect(csp).toContain("default-src 'none'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("worker-src 'self'");
      expect(csp).toContain("manifest-src 'self'");
      expect(csp).not.toContain('unsafe');
      expect(res.headers['referrer-policy']).toBe('no-referrer');
      expect(res.headers['permissions-policy']).toMatch(/^camera=\(self\), microphone=\(\), geolocation=\(\)/);
      expect(res.headers['x-content-type-options']).toBe('nosniff');
    }
  });

  it('serves the page with versioned assets: long-lived at their version, revalidated otherwise', async () => {
    const page = await get('/verify/');
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['cache-control']).toBe('no-cache');
    const v = /\/verify\/app\.js\?v=([0-9a-f]{16})"/.exec(page.body)?.[1];
    expect(v).toBeDefined();
    expect(page.body).toContain(`/verify/app.css?v=${v}`);
    expect(page.body).not.toMatch(/<script(?![^>]*\bsrc=)/); // no inline script
    expect(page.body).not.toMatch(/\sstyle=/);
    const js = await get(`/verify/app.js?v=${v}`);
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect((await get('/verify/app.js?v=0000000000000000')).headers['cache-control']).toBe('no-cache');
    expect((await get('/verify/app.js')).headers['cache-control']).toBe('no-cache');
    expect((await get(`/verify/app.css?v=${v}`)).headers['content-type']).toBe('text/css; charset=utf-8');
  });

  it('serves the service worker as JavaScript for the /verify/ scope, caching only the shell it names', async () => {
    const sw = await get('/verify/sw.js');
    expect(sw.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(sw.headers['cache-control']).toBe('no-cache');
    expect(sw.headers['service-worker-allowed']).toBe('/verify/');
    const build = await verifierBuild();
    expect(sw.body).toContain(build.version);
    const shell = JSON.parse(/(\["\/verify\/".*?\])/.exec(sw.body)![1]!) as string[];
    expect(shell.every((u) => u.startsWith('/verify/'))).toBe(true);
    expect(shell).not.toContain('/trust/bundle.jws');
  });

  it('has an installable manifest with 192 and 512 px PNG icons', async () => {
    const res = await get('/verify/manifest.webmanifest');
    expect(res.headers['content-type']).toBe('application/manifest+json');
    const m = res.json() as { start_url: string; scope: string; display: string; icons: { src: string; sizes: string; type: string }[] };
    expect(m).toMatchObject({ start_url: '/verify/', scope: '/verify/', display: 'standalone' });
    for (const size of [192, 512]) {
      const icon = m.icons.find((i) => i.sizes === `${size}x${size}` && i.type === 'image/png')!;
      const png = PNG.sync.read((await get(icon.src)).rawPayload);
      expect([png.width, png.height]).toEqual([size, size]);
    }
  });

  it('bundles a script within the size budget that names no storage, beacon or socket API and fetches in one place', async () => {
    const { scripts } = await verifierBuild();
    expect(gzipSync(scripts.app).length).toBeLessThan(150 * 1024);
    const js = scripts.app.toString('utf8');
    for (const api of ['localStorage', 'sessionStorage', 'indexedDB', 'document.cookie', 'cookieStore', 'sendBeacon', 'XMLHttpRequest', 'WebSocket', 'EventSource', 'console.', 'eval(', 'new Function']) {
      expect(js.includes(api), api).toBe(false);
    }
    // The one network call is the trust download (keeper.ts).
    expect(js.split('fetch(').length - 1).toBe(1);
  });

  it('publishes trust material the app accepts: the bundle verifies under the anchor and is fresh', async () => {
    const anchor = await importAnchor((await get('/trust/anchor.json')).json());
    const bundle = await openBundle((await get('/trust/bundle.jws')).body, anchor);
    expect(freshness(bundle, new Date()).state).toBe('fresh');
    expect(bundle.trustList.byKid.size).toBeGreaterThanOrEqual(1);
  });
});
