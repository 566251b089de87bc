import { z } from 'zod';
import type { App } from '../../app.ts';
import type { Principal } from '../../policy/principal.ts';

/**
 * Query of every page: the language switch, and the confirmation of a security action that led
 * back here (`security`, see security.ts); anything else is refused.
 */
export const SECURITY_NOTICES = ['passkey-removed', 'confirmed', 'step-up-needed', 'code-wrong', 'locked-down'] as const;
export type SecurityNotice = (typeof SECURITY_NOTICES)[number];
export const PageQuery = z.strictObject({ lang: z.enum(['fr', 'en']).optional(), security: z.enum(SECURITY_NOTICES).optional() });
export type PageQuery = z.infer<typeof PageQuery>;

/** A form field as posted: a string, bounded; its meaning is validated by the handler to re-render the form. */
export const FormText = z.string().max(2000).optional();

/** Where each role lands after logging in. */
export const ROLE_HOME: Record<Principal['role'] | 'patient', string> = {
  staff: '/pharmacy', professional: '/professional', dpo: '/dpo', patient: '/patient', 'api-key': '/', registrant: '/',
};

export type { App };
