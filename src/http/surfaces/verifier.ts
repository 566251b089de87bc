import type { FastifyReply, FastifyRequest } from 'fastify';
import { route, type RouteSpec } from '../route.ts';
import { verifierBuild } from '../../verifier/build.ts';

/**
 * Headers of every /verify answer. The camera is allowed for this origin only, every other
 * powerful feature is off; no referrer ever leaves (the global `no-referrer` is kept, unlike the
 * server-rendered pages). These answers never set a cookie: the verifier has no session.
 */
const PERMISSIONS_POLICY = 'camera=(self), microphone=(), geolocation=(), payment=(), usb=(), bluetooth=(), serial=(), hid=(), display-capture=()';

async function serve(path: string, req: FastifyRequest, reply: FastifyReply) {
  const asset = (await verifierBuild()).assets.get(path)!;
  const v = (req.query as Record<string, unknown> | undefined)?.v;
  // A long lifetime only for the exact version asked for; an old or missing version revalidates.
  const cacheControl = asset.version && v !== asset.version ? 'no-cache' : asset.cacheControl;
  reply.header('cache-control', cacheControl).header('permissions-policy', PERMISSIONS_POLICY).header('x-content-type-options', 'nosniff');
  if (path === '/verify/sw.js') reply.header('service-worker-allowed', '/verify/');
  return reply.type(asset.type).send(asset.body);
}

const FILES: { path: string; summary: string; produces?: RouteSpec['produces'] }[] = [
  { path: '/verify/', summary: 'The offline venue verifier (installable web app).', produces: 'text/html' },
  { path: '/verify/app.js', summary: 'Verifier script (bundled, versioned by ?v=).' },
  { path: '/verify/app.css', summary: 'Verifier style sheet (versioned by ?v=).' },
  { path: '/verify/sw.js', summary: 'Verifier service worker (scope /verify/): caches the app shell only.' },
  { path: '/verify/manifest.webmanifest', summary: 'Verifier web app manifest.' },
  { path: '/verify/icon.svg', summary: 'Verifier icon (SVG).' },
  { path: '/verify/icon-192.png', summary: 'Verifier icon, 192 px.' },
  { path: '/verify/icon-512.png', summary: 'Verifier icon, 512 px (also maskable).' },
];

/** The offline venue verifier at /verify: its page, script, service worker, manifest and icons. */
export const verifierRoutes: RouteSpec[] = [
  route({
    method: 'GET', url: '/verify', surface: 'verifier', auth: 'none', policy: 'public', hidden: true, produces: 'text/html',
    summary: 'The verifier lives at /verify/ (the service worker scope).',
    async handler({ reply }) {
      return reply.header('permissions-policy', PERMISSIONS_POLICY).redirect('/verify/', 308);
    },
  }),
  ...FILES.map(({ path, summary, produces }) => route({
    method: 'GET', url: path, surface: 'verifier', auth: 'none', policy: 'public', hidden: true, summary, ...(produces ? { produces } : {}),
    handler: ({ req, reply }) => serve(path, req, reply),
  })),
];
