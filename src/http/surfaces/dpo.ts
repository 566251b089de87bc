import { z } from 'zod';
import { route } from '../route.ts';
import { listAuditEvents } from '../../domain/access-log.ts';
import { unsignedBounds, verifyAudit } from '../../audit/verify.ts';

const AuditQuery = z.strictObject({
  subjectRef: z.string().regex(/^sub_[A-Za-z0-9_-]{1,40}$/).optional(),
  actorId: z.string().max(64).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  lang: z.enum(['fr', 'en']).optional(),
});

/** Governance for the data-protection officer: the audit trail, never the records themselves. */
export const dpoRoutes = [
  route<undefined, z.infer<typeof AuditQuery>>({
    method: 'GET', url: '/api/audit-events', surface: 'dpo', auth: 'principal', policy: 'audit.read',
    summary: 'Audit explorer: events newest first, filterable by subject or actor.', query: AuditQuery,
    async handler({ app, principal, requestId, query }) {
      return { items: await app.uow.read(principal, requestId, (w) => listAuditEvents(w, query)) };
    },
  }),
  route({
    method: 'GET', url: '/api/audit-events/verification', surface: 'dpo', auth: 'principal', policy: 'audit.read',
    summary: 'Verifies the audit hash chain and its signed checkpoints.',
    async handler({ app, principal, requestId }) {
      await app.uow.read(principal, requestId, async (w) => {
        w.access('audit.read', { type: 'governance' }, { resourceType: 'AuditEvent', resourceId: null, subjectRef: null });
      });
      return verifyAudit(app.db, app.keys, { unsigned: unsignedBounds(app.config, new Date()) });
    },
  }),
];
