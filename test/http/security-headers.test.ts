import { describe, expect, it } from 'vitest';
import Fastify from 'fastify';
import { securityHeaders } from '../../src/http/security-headers.ts';

/** The headers every answer carries, decided once by helmet (src/http/security-headers.ts). */
describe('security headers', () => {
  it('carry a strict CSP, no referrer, no framing, nosniff; HSTS only when cookies are secure', () => {
    const plain = securityHeaders({ secureCookies: false });
    const csp = plain['content-security-policy']!;
    for (const directive of ["default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'"]) expect(csp).toContain(directive);
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('unsafe-eval');
    expect(plain['referrer-policy']).toBe('no-referrer');
    expect(plain['x-content-type-options']).toBe('nosniff');
    expect(plain['x-frame-options']).toBe('SAMEORIGIN');
    expect(plain['strict-transport-security']).toBeUndefined();
    expect(plain['x-powered-by']).toBeUndefined();
    expect(securityHeaders({ secureCookies: true })['strict-transport-security']).toBe('max-age=31536000; includeSubDomains');
  });

  it('are frozen: a handler cannot change them for every later answer', () => {
    const h = securityHeaders({ secureCookies: false });
    expect(Object.isFrozen(h)).toBe(true);
  });

  it('reach the wire as computed (names and values valid for Node\'s HTTP layer)', async () => {
    const app = Fastify();
    const h = securityHeaders({ secureCookies: true });
    app.get('/', async (_req, reply) => reply.headers(h).send('ok'));
    const res = await app.inject({ url: '/' });
    for (const [name, value] of Object.entries(h)) expect(res.headers[name]).toBe(value);
    await app.close();
  });
});
