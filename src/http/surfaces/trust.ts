import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { route } from '../route.ts';
import { publishedDocument, trustAnchor } from '../../domain/trust.ts';

/**
 * Public trust material at stable URLs, for our verifier, the CLI and other countries' verifiers.
 * Short public caching with validators: a revocation must reach verifiers within minutes.
 */
function cached(req: FastifyRequest, reply: FastifyReply, body: string, type: string, maxAge: number) {
  const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
  reply.header('cache-control', `public, max-age=${maxAge}, must-revalidate`).header('etag', etag).header('access-control-allow-origin', '*');
  // If-None-Match may list several tags, weak or strong (RFC 9110 §13.1.2: weak comparison).
  const asked = String(req.headers['if-none-match'] ?? '').split(',').map((t) => t.trim().replace(/^W\//, ''));
  if (asked.includes(etag) || asked.includes('*')) return reply.status(304).send();
  return reply.type(type).send(body);
}

export const trustRoutes = [
  route({
    method: 'GET', url: '/trust/dsc.json', surface: 'public', auth: 'none', policy: 'public',
    summary: 'Trust list of document signer certificates (DGCA gateway shape).',
    async handler({ app, req, reply }) {
      return cached(req, reply, await publishedDocument(app.db, app.fields, 'dsc', new Date()), 'application/json', 300);
    },
  }),
  route({
    method: 'GET', url: '/trust/revocation.json', surface: 'public', auth: 'none', policy: 'public',
    summary: 'Revoked passes by EU hash type (UCI, COUNTRYCODEUCI, SIGNATURE), base64 16-byte hashes.',
    async handler({ app, req, reply }) {
      return cached(req, reply, await publishedDocument(app.db, app.fields, 'revocation', new Date()), 'application/json', 60);
    },
  }),
  route({
    method: 'GET', url: '/trust/bundle.jws', surface: 'public', auth: 'none', policy: 'public', produces: 'application/jose',
    summary: 'Trust list and revocation list in one ES256-signed JWS with an expiry (what the offline verifier caches).',
    async handler({ app, req, reply }) {
      return cached(req, reply, await publishedDocument(app.db, app.fields, 'bundle', new Date()), 'application/jose', 60);
    },
  }),
  route({
    method: 'GET', url: '/trust/anchor.json', surface: 'public', auth: 'none', policy: 'public',
    summary: 'The public key that signs /trust/bundle.jws (pin it in verifiers).',
    async handler({ app, req, reply }) {
      return cached(req, reply, JSON.stringify(await trustAnchor(app.db, app.fields)), 'application/json', 3600);
    },
  }),
];
