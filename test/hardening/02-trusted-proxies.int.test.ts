import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { openTestApp, type TestApp } from '../support/engines.ts';
import { buildServer } from '../../src/http/server.ts';
import { loadConfig } from '../../src/config/config.ts';
import { appendingProxy, send } from '../support/proxy.ts';

/**
 * Finding 2 (security hardening): `SAUFCONDUIT_TRUST_PROXY=true` trusted the client's own
 * X-Forwarded-For, so every per-IP control reset at will and logged pseudonyms were chosen by the
 * attacker. Now only a hop count or a list of proxy addresses is accepted, `true` is refused, and
 * behind a real appending proxy the client is the address the proxy appended, whatever it wrote.
 * Driven over real sockets (client → appending proxy → server), from distinct loopback addresses.
 */
const LOGIN = JSON.stringify({ login: 'nobody@nowhere.example', password: 'wrong-password' });

interface Running {
  app: TestApp;
  server: FastifyInstance;
  port: number;
  /** The pseudonymised client address of each request, in order (from the JSON log). */
  ips: string[];
}

async function start(trustProxy: string, authLimit = 3): Promise<Running> {
  const ips: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const line of String(chunk).split('\n').filter(Boolean)) {
        const e = JSON.parse(line) as { msg?: string; req?: { ip?: string } };
        if (e.msg === 'incoming request' && e.req?.ip) ips.push(e.req.ip);
      }
      cb();
    },
  });
  const app = await openTestApp('pglite', { trustProxy, authRateLimitPerMinute: authLimit, logLevel: 'info' });
  const server = await buildServer(app, { logStream: sink });
  await server.listen({ port: 0, host: '127.0.0.1' });
  return { app, server, port: (server.server.address() as { port: number }).port, ips };
}

const stop = async (r: Running | undefined) => {
  await r?.server.close();
  await r?.app.dispose();
};

describe('finding 2: trusted proxies', () => {
  it('refuses `true` (and nonsense) with a message naming what to write instead', () => {
    expect(() => loadConfig({}, { SAUFCONDUIT_TRUST_PROXY: 'true' })).toThrow(/hop count|addresses/);
    expect(() => loadConfig({}, { SAUFCONDUIT_TRUST_PROXY: 'not-an-address' })).toThrow(/invalid configuration/);
    expect(() => loadConfig({}, { SAUFCONDUIT_TRUST_PROXY: '1,2' })).toThrow(/not a proxy address or CIDR/);
    expect(() => loadConfig({}, { SAUFCONDUIT_TRUST_PROXY: '0' })).not.toThrow();
    expect(loadConfig({}, { SAUFCONDUIT_TRUST_PROXY: '1' }).trustProxy).toEqual({ kind: 'hops', hops: 1 });
    expect(loadConfig({}, { SAUFCONDUIT_TRUST_PROXY: '10.0.0.0/8, 192.0.2.7' }).trustProxy).toEqual({ kind: 'addresses', list: ['10.0.0.0/8', '192.0.2.7'] });
  });

  describe('a hop count behind an appending proxy', () => {
    let r: Running | undefined;
    let proxy: Awaited<ReturnType<typeof appendingProxy>> | undefined;
    beforeAll(async () => {
      r = await start('1');
      proxy = await appendingProxy({ host: '127.0.0.1', port: r.port });
    });
    afterAll(async () => {
      await proxy?.close();
      await stop(r);
    });

    it('a client that writes a new X-Forwarded-For each time keeps one address: its login budget runs out', async () => {
      const statuses: number[] = [];
      for (let i = 1; i <= 5; i++) {
        const res = await send({ port: proxy!.port, path: '/api/auth/login', method: 'POST', body: LOGIN, localAddress: '127.0.0.2', headers: { 'x-forwarded-for': `203.0.113.${i}` } });
        statuses.push(res.status);
      }
      expect(statuses).toEqual([401, 401, 401, 429, 429]);
      // The logged pseudonyms: one address, not five attacker-chosen ones.
      expect(new Set(r!.ips.slice(-5)).size).toBe(1);
    });

    it('the client is the address the proxy appended: another client behind the proxy has its own budget', async () => {
      const res = await send({ port: proxy!.port, path: '/api/auth/login', method: 'POST', body: LOGIN, localAddress: '127.0.0.4', headers: { 'x-forwarded-for': '203.0.113.1' } });
      expect(res.status).toBe(401);
      expect(r!.ips.at(-1)).not.toBe(r!.ips.at(-2));
    });
  });

  describe('a list of proxy addresses', () => {
    let r: Running | undefined;
    let proxy: Awaited<ReturnType<typeof appendingProxy>> | undefined;
    beforeAll(async () => {
      // The proxy connects to the server from 127.0.0.1 only: that is the one trusted address.
      r = await start('127.0.0.1');
      proxy = await appendingProxy({ host: '127.0.0.1', port: r.port });
    });
    afterAll(async () => {
      await proxy?.close();
      await stop(r);
    });

    it('a client reaching the server directly cannot claim another address: its X-Forwarded-For is ignored', async () => {
      const statuses: number[] = [];
      for (let i = 1; i <= 4; i++) {
        statuses.push((await send({ port: r!.port, path: '/api/auth/login', method: 'POST', body: LOGIN, localAddress: '127.0.0.3', headers: { 'x-forwarded-for': `198.51.100.${i}` } })).status);
      }
      expect(statuses).toEqual([401, 401, 401, 429]);
      expect(new Set(r!.ips.slice(-4)).size).toBe(1);
    });

    it('through the trusted proxy, the appended address is the client whatever the client wrote', async () => {
      const a = await send({ port: proxy!.port, path: '/api/health', localAddress: '127.0.0.5', headers: { 'x-forwarded-for': '198.51.100.9' } });
      const b = await send({ port: proxy!.port, path: '/api/health', localAddress: '127.0.0.5', headers: { 'x-forwarded-for': '198.51.100.10' } });
      const c = await send({ port: proxy!.port, path: '/api/health', localAddress: '127.0.0.6' });
      expect([a.status, b.status, c.status]).toEqual([200, 200, 200]);
      const [ia, ib, ic] = r!.ips.slice(-3);
      expect(ia).toBe(ib);
      expect(ic).not.toBe(ia);
    });
  });
});
