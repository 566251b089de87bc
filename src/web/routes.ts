import type { RouteSpec } from '../http/route.ts';

/** Server-rendered pages (French and English). */
export const webRoutes: RouteSpec[] = [];
