/**
 * Issue an EU DCC: check the DCC against the schema, wrap it in CWT claims, sign as COSE_Sign1
 * (kid and alg in the protected header), compress, base45-encode and prefix with `HC1:`.
 */
import { algorithmId, type AlgorithmName } from './algorithms.ts';
import type { HcertBackend } from './backend.ts';
import { encodeBase45 } from './base45.ts';
import { encodeCbor } from './cbor.ts';
import { encodeCoseSign1, sigStructure, HEADER_ALG, HEADER_KID } from './cose.ts';
import { CLAIM_EXP, CLAIM_HCERT, CLAIM_IAT, CLAIM_ISS, HCERT_EU_DCC_V1, type Json } from './cwt.ts';
import { HcertError } from './errors.ts';
import { HC1_PREFIX } from './hc1.ts';
import { describe } from './verify.ts';
import { validateDcc } from './schema.ts';
import { certificateKid } from './trust-list.ts';

/** What an issuer supplies. The private key never enters the core: `sign` is a closure over it. */
export interface IssueOptions {
  /** The DCC payload (`ver`, `nam`, `dob` and exactly one of `v`, `t`, `r`). */
  dcc: Json;
  /** DER of the DSC whose key signs; its SHA-256 prefix becomes the kid. */
  certificateDer: Uint8Array;
  alg: AlgorithmName;
  /** Produce a COSE signature (ES256: raw r‖s; PS256: RSASSA-PSS, 32-byte salt) over `data`. */
  sign: (data: Uint8Array) => Uint8Array;
  backend: HcertBackend;
  /** Issued-at and expiry (explicit: issuance reads no clock either). */
  issuedAt: Date;
  expiresAt: Date;
  /** Issuing country (CWT `iss`), e.g. "FR". */
  issuer?: string;
}

/** The issued pass. */
export interface IssuedPass {
  /** The QR text, `HC1:…`. */
  hc1: string;
  /** The signed COSE_Sign1 bytes (before compression), for archiving or tests. */
  cose: Uint8Array;
  kid: Uint8Array;
}

/**
 * Build, sign and encode a pass. Throws `HcertError('schema')` when the DCC does not satisfy the
 * schema: we refuse to sign what a verifier would reject.
 *
 * @example
 * const { hc1 } = issueHc1({ dcc, certificateDer, alg: 'ES256', sign, backend: nodeBackend,
 *   issuedAt: new Date(), expiresAt: new Date(Date.now() + 365 * 864e5), issuer: 'FR' });
 */
export function issueHc1(o: IssueOptions): IssuedPass {
  if (!validateDcc(o.dcc) || !describe(o.dcc)) throw new HcertError('schema', 'dcc-schema');
  if (!o.backend.deflate) throw new TypeError('backend has no deflate');
  const kid = certificateKid(o.backend, o.certificateDer);
  const protectedBytes = encodeCbor(
    new Map<number, number | Uint8Array>([
      [HEADER_ALG, algorithmId(o.alg)],
      [HEADER_KID, kid],
    ]),
  );
  const claims = new Map<number, unknown>();
  if (o.issuer !== undefined) claims.set(CLAIM_ISS, o.issuer);
  claims.set(CLAIM_EXP, Math.floor(o.expiresAt.getTime() / 1000));
  claims.set(CLAIM_IAT, Math.floor(o.issuedAt.getTime() / 1000));
  claims.set(CLAIM_HCERT, new Map([[HCERT_EU_DCC_V1, o.dcc]]));
  const payload = encodeCbor(claims);
  const signature = o.sign(sigStructure(protectedBytes, payload));
  const cose = encodeCoseSign1(protectedBytes, new Map(), payload, signature);
  return { hc1: HC1_PREFIX + encodeBase45(o.backend.deflate(cose)), cose, kid };
}
