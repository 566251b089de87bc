import { route } from '../route.ts';
import { myAccessLog } from '../../domain/access-log.ts';

/** The patient's own space beyond records: who touched their data. */
export const patientRoutes = [
  route({
    method: 'GET', url: '/api/me/access-log', surface: 'patient', auth: 'principal', policy: 'access-log.read',
    summary: 'Who accessed my data: every recorded access to any of my records, newest first.',
    async handler({ app, principal, requestId }) {
      return { items: await app.uow.read(principal, requestId, (w) => myAccessLog(w)) };
    },
  }),
];
