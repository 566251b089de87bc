import type { ErrorCode } from './catalogue.ts';

export type Lang = 'en' | 'fr';

/** Human messages per language, kept apart from the codes (the code is the contract). */
const messages: Record<Lang, Record<ErrorCode, string>> = {
  en: {
    invalid_request: 'The request is not valid; see issues for which fields.',
    invalid_json: 'The request body is not valid JSON.',
    invalid_id: 'The identifier in the path is not valid.',
    unauthenticated: 'Please log in.',
    invalid_credentials: 'These credentials are not valid.',
    second_factor_required: 'A second factor is required to finish logging in.',
    challenge_expired: 'This code or challenge has expired or was already used; start again.',
    forbidden: 'You may not do this.',
    origin_mismatch: 'This request did not come from this site.',
    not_found: 'Not found.',
    method_not_allowed: 'This method is not allowed here.',
    request_timeout: 'The request took too long to arrive.',
    conflict: 'This conflicts with the current state.',
    link_expired: 'This link has expired; ask for a new one.',
    link_used: 'This link was already used; ask for a new one.',
    offer_mismatch: 'The birth date does not match this record; nothing was changed.',
    payload_too_large: 'The request body is too large.',
    headers_too_large: 'The request line or headers are too large.',
    unsupported_media_type: 'This content type is not accepted.',
    rate_limited: 'Too many requests; wait a moment and try again.',
    too_many_attempts: 'Too many wrong codes for this account; try again in 15 minutes.',
    internal: 'Something went wrong on our side; nothing was changed.',
    unavailable: 'The service is temporarily unavailable.',
  },
  fr: {
    invalid_request: "La requête n'est pas valide ; voir issues pour les champs concernés.",
    invalid_json: "Le corps de la requête n'est pas du JSON valide.",
    invalid_id: "L'identifiant dans l'adresse n'est pas valide.",
    unauthenticated: 'Veuillez vous connecter.',
    invalid_credentials: 'Ces identifiants ne sont pas valides.',
    second_factor_required: 'Un second facteur est nécessaire pour terminer la connexion.',
    challenge_expired: 'Ce code a expiré ou a déjà servi ; recommencez.',
    forbidden: "Vous n'avez pas le droit de faire cela.",
    origin_mismatch: "Cette requête ne provient pas de ce site.",
    not_found: 'Introuvable.',
    method_not_allowed: "Cette méthode n'est pas permise ici.",
    request_timeout: 'La requête a mis trop de temps à arriver.',
    conflict: "Cela contredit l'état actuel.",
    link_expired: 'Ce lien a expiré ; demandez-en un nouveau.',
    link_used: 'Ce lien a déjà servi ; demandez-en un nouveau.',
    offer_mismatch: 'La date de naissance ne correspond pas à ce dossier ; rien n’a été modifié.',
    payload_too_large: 'Le corps de la requête est trop volumineux.',
    headers_too_large: "La ligne de requête ou les en-têtes sont trop volumineux.",
    unsupported_media_type: "Ce type de contenu n'est pas accepté.",
    rate_limited: 'Trop de requêtes ; patientez un instant.',
    too_many_attempts: 'Trop de codes erronés pour ce compte ; réessayez dans 15 minutes.',
    internal: "Une erreur s'est produite de notre côté ; rien n'a été modifié.",
    unavailable: 'Le service est momentanément indisponible.',
  },
};

export const errorMessage = (code: ErrorCode, lang: Lang): string => messages[lang][code];
