import type { Principal, Scope } from './principal.ts';

/**
 * The one authorization decision point. Pure: it sees the principal, the action and the facts of
 * the resource (loaded by the caller), and answers allow or deny with the purpose that justifies
 * access. Deny by default: an action without a rule, or a role without a rule for it, is denied.
 */
export type Action =
  | 'patient.create' | 'patient.list' | 'patient.list-in-care' | 'patient.read'
  | 'result.create' | 'result.list' | 'result.read'
  | 'vaccination.create' | 'vaccination.list' | 'vaccination.read'
  | 'document.list' | 'document.read'
  | 'pass.issue' | 'pass.list' | 'pass.read' | 'pass.reissue'
  | 'registration-link.create'
  | 'record-offer.list' | 'record-offer.answer'
  | 'api-key.manage' | 'api-key.create'
  | 'passkey.list' | 'passkey.manage'
  | 'session.step-up'
  | 'care.create' | 'care.list' | 'care.end' | 'consent-code.create' | 'care.accept-code' | 'professional.lookup'
  | 'break-glass.open' | 'break-glass.end' | 'break-glass.list' | 'break-glass.review'
  | 'patient.protect'
  | 'alert.read' | 'alert.decide'
  | 'access-log.read'
  | 'audit.read';

/** Facts about the resource that rules may use. Owner ids always come from the database. */
export type Resource =
  | { type: 'tenant'; tenantId: string }
  | { type: 'patient' | 'result' | 'vaccination' | 'document' | 'pass'; id: string | null; tenantId: string; patientId: string; careProfessionalIds: readonly string[];
      /** Break-the-glass openings of the record running now: who, and the reason given. */
      emergencies?: readonly { professionalId: string; reason: string }[];
      /** The patient account a record is offered to, until its holder accepts or declines it. */
      offeredTo?: string | null }
  | { type: 'self' }
  | { type: 'governance' }
  /** A care relationship or a break-the-glass opening: whose record, which professional. */
  | { type: 'relationship'; patientId: string; professionalId: string };

export type Decision = { allow: true; purpose: string } | { allow: false; reason: string };

/** When the decision is made: rules that need a recent second factor compare against it. */
export interface DecisionContext {
  now: Date;
}

/** A rule; rules composing others may leave out the context, and `fresh` then refuses (deny by default). */
type Rule = (p: Principal, r: Resource, c?: DecisionContext) => Decision;

/** How recent a second factor sensitive actions need (step-up), in minutes. */
export const STEP_UP_MINUTES = 15;

/**
 * The rule, and a second factor proved within STEP_UP_MINUTES: a stolen session alone must not add a
 * passkey, create an API key or reissue a pass. Refused as `step-up` (answered `step_up_required`).
 */
const fresh = (rule: Rule): Rule => (p, r, c) => {
  const d = rule(p, r, c);
  if (!d.allow || p.kind !== 'account') return d;
  return c !== undefined && p.secondFactorAt !== undefined && c.now.getTime() - p.secondFactorAt <= STEP_UP_MINUTES * 60_000 ? d : deny('step-up');
};

const deny = (reason: string): Decision => ({ allow: false, reason });
const allow = (purpose: string): Decision => ({ allow: true, purpose });

/** Staff of the tenant; or its API keys, holding every one of `scopes`. */
const tenantScoped = (...scopes: Scope[]): Rule => (p, r) => {
  if (r.type === 'self' || r.type === 'governance' || r.type === 'relationship') return deny('wrong-resource');
  if (p.role === 'staff') return p.tenantId === r.tenantId ? allow('tenant-service') : deny('other-tenant');
  if (p.role === 'api-key') {
    if (!scopes.every((s) => p.scopes.includes(s))) return deny('scope');
    return p.tenantId === r.tenantId ? allow('tenant-service') : deny('other-tenant');
  }
  return deny('role');
};

/** Readable by the tenant that holds it, by the patient it is about, and by professionals in care. */
const clinicalRead = (...scopes: Scope[]): Rule => (p, r) => {
  if (r.type === 'self' || r.type === 'governance' || r.type === 'tenant' || r.type === 'relationship') return deny('wrong-resource');
  switch (p.role) {
    case 'staff':
    case 'api-key':
      return tenantScoped(...scopes)(p, r);
    case 'patient':
      return p.patientIds.includes(r.patientId) ? allow('own-record') : deny('not-own');
    case 'professional': {
      // Invoices and passes are the patient's papers, not clinical records: care does not open them.
      if (r.type === 'document' || r.type === 'pass') return deny('role');
      if (r.careProfessionalIds.includes(p.id)) return allow('care');
      // A break-the-glass opening of this very record, running now: the purpose names its reason.
      const emergency = r.emergencies?.find((e) => e.professionalId === p.id);
      return emergency ? allow(`break-glass:${emergency.reason}`) : deny('no-care-relationship');
    }
    default:
      return deny('role');
  }
};

/** A patient acting on their own records as a whole (lists, access history). */
const patientSelf: Rule = (p, r) => (r.type === 'self' && p.role === 'patient' ? allow('own-record') : deny('role'));

/** A patient acting on one of their own records (not an offer: a record their space holds). */
const ownRecord: Rule = (p, r) => (p.role === 'patient' && r.type === 'patient' && p.patientIds.includes(r.patientId) ? allow('own-record') : deny('not-own'));

/** The data-protection officer's governance of the platform: never clinical content. */
const governance: Rule = (p, r) => (p.role === 'dpo' && r.type === 'governance' ? allow('governance') : deny('role'));

