import type { RouteSpec } from '../route.ts';

/** The offline venue verifier at /verify: its page, script, service worker and manifest. */
export const verifierRoutes: RouteSpec[] = [];
