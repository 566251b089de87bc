import { z } from 'zod';
import { route } from '../route.ts';
import { issueApiKey, listApiKeys, getApiKey, revokeApiKey } from '../../domain/api-keys.ts';
import { SCOPES, type Scope } from '../../policy/principal.ts';
import { AppError } from '../../errors/catalogue.ts';

const KeyParams = z.strictObject({ apiKeyId: z.uuid() });
const NewKey = z.strictObject({ label: z.string().trim().min(1).max(100), scopes: z.array(z.enum(SCOPES)).min(1).max(SCOPES.length) });

/** Pharmacy administration by its staff: API keys for the pharmacy's own software. */
export const pharmacyRoutes = [
  route<undefined, undefined, { label: string; scopes: Scope[] }>({
    method: 'POST', url: '/api/api-keys', surface: 'pharmacy', auth: 'principal', policy: 'api-key.manage',
    summary: "Issues an API key for the pharmacy's software (staff only). The key is shown once.", body: NewKey, successStatus: 201,
    async handler({ app, principal, requestId, body }) {
      return app.uow.run(principal, requestId, (w) => issueApiKey(w, body.label, [...new Set(body.scopes)]));
    },
  }),
  route({
    method: 'GET', url: '/api/api-keys', surface: 'pharmacy', auth: 'principal', policy: 'api-key.manage',
    summary: "Lists the pharmacy's API keys (never their secrets).",
    async handler({ app, principal, requestId }) {
      return { items: await app.uow.read(principal, requestId, (w) => listApiKeys(w)) };
    },
  }),
  route<{ apiKeyId: string }>({
    method: 'GET', url: '/api/api-keys/:apiKeyId', surface: 'pharmacy', auth: 'principal', policy: 'api-key.manage',
    summary: 'One API key of the pharmacy (metadata only).', params: KeyParams,
    async handler({ app, principal, requestId, params }) {
      return app.uow.read(principal, requestId, (w) => getApiKey(w, params.apiKeyId));
    },
  }),
  route<{ apiKeyId: string }>({
    method: 'POST', url: '/api/api-keys/:apiKeyId/revoke', surface: 'pharmacy', auth: 'principal', policy: 'api-key.manage',
    summary: 'Revokes an API key of the pharmacy, effective immediately.', params: KeyParams,
    async handler({ app, principal, requestId, params }) {
      return app.uow.run(principal, requestId, (w) => revokeApiKey(w, params.apiKeyId));
    },
  }),
];
