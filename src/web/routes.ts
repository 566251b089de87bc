import type { RouteSpec } from '../http/route.ts';
import { assetRoutes } from './assets.ts';
import { authPageRoutes } from './pages/auth.ts';
import { recordPageRoutes } from './pages/records.ts';
import { spacePageRoutes } from './pages/spaces.ts';
import { registrationPageRoutes } from './pages/registration.ts';
import { securityPageRoutes } from './pages/security.ts';
import { enrolmentPageRoutes } from './pages/enrolment.ts';
import { carePageRoutes } from './pages/care.ts';

/** Server-rendered pages (French and English) and their static assets. */
export const webRoutes: RouteSpec[] = [...assetRoutes, ...authPageRoutes, ...recordPageRoutes, ...spacePageRoutes, ...registrationPageRoutes, ...securityPageRoutes, ...enrolmentPageRoutes, ...carePageRoutes];
