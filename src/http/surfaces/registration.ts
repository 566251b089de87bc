import { route } from '../route.ts';
import { linkPrincipal } from '../authenticate.ts';
import {
  createRegistrationLink, displayCode, LinkInput, lookupRegistration, LookupInput, selfRegister, SelfRegistrationInput,
} from '../../domain/registrations.ts';
import { AppError } from '../../errors/catalogue.ts';

/** Where a registration link points: the patient-facing form, opened from the QR code. */
export const registrationUrl = (publicUrl: string, token: string) => `${publicUrl.replace(/\/$/, '')}/register/${token}`;

/**
 * Counter self-registration: staff create a single-use link (shown as a QR code), the patient
 * registers through it from their own phone, staff find the record again from the patient's code.
 */
export const registrationRoutes = [
  route<undefined, undefined, LinkInput>({
    method: 'POST', url: '/api/registration-links', surface: 'registration', auth: 'principal', policy: 'registration-link.create',
    summary: "Creates a single-use self-registration link for one counter of the caller's pharmacy, valid 15 minutes. Show `url` as a QR code.",
    body: LinkInput, successStatus: 201,
    async handler({ app, principal, requestId, body }) {
      const link = await app.uow.run(principal, requestId, (w) => createRegistrationLink(w, app.keys, body));
      return { id: link.id, counter: link.counter, expiresAt: link.expiresAt, url: registrationUrl(app.config.publicUrl, link.token) };
    },
  }),
  route<undefined, undefined, SelfRegistrationInput>({
    method: 'POST', url: '/api/self-registrations', surface: 'registration', auth: 'link', policy: 'patient.create', sensitive: true,
    summary: 'The patient registers through a counter link (header X-Registration-Link). Answers the registration code to show at the counter. A used link answers 410 link_used, an expired one 410 link_expired.',
    body: SelfRegistrationInput, successStatus: 201,
    async handler({ app, req, requestId, body }) {
      const header = req.headers['x-registration-link'];
      const { principal, link } = await linkPrincipal(app, typeof header === 'string' ? header : undefined);
      const done = await app.uow.run(principal, requestId, (w) => selfRegister(w, app, link.id, body));
      return { registrationId: done.registrationId, code: displayCode(done.code), expiresAt: done.expiresAt, pharmacy: link.pharmacy, counter: link.counter };
    },
  }),
  route<undefined, undefined, LookupInput>({
    method: 'POST', url: '/api/registrations/lookup', surface: 'registration', auth: 'principal', policy: 'patient.read',
    summary: "Finds the patient behind a registration code (scanned or typed at the counter). Only the pharmacy the patient registered at; 404 otherwise.",
    body: LookupInput,
    async handler({ app, principal, requestId, body }) {
      return app.uow.read(principal, requestId, (w) => lookupRegistration(w, app.keys, body));
    },
  }),
];
