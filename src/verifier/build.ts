/**
 * Builds the verifier web app in memory (server side): bundles `app.ts` and `sw.ts` with esbuild
 * (minified), renders the page, manifest and icons, and versions everything by content hash. Runs
 * once per process, on the first request for /verify, so `npm start` needs no build step; the
 * result is kept in memory and served from there.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { verifierPage } from './page.ts';
import { iconPng } from './icons.ts';

export interface VerifierAsset {
  body: Buffer;
  type: string;
  /** Cache-Control when requested at its current version (or unversioned). */
  cacheControl: string;
  /** For versioned assets: the `v` query value that makes the long cache lifetime safe. */
  version?: string;
}

export interface VerifierBuild {
  /** Content hash of the whole shell: the service worker's cache name. */
  version: string;
  /** By path (no query string). */
  assets: ReadonlyMap<string, VerifierAsset>;
  /** Raw sizes of the two scripts, for the benchmark. */
  scripts: { app: Buffer; sw: Buffer };
}

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
const hash = (...parts: (string | Buffer)[]) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex').slice(0, 16);
};

/** Browsers from 2021 on (camera, service workers, ES2020, Intl.DateTimeFormat). */
const TARGET = ['chrome90', 'firefox90', 'safari15', 'edge90'];

async function bundle(entry: string, define: Record<string, string> = {}): Promise<Buffer> {
  const out = await build({
    entryPoints: [here(entry)],
    bundle: true,
    write: false,
    minify: true,
    format: 'iife',
    platform: 'browser',
    target: TARGET,
    legalComments: 'none',
    charset: 'utf8',
    define,
    logLevel: 'silent',
  });
  return Buffer.from(out.outputFiles[0]!.contents);
}

async function make(): Promise<VerifierBuild> {
  const app = await bundle('./app.ts');
  const css = readFileSync(here('./verifier.css'));
  const assetVersion = hash(app, css);
  const html = Buffer.from(verifierPage(assetVersion));
  const svg = readFileSync(here('../web/assets/icon.svg'));
  const [icon192, icon512] = [iconPng(192), iconPng(512)];
  const manifest = Buffer.from(JSON.stringify({
    name: 'Saufconduit — Vérification du passe',
    short_name: 'Vérif. passe',
    description: 'Vérifie les passes sanitaires hors ligne, sans rien enregistrer. / Verifies health passes offline, keeping nothing.',
    id: '/verify/',
    start_url: '/verify/',
    scope: '/verify/',
    display: 'standalone',
    orientation: 'portrait',
    background_color: '#ffffff',
    theme_color: '#1d4e89',
    lang: 'fr',
    icons: [
      { src: '/verify/icon-192.png', sizes: '192x192', type: 'image/png', purpose: 'any' },
      { src: '/verify/icon-512.png', sizes: '512x512', type: 'image/png', purpose: 'any' },
      { src: '/verify/icon-512.png', sizes: '512x512', type: 'image/png', purpose: 'maskable' },
      { src: '/verify/icon.svg', sizes: 'any', type: 'image/svg+xml', purpose: 'any' },
    ],
  }));
  const shell = ['/verify/', `/verify/app.js?v=${assetVersion}`, `/verify/app.css?v=${assetVersion}`, '/verify/manifest.webmanifest', '/verify/icon.svg', '/verify/icon-192.png', '/verify/icon-512.png'];
  const version = hash(assetVersion, html, manifest, svg, icon192, icon512);
  const sw = await bundle('./sw.ts', { __VERIFIER_VERSION__: JSON.stringify(version), __VERIFIER_SHELL__: JSON.stringify(shell) });

  // The page and the worker are revalidated on every load (the worker decides about offline).
  const revalidate = 'no-cache';
  const hour = 'public, max-age=3600';
  const immutable = 'public, max-age=31536000, immutable';
  const assets = new Map<string, VerifierAsset>([
    ['/verify/', { body: html, type: 'text/html; charset=utf-8', cacheControl: revalidate }],
    ['/verify/app.js', { body: app, type: 'text/javascript; charset=utf-8', cacheControl: immutable, version: assetVersion }],
    ['/verify/app.css', { body: css, type: 'text/css; charset=utf-8', cacheControl: immutable, version: assetVersion }],
    ['/verify/sw.js', { body: sw, type: 'text/javascript; charset=utf-8', cacheControl: revalidate }],
    ['/verify/manifest.webmanifest', { body: manifest, type: 'application/manifest+json', cacheControl: hour }],
    ['/verify/icon.svg', { body: svg, type: 'image/svg+xml', cacheControl: hour }],
    ['/verify/icon-192.png', { body: icon192, type: 'image/png', cacheControl: hour }],
    ['/verify/icon-512.png', { body: icon512, type: 'image/png', cacheControl: hour }],
  ]);
  return { version, assets, scripts: { app, sw } };
}

let building: Promise<VerifierBuild> | null = null;

/** The built app (built on first call, then cached for the life of the process). */
export function verifierBuild(): Promise<VerifierBuild> {
  building ??= make().catch((err: unknown) => {
    building = null; // a failed build is retried on the next request
    throw err;
  });
  return building;
}
