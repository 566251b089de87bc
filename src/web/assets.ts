import { readFileSync } from 'node:fs';
import { route } from '../http/route.ts';

/** Static assets, read once at start-up and served from memory (no file-system access per request). */
const ASSETS = [
  { file: 'site.css', type: 'text/css; charset=utf-8' },
  { file: 'passkey.js', type: 'text/javascript; charset=utf-8' },
  { file: 'forms.js', type: 'text/javascript; charset=utf-8' },
  { file: 'icon.svg', type: 'image/svg+xml' },
] as const;

const MAX_AGE_SECONDS = 3600;

export const assetRoutes = ASSETS.map(({ file, type }) => {
  const bytes = readFileSync(new URL(`./assets/${file}`, import.meta.url));
  return route({
    method: 'GET', url: `/assets/${file}`, surface: 'web', auth: 'none', policy: 'public', hidden: true,
    summary: `Static asset ${file}.`,
    async handler({ reply }) {
      return reply.type(type).header('cache-control', `public, max-age=${MAX_AGE_SECONDS}`).header('x-content-type-options', 'nosniff').send(bytes);
    },
  });
});
