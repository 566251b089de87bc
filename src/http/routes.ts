import type { RouteSpec } from './route.ts';
import { authRoutes } from './surfaces/auth.ts';
import { recordRoutes } from './surfaces/records.ts';
import { pharmacyRoutes } from './surfaces/pharmacy.ts';
import { patientRoutes } from './surfaces/patient.ts';
import { dpoRoutes } from './surfaces/dpo.ts';
import { publicRoutes } from './surfaces/public.ts';
import { webRoutes } from '../web/routes.ts';
import { passRoutes } from './surfaces/passes.ts';
import { trustRoutes } from './surfaces/trust.ts';
import { verifierRoutes } from './surfaces/verifier.ts';
import { registrationRoutes } from './surfaces/registration.ts';
import { vaccinationRoutes } from './surfaces/vaccinations.ts';
import { careRoutes } from './surfaces/care.ts';

/** Every route of the server, in one registry: the server registers these and /openapi.json lists them. */
export const allRoutes = (): RouteSpec[] => [...publicRoutes, ...authRoutes, ...recordRoutes, ...vaccinationRoutes, ...passRoutes, ...trustRoutes, ...verifierRoutes, ...pharmacyRoutes, ...registrationRoutes, ...patientRoutes, ...careRoutes, ...dpoRoutes, ...webRoutes];
