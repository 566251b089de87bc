import { randomUUID } from 'node:crypto';
import type { Db, Queryable } from '../store/db.ts';
import type { FieldCipher } from '../crypto/fields.ts';
import { generateCsca, generateDsc, matchImported } from '../signing/certificates.ts';
import { DigestSigner } from '../signing/digest-signer.ts';
import { certificateKid } from '../hcert/index.ts';
import { nodeBackend } from '../hcert/node.ts';

export const COUNTRY = 'FR';

export interface CertificateRow {
  id: string;
  kind: 'csca' | 'dsc' | 'trust-publisher';
  kid: string | null;
  certificate_der: string;
  private_key_enc: string | null;
  status: 'active' | 'retired';
  not_before: Date;
  not_after: Date;
}

const ctx = (id: string) => `signing_certificate.private_key:${id}`;
const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');

async function store(db: Queryable, fields: FieldCipher, kind: CertificateRow['kind'], c: { der: Uint8Array; pkcs8: Uint8Array; notBefore: Date; notAfter: Date }): Promise<string> {
  const id = randomUUID();
  const kid = kind === 'dsc' ? b64(certificateKid(nodeBackend, c.der)) : null;
  if (kind !== 'csca') await db.query(`UPDATE signing_certificate SET status = 'retired' WHERE kind = $1 AND status = 'active'`, [kind]);
  await db.query(
    `INSERT INTO signing_certificate (id, kind, country, kid, certificate_der, private_key_enc, status, not_before, not_after) VALUES ($1, $2, $3, $4, $5, $6, 'active', $7, $8)`,
    [id, kind, COUNTRY, kid, b64(c.der), fields.encrypt(ctx(id), c.pkcs8), c.notBefore, c.notAfter],
  );
  return id;
}

async function active(db: Queryable, kind: CertificateRow['kind']): Promise<CertificateRow | null> {
  const [row] = await db.query<CertificateRow>(`SELECT * FROM signing_certificate WHERE kind = $1 AND status = 'active' ORDER BY created_at DESC LIMIT 1`, [kind]);
  return row ?? null;
}

/**
 * Makes sure the issuing authority has a CSCA, an active DSC and a trust-list publishing key,
 * generating what is missing (first start, demo). Production imports its DSC instead.
 */
export async function ensureIssuerKeys(db: Db, fields: FieldCipher, now = new Date()): Promise<void> {
  // Several processes may start at once: the table lock makes exactly one of them generate.
  await db.transaction(async (tx) => {
    await tx.query('LOCK TABLE signing_certificate IN EXCLUSIVE MODE');
    if (!(await active(tx, 'csca'))) await store(tx, fields, 'csca', await generateCsca({ country: COUNTRY, name: 'Saufconduit CSCA (demo)', now, years: 10 }));
    if (!(await active(tx, 'dsc'))) await rotateDsc(tx, fields, now);
    if (!(await active(tx, 'trust-publisher'))) {
      await store(tx, fields, 'trust-publisher', await generateCsca({ country: COUNTRY, name: 'Saufconduit trust list publisher', now, years: 5 }));
    }
  });
}

/** A new DSC becomes active; the previous one stays in the trust list until it expires. */
export async function rotateDsc(db: Queryable, fields: FieldCipher, now = new Date()): Promise<string> {
  const csca = await active(db, 'csca');
  if (!csca) throw new Error('no CSCA');
  const cscaKey = fields.decryptBytes(ctx(csca.id), csca.private_key_enc!);
  const dsc = await generateDsc({ country: COUNTRY, name: `Saufconduit DSC ${now.toISOString().slice(0, 10)}`, now, days: 2 * 365, csca: { der: Buffer.from(csca.certificate_der, 'base64'), pkcs8: cscaKey }, types: ['test', 'vaccination', 'recovery'] });
  return store(db, fields, 'dsc', dsc);
}

/** Imports a DSC issued by the national CSCA (PEM certificate and its P-256 private key). */
export async function importDsc(db: Queryable, fields: FieldCipher, certPem: string, keyPem: string): Promise<string> {
  return store(db, fields, 'dsc', matchImported(certPem, keyPem));
}

/** Every DSC still valid at `now` (active and retired): what verifiers must trust. */
export async function publishedDscs(db: Queryable, now: Date): Promise<CertificateRow[]> {
  return db.query<CertificateRow>(`SELECT * FROM signing_certificate WHERE kind = 'dsc' AND not_after > $1 ORDER BY created_at`, [now]);
}

export async function activeDsc(db: Queryable): Promise<CertificateRow> {
  const row = await active(db, 'dsc');
  if (!row) throw new Error('no active document signer: run ensureIssuerKeys');
  return row;
}

/** The trust-list publishing key (PKCS#8) and its certificate. */
export async function trustPublisher(db: Queryable, fields: FieldCipher): Promise<{ id: string; der: Uint8Array; pkcs8: Uint8Array }> {
  const row = await active(db, 'trust-publisher');
  if (!row) throw new Error('no trust-list publisher key: run ensureIssuerKeys');
  return { id: row.id, der: Buffer.from(row.certificate_der, 'base64'), pkcs8: fields.decryptBytes(ctx(row.id), row.private_key_enc!) };
}

/**
 * Loads every DSC key the signer does not hold yet (decrypted once, kept in memory only). Called
 * at start and before issuing, so a rotation done by another process is picked up.
 */
export async function refreshSigner(db: Queryable, fields: FieldCipher, signer: DigestSigner): Promise<DigestSigner> {
  for (const r of await db.query<CertificateRow>(`SELECT * FROM signing_certificate WHERE kind = 'dsc' AND private_key_enc IS NOT NULL`)) {
    if (!signer.has(r.kid!)) signer.add(r.kid!, fields.decryptBytes(ctx(r.id), r.private_key_enc!));
  }
  return signer;
}
