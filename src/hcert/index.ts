/**
 * Public API of the HCERT (EU DCC) codec. Pure: no I/O and no state that outlives a call (results
 * depend only on the arguments; the working buffers the verifier reuses for speed are zeroed before
 * each call returns, and a nested call gets its own); platform primitives arrive through an
 * `HcertBackend` (see `node.ts` for Node.js).
 */

/** Verify an `HC1:` pass (or many, for bulk) in the fixed fail-closed order; returns classified results, never throws on input. */
export { verifyHc1, verifyHc1Many, BATCH_SIZE, describe, assertValid } from './verify.ts';
export type { VerifyOptions, VerifyResult, VerifySuccess, VerifyFailure, Holder, DccValidator } from './verify.ts';
/** Build, sign and encode a DCC as an `HC1:` string. */
export { issueHc1 } from './issue.ts';
export type { IssueOptions, IssuedPass } from './issue.ts';
/** Stable rejection reasons and the typed error carrying them. */
export { REASON_CODES, HcertError } from './errors.ts';
export type { ReasonCode } from './errors.ts';
/** Parse a DGCA-gateway-shaped trust list once (keys imported and cached); compute a DSC's kid. */
export { parseTrustList, trustListFromCertificates, certificateKid } from './trust-list.ts';
export type { TrustList, TrustedKey } from './trust-list.ts';
/** Parse a revocation list; compute EU revocation hashes. */
export { parseRevocationList, revocationHash, REVOCATION_HASH_TYPES, EMPTY_REVOCATION_LIST } from './revocation.ts';
export type { RevocationList, RevocationHashType } from './revocation.ts';
/** The DCC JSON schema check (precompiled). */
export { validateDcc, explainDcc } from './schema.ts';
/** The single allowlist of COSE algorithms. */
export { COSE_ALGORITHMS, algorithmFor } from './algorithms.ts';
export type { AlgorithmName } from './algorithms.ts';
/** EKU OIDs per certificate type and the key-usage rule. */
export { KEY_USAGE_OIDS, keyUsageAllows } from './key-usage.ts';
export type { CertificateType } from './key-usage.ts';
/** Hard input limits and their defaults. */
export { DEFAULT_LIMITS } from './limits.ts';
export type { Limits } from './limits.ts';
/** Layer codecs, exported for tools and tests (each enforces its own limits). */
export { encodeBase45, decodeBase45 } from './base45.ts';
export { decodeCbor, encodeCbor, CborTag } from './cbor.ts';
export type { CborValue } from './cbor.ts';
export { parseCoseSign1, coseKid, sigStructure } from './cose.ts';
export type { CoseSign1 } from './cose.ts';
export { parseCwtClaims } from './cwt.ts';
export type { HcertClaims, Json } from './cwt.ts';
export { unprefix, unwrapHc1, HC1_PREFIX } from './hc1.ts';
export { inflateBounded } from './zlib.ts';
export { parseCertificate } from './x509.ts';
export type { ParsedCertificate } from './x509.ts';
/** The backend interface the platform supplies. */
export type { HcertBackend } from './backend.ts';
