import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, expect } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { SESSION_COOKIE } from '../../src/http/authenticate.ts';
import { buildServer } from '../../src/http/server.ts';
import { demoCredentials, seedDemo, type DemoPrincipal } from '../../src/demo/world.ts';
import { freePort } from './net.ts';
import { openTestApp, type TestApp } from './engines.ts';

/** Debian's Chromium, headless; the browser tests never skip when it is missing, they fail. */
export const CHROMIUM = process.env.SAUFCONDUIT_CHROMIUM ?? '/usr/bin/chromium';
const ARGS = ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const AXE = await readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: the browser tests never skip.`);
  return chromium.launch({ executablePath: CHROMIUM, args: ARGS });
}

/**
 * axe-core on the page as it stands (evaluated through the DevTools protocol, which the page's CSP
 * does not govern), then the same page at 320 px wide: nothing may scroll sideways (WCAG 1.4.10).
 */
export async function accessible(page: Page, state: string): Promise<void> {
  await page.evaluate(AXE);
  const result = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run(ctx: Document, opts: object): Promise<{ violations: { id: string; impact: string; nodes: { target: string[] }[] }[] }> } }).axe;
    return axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
  });
  const serious = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  expect(serious, `${state} (${page.url()})`).toEqual([]);
  const size = page.viewportSize()!;
  await page.setViewportSize({ width: 320, height: 800 });
  const overflow = await page.evaluate(() => {
    const over = document.documentElement.scrollWidth - document.documentElement.clientWidth;
    const cw = document.documentElement.clientWidth + 1;
    // The outermost elements that stick out (their parent does not), to say which element to fix.
    const wide = Array.from(document.querySelectorAll('body *')).filter((e) => e.getBoundingClientRect().right > cw && e.parentElement!.getBoundingClientRect().right <= cw)
      .slice(0, 5).map((e) => `${e.tagName.toLowerCase()}${e.id ? `#${e.id}` : ''}.${e.className} in ${e.parentElement!.tagName.toLowerCase()}.${e.parentElement!.className}`);
    return { over, wide };
  });
  await page.setViewportSize(size);
  expect(overflow.over, `${state} scrolls sideways at 320 px: ${overflow.wide.join(' | ')}`).toBeLessThanOrEqual(0);
}

/** A browser context logged in with `token` (a session of the demo credentials), or anonymous. */
export async function contextAs(browser: Browser, server: FastifyInstance, base: string, token: string | null, locale: string, viewport: { width: number; height: number } = { width: 1280, height: 800 }): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ baseURL: base, locale, timezoneId: 'Europe/Paris', viewport });
  if (token) await context.addCookies([{ name: SESSION_COOKIE, value: (server as unknown as { signCookie(v: string): string }).signCookie(token), url: base, httpOnly: true, sameSite: 'Lax' }]);
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  return { context, page };
}

export interface BrowserDemo {
  app: TestApp;
  server: FastifyInstance;
  browser: Browser;
  base: string;
  principals: DemoPrincipal[];
  /** A demo principal by its name in the credentials file. */
  who(name: string): DemoPrincipal;
  /** A browser context logged in as `p` (or anonymous), at `viewport`. */
  as(p: DemoPrincipal | null, locale: string, viewport?: { width: number; height: number }): Promise<{ context: BrowserContext; page: Page }>;
}

/**
 * The demo world on PGlite behind a real listening server, its credentials and Chromium, for the
 * enclosing file: set up before its tests, torn down after (the browser tests' useDemoServer).
 */
export function useBrowserDemo(): BrowserDemo {
  const ctx = {
    who(name: string) {
      const p = ctx.principals.find((x) => x.name === name);
      if (!p) throw new Error(`no demo principal named ${name}`);
      return p;
    },
    as(p: DemoPrincipal | null, locale: string, viewport?: { width: number; height: number }) {
      return contextAs(ctx.browser, ctx.server, ctx.base, p ? p.headers.authorization.slice('Bearer '.length) : null, locale, viewport);
    },
  } as BrowserDemo;
  beforeAll(async () => {
    const port = await freePort();
    ctx.base = `http://localhost:${port}`;
    ctx.app = await openTestApp('pglite', { publicUrl: ctx.base });
    await seedDemo(ctx.app);
    ctx.principals = (await demoCredentials(ctx.app)).principals;
    ctx.server = await buildServer(ctx.app);
    await ctx.server.listen({ port, host: '127.0.0.1' });
    ctx.browser = await launchChromium();
  });
  afterAll(async () => {
    await ctx.browser?.close();
    await ctx.server?.close();
    await ctx.app?.dispose();
  });
  return ctx;
}
