import { route } from '../route.ts';

export const publicRoutes = [
  route({
    method: 'GET', url: '/api/health', surface: 'public', auth: 'none', policy: 'public',
    summary: 'Liveness and database reachability.',
    async handler({ app }) {
      await app.db.query('SELECT 1');
      return { status: 'ok', engine: app.db.engine };
    },
  }),
];
