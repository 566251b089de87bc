import { z } from 'zod';
import type { RouteSpec } from './route.ts';
import { ERRORS } from '../errors/catalogue.ts';

const toJson = (schema: z.ZodType) => z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;

/**
 * The OpenAPI 3.1 document, derived from the route registry itself so it cannot drift: every route,
 * its path and query parameters, body, auth requirement and the policy (`x-policy`) that guards it.
 */
export function buildOpenApi(routes: readonly RouteSpec[], publicUrl: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    if (r.hidden) continue;
    const path = r.url.replace(/:([A-Za-z]+)/g, '{$1}');
    const parameters: unknown[] = [];
    for (const [where, schema] of [['path', r.params], ['query', r.query]] as const) {
      if (!schema) continue;
      const json = toJson(schema);
      const props = (json.properties ?? {}) as Record<string, unknown>;
      const required = new Set((json.required as string[] | undefined) ?? []);
      for (const [name, s] of Object.entries(props)) parameters.push({ name, in: where, required: where === 'path' || required.has(name), schema: s });
    }
    const op: Record<string, unknown> = {
      summary: r.summary,
      tags: [r.surface],
      operationId: `${r.method.toLowerCase()}${path.replace(/[{}]/g, '').replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : ''))}`,
      'x-policy': r.policy,
      security: r.auth === 'none' ? [] : r.auth === 'link' ? [{ registrationLink: [] }] : r.auth === 'pending' ? [{ pendingSession: [] }, { sessionCookie: [] }] : [{ bearer: [] }, { sessionCookie: [] }],
      parameters,
      responses: {
        [String(r.successStatus ?? 200)]: { description: 'Success', content: { [r.produces ?? 'application/json']: {} } },
        default: { description: 'Error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
      },
    };
    if (r.body) op.requestBody = { required: true, content: { 'application/json': { schema: toJson(r.body) } } };
    (paths[path] ??= {})[r.method.toLowerCase()] = op;
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Saufconduit API', version: '0.1.0', description: 'Health test results and EU DCC passes, privacy by design. Cross-principal access answers 404.' },
    servers: [{ url: publicUrl }],
    paths,
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'A full session token (after the second factor) or a tenant API key (sck_…).' },
        pendingSession: { type: 'http', scheme: 'bearer', description: 'The session token the password step returns, short of its second factor: it is accepted only by the second-factor step (and logout).' },
        sessionCookie: { type: 'apiKey', in: 'cookie', name: 'sc_session' },
        registrationLink: { type: 'apiKey', in: 'header', name: 'X-Registration-Link', description: 'The token of a single-use counter registration link (from the QR code staff show).' },
      },
      schemas: {
        Error: {
          // Requests refused by the HTTP parser before routing (408, 431, malformed) carry no requestId.
          type: 'object', required: ['error'],
          properties: {
            error: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string', enum: Object.keys(ERRORS) }, message: { type: 'string' }, issues: { type: 'array', items: { type: 'object', properties: { path: { type: 'string' }, code: { type: 'string' } } } } } },
            requestId: { type: 'string' },
          },
        },
      },
    },
  };
}
