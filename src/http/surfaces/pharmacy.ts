import { z } from 'zod';
import { route } from '../route.ts';
import { DEFAULT_KEY_DAYS, MAX_KEY_DAYS, issueApiKey, listApiKeys, getApiKey, revokeApiKey } from '../../domain/api-keys.ts';
import { SCOPES } from '../../policy/principal.ts';
import { displayText } from '../../domain/patients.ts';
import { apiKeyCreatedMails, sendLater } from '../../notify/security-notices.ts';

const KeyParams = z.strictObject({ apiKeyId: z.uuid() });
const NewKey = z.strictObject({
  /** Shown to every staff member in the notice mail and to operators: no control characters or bidi overrides. */
  label: displayText(100),
  scopes: z.array(z.enum(SCOPES)).min(1).max(SCOPES.length),
  /** How long the key lives, in days (default 90, at most 365). */
  expiresInDays: z.int().min(1).max(MAX_KEY_DAYS).default(DEFAULT_KEY_DAYS),
});

/** Pharmacy administration by its staff: API keys for the pharmacy's own software. */
export const pharmacyRoutes = [
  route<undefined, undefined, z.infer<typeof NewKey>>({
    method: 'POST', url: '/api/api-keys', surface: 'pharmacy', auth: 'principal', policy: 'api-key.create',
    summary: "Issues an API key for the pharmacy's software: staff only, with a second factor proved in the last 15 minutes (step_up_required otherwise). The key is shown once, expires after expiresInDays (default 90, at most 365), and every staff member of the pharmacy is told by mail.",
    body: NewKey, successStatus: 201,
    async handler({ app, req, principal, requestId, body }) {
      const { key, notice } = await app.uow.run(principal, requestId, (w) => issueApiKey(w, app.fields, body.label, [...new Set(body.scopes)], body.expiresInDays));
      sendLater(app.mailer, apiKeyCreatedMails(notice), req.log);
      return key;
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
