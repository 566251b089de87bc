/**
 * The verifier's service worker (scope `/verify/`): makes the app shell available offline.
 *
 * It caches exactly the shell files listed at build time, in a cache named after the build's
 * version, and answers only requests for those files. Every other request (trust material, anything
 * else) is left to the network untouched and never cached here: the page itself stores the two
 * trust documents (see keeper.ts), and nothing derived from a scan ever makes a request at all.
 */

// Replaced at build time (src/verifier/build.ts).
declare const __VERIFIER_VERSION__: string;
declare const __VERIFIER_SHELL__: readonly string[];

interface ExtendableEvent extends Event {
  waitUntil(p: Promise<unknown>): void;
}
interface FetchEvent extends ExtendableEvent {
  readonly request: Request;
  respondWith(r: Promise<Response>): void;
}
interface ServiceWorkerScope {
  addEventListener(type: 'install' | 'activate', listener: (e: ExtendableEvent) => void): void;
  addEventListener(type: 'fetch', listener: (e: FetchEvent) => void): void;
  skipWaiting(): Promise<void>;
  clients: { claim(): Promise<void> };
  location: Location;
}

const scope = self as unknown as ServiceWorkerScope;
const SHELL_PREFIX = 'verifier-shell-';
const SHELL_CACHE = SHELL_PREFIX + __VERIFIER_VERSION__;
const SHELL = new Set(__VERIFIER_SHELL__);
const PAGE = '/verify/';

scope.addEventListener('install', (e) => {
  e.waitUntil((async () => {
    const cache = await caches.open(SHELL_CACHE);
    // `reload`: fetch fresh copies, never the HTTP cache's, so one version's files stay together.
    await cache.addAll([...SHELL].map((url) => new Request(url, { cache: 'reload', credentials: 'omit' })));
    await scope.skipWaiting();
  })());
});

scope.addEventListener('activate', (e) => {
  e.waitUntil((async () => {
    for (const name of await caches.keys()) if (name.startsWith(SHELL_PREFIX) && name !== SHELL_CACHE) await caches.delete(name);
    await scope.clients.claim();
  })());
});

scope.addEventListener('fetch', (e) => {
  const req = e.request;
  if (req.method !== 'GET') return;
  const url = new URL(req.url);
  if (url.origin !== scope.location.origin) return;
  // The page is served from the shell whatever its query string; other shell files match exactly.
  const key = req.mode === 'navigate' && url.pathname === PAGE ? PAGE : url.pathname + url.search;
  if (!SHELL.has(key)) return;
  e.respondWith((async () => {
    const hit = await (await caches.open(SHELL_CACHE)).match(key);
    return hit ?? fetch(req);
  })());
});
