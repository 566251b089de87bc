import { z } from 'zod';
import { route } from '../route.ts';
import { myAccessLog } from '../../domain/access-log.ts';
import { AcceptOfferInput, answerOffer, listMyOffers } from '../../domain/record-offers.ts';
import { AppError } from '../../errors/catalogue.ts';

const OfferParams = z.strictObject({ patientId: z.uuid() });
const AccessLogQuery = z.strictObject({
  cursor: z.string().regex(/^\d{1,15}$/).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(200),
  lang: z.enum(['fr', 'en']).optional(),
});

/** The patient's own space beyond records: who touched their data, records offered to them. */
export const patientRoutes = [
  route<undefined, z.infer<typeof AccessLogQuery>>({
    method: 'GET', url: '/api/me/access-log', surface: 'patient', auth: 'principal', policy: 'access-log.read',
    summary: 'Who accessed my data: every recorded access to any of my records and to my account, newest first, a page at a time (`nextCursor` gives the next page).',
    query: AccessLogQuery,
    async handler({ app, principal, requestId, query }) {
      const items = await app.uow.read(principal, requestId, (w) => myAccessLog(w, query.limit, query.cursor === undefined ? null : Number(query.cursor)));
      return { items, nextCursor: items.length === query.limit ? String(items.at(-1)!.seq) : null };
    },
  }),
  route({
    method: 'GET', url: '/api/me/record-offers', surface: 'patient', auth: 'principal', policy: 'record-offer.list',
    summary: 'Records registered with my e-mail address at a pharmacy and waiting for me to accept or decline them (pharmacy and date only).',
    async handler({ app, principal, requestId }) {
      return { items: await app.uow.read(principal, requestId, (w) => listMyOffers(w)) };
    },
  }),
  route<{ patientId: string }, undefined, AcceptOfferInput>({
    method: 'POST', url: '/api/me/record-offers/:patientId/accept', surface: 'patient', auth: 'principal', policy: 'record-offer.answer',
    summary: "Accept a record offered to me: it joins my records. Needs the record's birth date (offer_mismatch otherwise; the offer is withdrawn after 5 wrong ones).",
    // Guessing is bounded per offer (MAX_ACCEPT_FAILURES), not by the per-IP login limit.
    params: OfferParams, body: AcceptOfferInput,
    async handler({ app, principal, requestId, params, body }) {
      const r = await app.uow.run(principal, requestId, (w) => answerOffer(w, params.patientId, { accept: true, birthDate: body.birthDate }));
      if (r.status === 'mismatch') throw new AppError('offer_mismatch');
      return r;
    },
  }),
  route<{ patientId: string }>({
    method: 'POST', url: '/api/me/record-offers/:patientId/decline', surface: 'patient', auth: 'principal', policy: 'record-offer.answer',
    summary: 'Decline a record offered to me (not mine): the offer is withdrawn; the record stays at its pharmacy, in nobody\'s space.',
    params: OfferParams,
    async handler({ app, principal, requestId, params }) {
      return app.uow.run(principal, requestId, (w) => answerOffer(w, params.patientId, { accept: false }));
    },
  }),
];
