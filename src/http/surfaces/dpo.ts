import { z } from 'zod';
import { route } from '../route.ts';
import { listAuditEvents } from '../../domain/access-log.ts';
import { unsignedBounds, verifyAudit } from '../../audit/verify.ts';
import { AlertDecision, decideAlert, getAlert, listAlerts } from '../../alerts/store.ts';
import { denyUnknown } from '../../domain/work.ts';
import { AUDIT_RETENTION_MONTHS } from '../../retention/schedule.ts';

const AlertsQuery = z.strictObject({
  status: z.enum(['open', 'acknowledged', 'dismissed', 'confirmed']).default('open'),
  /** The id of the last alert of the previous page. */
  cursor: z.uuid().optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  lang: z.enum(['fr', 'en']).optional(),
});
const AlertParams = z.strictObject({ alertId: z.uuid() });

const AuditQuery = z.strictObject({
  subjectRef: z.string().regex(/^sub_[A-Za-z0-9_-]{1,40}$/).optional(),
  actorId: z.string().max(64).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  lang: z.enum(['fr', 'en']).optional(),
});

const decide = (decision: 'acknowledge' | 'dismiss' | 'confirm', summary: string) => route<{ alertId: string }, undefined, AlertDecision>({
  method: 'POST', url: `/api/alerts/:alertId/${decision}`, surface: 'dpo', auth: 'principal', policy: 'alert.decide',
  summary, params: AlertParams, body: AlertDecision,
  async handler({ app, principal, requestId, params, body }) {
    return app.uow.run(principal, requestId, (w) => decideAlert(w, params.alertId, decision, body));
  },
});

/** Governance for the data-protection officer: the audit trail and the alerts, never the records themselves. */
export const dpoRoutes = [
  route<undefined, z.infer<typeof AlertsQuery>>({
    method: 'GET', url: '/api/alerts', surface: 'dpo', auth: 'principal', policy: 'alert.read',
    summary: 'Access alerts of one status (open by default), newest first, a page at a time (`nextCursor` gives the next page). Each names its rule, severity, actor, the subjects concerned and the audit events that fired it.',
    query: AlertsQuery,
    async handler({ app, principal, requestId, query }) {
      const items = await app.uow.read(principal, requestId, async (w) => {
        let cursor: { openedAt: Date; id: string } | null = null;
        if (query.cursor) {
          const [row] = await w.tx.query<{ opened_at: Date; id: string }>('SELECT opened_at, id FROM alert WHERE id = $1', [query.cursor]);
          if (!row) denyUnknown(w, 'alert.read', { resourceType: 'Alert', resourceId: query.cursor, subjectRef: null });
          cursor = { openedAt: row.opened_at, id: row.id };
        }
        return listAlerts(w, { status: query.status, limit: query.limit, cursor });
      });
      return { items, nextCursor: items.length === query.limit ? items.at(-1)!.id : null };
    },
  }),
  route<{ alertId: string }>({
    method: 'GET', url: '/api/alerts/:alertId', surface: 'dpo', auth: 'principal', policy: 'alert.read',
    summary: 'One alert with the audit events that fired it (its explanation).', params: AlertParams,
    async handler({ app, principal, requestId, params }) {
      return app.uow.read(principal, requestId, (w) => getAlert(w, params.alertId));
    },
  }),
  decide('acknowledge', 'The DPO acknowledges an alert (being looked into), with a note; it stays listed under acknowledged.'),
  decide('dismiss', 'The DPO dismisses an alert (explained, no misuse), with a note. Final.'),
  decide('confirm', 'The DPO confirms an alert (misuse), with a note; a breach record may follow. Final.'),
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
      return verifyAudit(app.db, app.keys, { unsigned: unsignedBounds(app.config, new Date()), pruned: { retentionMonths: AUDIT_RETENTION_MONTHS, now: new Date() } });
    },
  }),
];
