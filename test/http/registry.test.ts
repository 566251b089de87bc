import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { allRoutes } from '../../src/http/routes.ts';
import { ACTIONS } from '../../src/policy/authorize.ts';
import { buildOpenApi } from '../../src/http/openapi.ts';
import { ERRORS } from '../../src/errors/catalogue.ts';

describe('route registry', () => {
  const routes = allRoutes();
  it('every route declares a policy that exists, and every personal-data route requires a principal', () => {
    for (const r of routes) {
      const where = `${r.method} ${r.url}`;
      expect(r.policy, where).toBeTruthy();
      expect([...ACTIONS, 'authentication', 'public'], where).toContain(r.policy);
      if ((ACTIONS as string[]).includes(r.policy)) expect(['principal', 'link'], `${where} reaches personal data`).toContain(r.auth);
      // A registration link only ever lets its holder register one patient.
      if (r.auth === 'link') expect(r.policy, where).toBe('patient.create');
      if (r.policy === 'public') expect(r.params, `${where}: public routes take no ids`).toBeUndefined();
    }
  });
  it('every templated route validates its path parameters', () => {
    for (const r of routes.filter((x) => x.url.includes(':'))) expect(r.params, r.url).toBeDefined();
  });
  it('/openapi.json lists every route with its parameters, auth and policy', () => {
    const doc = buildOpenApi(routes, 'http://localhost') as { paths: Record<string, Record<string, { security: unknown[]; 'x-policy': string; parameters: { name: string; in: string }[] }>> };
    for (const r of routes.filter((x) => !x.hidden)) {
      const path = r.url.replace(/:([A-Za-z]+)/g, '{$1}');
      const op = doc.paths[path]?.[r.method.toLowerCase()];
      expect(op, `${r.method} ${path} missing from OpenAPI`).toBeDefined();
      expect(op!['x-policy']).toBe(r.policy);
      expect(op!.security.length > 0).toBe(r.auth !== 'none');
      for (const m of r.url.matchAll(/:([A-Za-z]+)/g)) expect(op!.parameters.some((p) => p.in === 'path' && p.name === m[1])).toBe(true);
    }
  });
});

describe('error catalogue', () => {
  it('docs/errors.md documents every code with its status, and nothing stale', () => {
    const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
    const documented = [...doc.matchAll(/^\| `([a-z_]+)` \| (\d{3}) \|/gm)].map((m) => [m[1], Number(m[2])] as const);
    expect(Object.fromEntries(documented)).toEqual(Object.fromEntries(Object.entries(ERRORS).map(([k, v]) => [k, v.status])));
  });
});
