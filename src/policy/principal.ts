/**
 * When a person last proved their second factor in this session (epoch ms): at login, or since by
 * step-up. Absent for principals not built from a session (operator commands, seeding).
 */
interface Fresh {
  secondFactorAt?: number;
}

/** Who is asking. Built by the HTTP layer from a session or an API key, never from the request body. */
export type Principal =
  | ({ kind: 'account'; id: string; role: 'staff'; tenantId: string } & Fresh)
  | ({ kind: 'account'; id: string; role: 'professional'; tenantId: null } & Fresh)
  | ({ kind: 'account'; id: string; role: 'patient'; tenantId: null; patientIds: readonly string[] } & Fresh)
  | ({ kind: 'account'; id: string; role: 'dpo'; tenantId: null } & Fresh)
  | { kind: 'api-key'; id: string; role: 'api-key'; tenantId: string; scopes: readonly Scope[] }
  /** Someone filling in the counter self-registration form: holds one single-use link of one pharmacy, nothing else. */
  | { kind: 'registration-link'; id: string; role: 'registrant'; tenantId: string };

export type Role = Principal['role'];

/** API-key scopes: what pharmacy software may do; nothing else is grantable. */
export const SCOPES = ['patients:read', 'patients:write', 'results:read', 'results:write', 'documents:read'] as const;
export type Scope = (typeof SCOPES)[number];
