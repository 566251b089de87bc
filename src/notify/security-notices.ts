import type { Mail, Mailer } from './mailer.ts';

/**
 * Security notices: mails that tell people about a change to their credentials, so that one made
 * with a stolen session does not go unseen. Bilingual (French first), no health data, no secret.
 * Sent after the change is committed; a failed send is logged (never with the address) and not retried.
 */
interface Log {
  warn(obj: { err: unknown }, msg: string): void;
}

const paris = (iso: string, lang: 'fr' | 'en') => new Date(iso).toLocaleString(lang === 'fr' ? 'fr-FR' : 'en-GB', { timeZone: 'Europe/Paris', dateStyle: 'long', timeStyle: 'short' });

/** Sends each mail on its own, after the caller's answer; failures are logged. */
export function sendLater(mailer: Mailer, mails: readonly Mail[], log: Log): void {
  for (const mail of mails) void mailer.send(mail).catch((err: unknown) => log.warn({ err }, 'security notice not sent'));
}

/** To every staff member of a pharmacy: a new API key exists. */
export function apiKeyCreatedMails(n: { tenantName: string; label: string; scopes: readonly string[]; createdAt: string; expiresAt: string; recipients: readonly string[] }): Mail[] {
  const scopes = n.scopes.join(', ');
  return n.recipients.map((to) => ({
    to,
    subject: `Nouvelle clé d'API / New API key — ${n.tenantName}`,
    text: `Une clé d'API « ${n.label} » (${scopes}) a été créée pour ${n.tenantName} le ${paris(n.createdAt, 'fr')}, valable jusqu'au ${paris(n.expiresAt, 'fr')}. `
      + `Si personne de la pharmacie ne l'a créée, révoquez-la (GET /api/api-keys puis POST /api/api-keys/{id}/revoke) et prévenez votre délégué à la protection des données.\n\n`
      + `An API key "${n.label}" (${scopes}) was created for ${n.tenantName} on ${paris(n.createdAt, 'en')}, valid until ${paris(n.expiresAt, 'en')}. `
      + `If nobody at the pharmacy created it, revoke it (GET /api/api-keys then POST /api/api-keys/{id}/revoke) and tell your data-protection officer.\n`,
  }));
}

/** To the account holder: a passkey was added to, or removed from, their account. */
export function passkeyChangedMail(to: string, change: 'added' | 'removed' | 'all-removed', at: string): Mail {
  const fr = { added: 'Une clé d’accès (passkey) a été ajoutée à votre compte', removed: 'Une clé d’accès (passkey) a été retirée de votre compte', 'all-removed': 'Toutes les clés d’accès (passkeys) de votre compte ont été retirées et toutes vos sessions fermées' }[change];
  const en = { added: 'A passkey was added to your account', removed: 'A passkey was removed from your account', 'all-removed': 'Every passkey of your account was removed and all your sessions ended' }[change];
  return {
    to,
    subject: `${fr.split(' ').slice(0, 4).join(' ')}… / ${en.split(' ').slice(0, 4).join(' ')}… — Saufconduit`,
    text: `${fr} le ${paris(at, 'fr')}. Si ce n'était pas vous, connectez-vous, retirez les clés que vous ne connaissez pas (« Se déconnecter partout et retirer les clés d’accès ») et prévenez la pharmacie ou le délégué à la protection des données.\n\n`
      + `${en} on ${paris(at, 'en')}. If it was not you, log in, remove the passkeys you do not know ("Log out everywhere and remove passkeys") and tell the pharmacy or the data-protection officer.\n`,
  };
}

const REASONS = {
  fr: { 'emergency-care': 'soins urgents', 'patient-unable-to-consent': 'patient hors d’état de consentir', 'covering-colleague': 'remplacement d’un confrère', other: 'autre motif' },
  en: { 'emergency-care': 'emergency care', 'patient-unable-to-consent': 'patient unable to consent', 'covering-colleague': 'covering for a colleague', other: 'other reason' },
} as const;
const PROFESSIONS = {
  fr: { physician: 'médecin', pharmacist: 'pharmacien', nurse: 'infirmier', midwife: 'sage-femme', dentist: 'chirurgien-dentiste', physiotherapist: 'kinésithérapeute', biologist: 'biologiste' },
  en: { physician: 'physician', pharmacist: 'pharmacist', nurse: 'nurse', midwife: 'midwife', dentist: 'dentist', physiotherapist: 'physiotherapist', biologist: 'biologist' },
} as const;

/**
 * To the patient: a professional opened their record in an emergency (break-the-glass). Who, why (the
 * coded reason, not the justification), when and until when; no health data. The DPO reviews it.
 */
export function breakGlassMail(to: string, n: { professional: { name: string; profession: keyof (typeof PROFESSIONS)['en']; organisation: string | null } | null; reason: keyof (typeof REASONS)['en']; openedAt: string; expiresAt: string }, publicUrl: string): Mail {
  const who = (lang: 'fr' | 'en') => (n.professional
    ? `${n.professional.name} (${PROFESSIONS[lang][n.professional.profession]}${n.professional.organisation ? `, ${n.professional.organisation}` : ''})`
    : lang === 'fr' ? 'Un professionnel de santé' : 'A health professional');
  return {
    to,
    subject: 'Accès en urgence à votre dossier / Emergency access to your record — Saufconduit',
    text: `${who('fr')} a ouvert votre dossier en urgence (« bris de glace ») le ${paris(n.openedAt, 'fr')}, motif : ${REASONS.fr[n.reason]}. L'accès prend fin au plus tard le ${paris(n.expiresAt, 'fr')}. `
      + `Chaque accès en urgence est examiné par notre délégué à la protection des données. Vous le voyez dans « Qui a consulté mes données » : ${publicUrl}/patient. Si cet accès vous surprend, dites-le-nous en répondant à ce message.\n\n`
      + `${who('en')} opened your record in an emergency ("break the glass") on ${paris(n.openedAt, 'en')}, reason: ${REASONS.en[n.reason]}. The access ends at the latest on ${paris(n.expiresAt, 'en')}. `
      + `Every emergency access is reviewed by our data-protection officer. You can see it in "Who accessed my data": ${publicUrl}/patient. If this access surprises you, tell us by replying to this message.\n`,
  };
}
