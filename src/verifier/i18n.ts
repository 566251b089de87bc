/**
 * Every string the verifier shows, in French and English. Codes (verdict categories, trust states)
 * come from the logic; only this module turns them into words.
 */
import type { RejectCategory } from './check.ts';

export type VerifierLang = 'fr' | 'en';

const fr = {
  title: 'Vérification du passe',
  switchLang: 'English',
  switchLangCode: 'en',
  startCamera: 'Scanner avec la caméra',
  stopCamera: 'Arrêter la caméra',
  pickImage: 'Lire une image',
  pasteSummary: 'Coller le texte du code',
  pasteLabel: 'Texte du QR code (HC1:…)',
  check: 'Vérifier',
  cameraHint: 'Présentez le QR code du passe devant la caméra.',
  cameraUnavailable: 'Caméra indisponible. Lisez une image ou collez le texte du code.',
  noCodeInImage: 'Aucun QR code lisible dans cette image.',
  imageUnreadable: 'Cette image ne peut pas être lue.',
  valid: 'Passe valide',
  invalid: 'Passe non valide',
  born: 'Date de naissance : {dob}',
  dismiss: 'Toucher pour continuer',
  'reason.unreadable': 'Code illisible, ou ce n’est pas un passe sanitaire.',
  'reason.not-authentic': 'Ce passe n’est pas authentique.',
  'reason.revoked': 'Ce passe a été révoqué.',
  'reason.not-valid-now': 'Ce passe ne permet pas l’accès aujourd’hui.',
  trustLoading: 'Chargement des listes de confiance…',
  trustFresh: 'Listes de confiance à jour il y a {age} (valables jusqu’au {until}).',
  trustNone: 'Aucune liste de confiance : connectez l’appareil à Internet une première fois.',
  trustExpired: 'Listes de confiance trop anciennes (il y a {age}) : reconnectez l’appareil à Internet. Aucune vérification n’est possible.',
  trustClock: 'L’horloge de l’appareil semble fausse : corrigez la date et l’heure. Aucune vérification n’est possible.',
  trustRefused: 'Les listes de confiance reçues sont refusées (signature ou contenu invalide) : aucune vérification n’est possible. Si cela persiste, effacez les données du site pour réinstaller.',
  blockedTitle: 'Vérification impossible',
  offline: 'Hors ligne',
  privacy: 'Rien n’est enregistré ni envoyé sur les personnes contrôlées.',
  minutes: '{n} min',
  hours: '{n} h',
  days: '{n} j',
} as const;

export type MessageKey = keyof typeof fr;

const en: Record<MessageKey, string> = {
  title: 'Pass verification',
  switchLang: 'Français',
  switchLangCode: 'fr',
  startCamera: 'Scan with the camera',
  stopCamera: 'Stop the camera',
  pickImage: 'Read an image',
  pasteSummary: 'Paste the code text',
  pasteLabel: 'QR code text (HC1:…)',
  check: 'Check',
  cameraHint: 'Hold the pass QR code in front of the camera.',
  cameraUnavailable: 'Camera unavailable. Read an image or paste the code text.',
  noCodeInImage: 'No readable QR code in this image.',
  imageUnreadable: 'This image cannot be read.',
  valid: 'Valid pass',
  invalid: 'Pass not valid',
  born: 'Date of birth: {dob}',
  dismiss: 'Tap to continue',
  'reason.unreadable': 'Unreadable code, or not a health pass.',
  'reason.not-authentic': 'This pass is not authentic.',
  'reason.revoked': 'This pass has been revoked.',
  'reason.not-valid-now': 'This pass does not give access today.',
  trustLoading: 'Loading trust lists…',
  trustFresh: 'Trust lists updated {age} ago (valid until {until}).',
  trustNone: 'No trust lists: connect this device to the Internet once.',
  trustExpired: 'Trust lists too old ({age} ago): reconnect this device to the Internet. No verification is possible.',
  trustClock: 'The device clock looks wrong: fix the date and time. No verification is possible.',
  trustRefused: 'The trust lists received were refused (bad signature or content): no verification is possible. If this persists, clear the site data to reinstall.',
  blockedTitle: 'Cannot verify',
  offline: 'Offline',
  privacy: 'Nothing about the people checked is stored or sent.',
  minutes: '{n} min',
  hours: '{n} h',
  days: '{n} d',
};

const MESSAGES: Readonly<Record<VerifierLang, Record<MessageKey, string>>> = { fr, en };

export type Translate = (key: MessageKey, params?: Record<string, string | number>) => string;

export function translator(lang: VerifierLang): Translate {
  const m = MESSAGES[lang];
  return (key, params) => m[key].replace(/\{(\w+)\}/g, (_, k: string) => String(params?.[k] ?? ''));
}

/** French or English from the browser's preferred languages; French when neither is listed. */
export function preferredLang(languages: readonly string[]): VerifierLang {
  for (const l of languages) {
    const base = l.toLowerCase().split('-')[0];
    if (base === 'fr' || base === 'en') return base;
  }
  return 'fr';
}

export const reasonKey = (c: RejectCategory): MessageKey => `reason.${c}`;

/** A coarse age: minutes below 2 h, hours below 2 days, then days. */
export function formatAge(t: Translate, seconds: number): string {
  const minutes = Math.floor(seconds / 60);
  if (minutes < 120) return t('minutes', { n: minutes });
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return t('hours', { n: hours });
  return t('days', { n: Math.floor(hours / 24) });
}

/** Formatters are costly to build (milliseconds on a slow phone): one per language and use, built once. */
const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(lang: VerifierLang, kind: 'dob' | 'until'): Intl.DateTimeFormat {
  const key = `${lang}:${kind}`;
  let f = formatters.get(key);
  if (!f) {
    const locale = lang === 'fr' ? 'fr-FR' : 'en-GB';
    f = kind === 'dob'
      ? new Intl.DateTimeFormat(locale, { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' })
      : new Intl.DateTimeFormat(locale, { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' });
    formatters.set(key, f);
  }
  return f;
}

/**
 * A date of birth as written in the DCC: `YYYY-MM-DD`, `YYYY-MM`, `YYYY` or empty (schema 1.3).
 * Full dates are spelled out in the UI language; partial ones are shown as they are.
 */
export function formatDob(lang: VerifierLang, dob: string): string {
  if (!/^\d{4}-\d\d-\d\d$/.test(dob)) return dob.length === 7 ? `${dob.slice(5)}/${dob.slice(0, 4)}` : dob;
  const d = new Date(`${dob}T00:00:00Z`);
  if (Number.isNaN(d.getTime())) return dob;
  return formatter(lang, 'dob').format(d);
}

/** Date and time for the trust expiry line (local time of the device). */
export function formatUntil(lang: VerifierLang, epochSeconds: number): string {
  return formatter(lang, 'until').format(new Date(epochSeconds * 1000));
}