const RULES: Readonly<Record<Action, Rule>> = {
  // A registration link lets its holder create exactly one patient record, at the link's pharmacy.
  'patient.create': (p, r) => (p.role === 'registrant'
    ? (r.type === 'tenant' && p.tenantId === r.tenantId ? allow('self-registration') : deny('other-tenant'))
    : tenantScoped('patients:write')(p, r)),
  'registration-link.create': tenantScoped('patients:write'),
  // A record registered with the e-mail of an existing account is only offered to that account: its
  // holder, and nobody else, may see that the offer exists and accept or decline it.
  'record-offer.list': (p, r) => patientSelf(p, r),
  'record-offer.answer': (p, r) => (p.role === 'patient' && r.type === 'patient' && r.offeredTo === p.id ? allow('own-record') : deny('not-offered')),
  'result.create': tenantScoped('results:write'),
  'patient.list': (p, r) => {
    if (r.type === 'self') return p.role === 'professional' ? allow('care') : p.role === 'patient' ? allow('own-record') : deny('role');
    return tenantScoped('patients:read')(p, r);
  },
  'patient.list-in-care': (p, r) => (r.type === 'self' && p.role === 'professional' ? allow('care') : deny('role')),
  'result.list': (p, r) => (r.type === 'self' ? patientSelf(p, r) : clinicalRead('results:read')(p, r)),
  'document.list': (p, r) => (r.type === 'self' ? patientSelf(p, r) : tenantScoped('documents:read')(p, r)),
  'patient.read': clinicalRead('patients:read'),
  'result.read': clinicalRead('results:read'),
  'vaccination.create': tenantScoped('results:write'),
  'vaccination.list': clinicalRead('results:read'),
  'vaccination.read': clinicalRead('results:read'),
  'document.read': clinicalRead('documents:read'),
  // Passes: the patient holds them; the pharmacy that tested may issue and hand them over.
  // An issued pass answers with its QR text, which carries the holder's identity and the result:
  // a key that may write results but not read them must not read them through a pass.
  'pass.issue': clinicalRead('results:write', 'results:read'),
  'pass.read': clinicalRead('results:read'),
  'pass.list': (p, r) => (r.type === 'self' ? patientSelf(p, r) : tenantScoped('results:read')(p, r)),
  // Revoking a leaked pass and reissuing it is the holder's decision (or done with them at the counter),
  // with a recent second factor: each reissue adds to the public revocation list.
  'pass.reissue': fresh((p, r, c) => (p.role === 'api-key' ? deny('role') : clinicalRead('results:write')(p, r, c))),
  'api-key.manage': (p, r) => (p.role === 'staff' && r.type === 'tenant' && p.tenantId === r.tenantId ? allow('tenant-admin') : deny('role')),
  // A new key is a new credential to the pharmacy's patients: a recent second factor, and staff only.
  'api-key.create': fresh((p, r) => (p.role === 'staff' && r.type === 'tenant' && p.tenantId === r.tenantId ? allow('tenant-admin') : deny('role'))),
  'access-log.read': (p, r) => patientSelf(p, r),
  // Care relationships: created by the patient for a record their space holds, or by the professional
  // who enters the short-lived code the patient showed; seen and ended by either side.
  'care.create': ownRecord,
  'consent-code.create': ownRecord,
  'care.accept-code': (p, r) => (r.type === 'self' && p.role === 'professional' ? allow('care') : deny('role')),
  'care.list': (p, r) => (r.type !== 'self' ? deny('wrong-resource') : p.role === 'patient' ? allow('own-record') : p.role === 'professional' ? allow('care') : deny('role')),
  'care.end': (p, r) => {
    if (r.type !== 'relationship') return deny('wrong-resource');
    if (p.role === 'patient') return p.patientIds.includes(r.patientId) ? allow('own-record') : deny('not-own');
    if (p.role === 'professional') return p.id === r.professionalId ? allow('care') : deny('not-own');
    return deny('role');
  },
  // A patient names the professional they choose by the public RPPS number.
  'professional.lookup': patientSelf,
  // Break-the-glass: a professional, with a second factor proved in the last minutes, on one record;
  // the one sanctioned access across principals, always audited with its reason and reviewed.
  'break-glass.open': fresh((p, r) => (p.role !== 'professional' ? deny('role') : r.type === 'patient' ? allow('break-glass') : deny('wrong-resource'))),
  'break-glass.end': (p, r) => (p.role === 'professional' && r.type === 'relationship' && r.professionalId === p.id ? allow('care') : deny('not-own')),
  'break-glass.list': (p, r) => (p.role === 'professional' && r.type === 'self' ? allow('care') : deny('role')),
  'break-glass.review': governance,
  // A record kept out of sight (the public figure's): by its holder, or by the DPO.
  'patient.protect': (p, r) => (p.role === 'dpo' && r.type === 'patient' ? allow('governance') : ownRecord(p, r)),
  'alert.read': governance,
  'alert.decide': governance,
  // Passkeys of one's own account: people only (an API key has no passkeys and must not add one).
  'passkey.list': (p, r) => (r.type === 'self' && p.kind === 'account' ? allow('account-security') : deny('role')),
  // Adding or removing one needs a recent second factor: a passkey added with a stolen session would outlive it.
  'passkey.manage': fresh((p, r) => (r.type === 'self' && p.kind === 'account' ? allow('account-security') : deny('role'))),
  // Proving a second factor again on the current session (people only).
  'session.step-up': (p, r) => (r.type === 'self' && p.kind === 'account' ? allow('account-security') : deny('role')),
  'audit.read': governance,
};

export function authorize(principal: Principal, action: Action, resource: Resource, context: DecisionContext): Decision {
  const rule = Object.hasOwn(RULES, action) ? RULES[action] : undefined;
  if (!rule) return deny('no-policy');
  return rule(principal, resource, context);
}

/** Every action that has a rule; the route registry checks each route names one of these. */
export const ACTIONS = Object.keys(RULES) as Action[];
