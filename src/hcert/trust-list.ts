/**
 * Trust list in the DGCA gateway shape: `[{kid, country, certificateType, rawData}]` with rawData
 * the base64 DER X.509 DSC. Certificates are parsed and their public keys imported once, here, so
 * each verification is a map lookup plus one signature check.
 */
import { algorithmFor, type AlgorithmName } from './algorithms.ts';
import type { HcertBackend, PublicKeyHandle } from './backend.ts';
import { fromBase64, toBase64 } from './bytes.ts';
import { HcertError } from './errors.ts';
import { parseCertificate, type ParsedCertificate } from './x509.ts';

/** One usable signer key. */
export interface TrustedKey {
  /** base64 kid under which this key is indexed. */
  kid: string;
  country: string | undefined;
  certificate: ParsedCertificate;
  /** Algorithm this key can verify (from its key type). */
  alg: AlgorithmName;
  key: PublicKeyHandle;
}

/** An immutable, pre-parsed trust list: kid (base64) → every key published under that kid. */
export interface TrustList {
  readonly byKid: ReadonlyMap<string, readonly TrustedKey[]>;
  /** Entries that could not be used, with why (for operator diagnostics; never trusted). */
  readonly rejected: readonly { index: number; reason: string }[];
}

/** kid of a DSC: the first 8 bytes of the SHA-256 of its DER encoding (hcert spec §3.3.1). */
export function certificateKid(backend: HcertBackend, der: Uint8Array): Uint8Array {
  return backend.sha256(der).subarray(0, 8);
}

/**
 * Build a trust list from parsed JSON. Entries of `certificateType` other than `DSC` are skipped.
 * The entry's `kid` is used for lookup as the EU gateway publishes it (verifier apps do the same);
 * when absent it is computed from the certificate. Unusable entries are reported in `rejected`.
 */
export function parseTrustList(json: unknown, backend: HcertBackend): TrustList {
  if (!Array.isArray(json)) throw new TypeError('trust list must be a JSON array');
  const byKid = new Map<string, TrustedKey[]>();
  const rejected: { index: number; reason: string }[] = [];
  json.forEach((entry: unknown, index) => {
    if (typeof entry !== 'object' || entry === null) return rejected.push({ index, reason: 'not an object' });
    const e = entry as Record<string, unknown>;
    if (e.certificateType !== undefined && e.certificateType !== 'DSC') return rejected.push({ index, reason: 'not a DSC' });
    const der = typeof e.rawData === 'string' ? fromBase64(e.rawData) : undefined;
    if (!der) return rejected.push({ index, reason: 'rawData is not base64' });
    let certificate: ParsedCertificate;
    try {
      certificate = parseCertificate(der);
    } catch (err) {
      return rejected.push({ index, reason: err instanceof HcertError ? err.detail : 'bad certificate' });
    }
    const alg: AlgorithmName | undefined = certificate.keyType === 'ec' ? 'ES256' : certificate.keyType === 'rsa' ? 'PS256' : undefined;
    if (!alg) return rejected.push({ index, reason: 'unsupported key type' });
    let key: PublicKeyHandle;
    try {
      key = backend.importPublicKey(certificate.spki, alg);
    } catch {
      return rejected.push({ index, reason: 'public key not importable' });
    }
    const declared = typeof e.kid === 'string' ? fromBase64(e.kid) : undefined;
    const kid = toBase64(declared ?? certificateKid(backend, der));
    const list = byKid.get(kid) ?? [];
    list.push({ kid, country: typeof e.country === 'string' ? e.country : undefined, certificate, alg, key });
    byKid.set(kid, list);
    return undefined;
  });
  return { byKid, rejected };
}

/** Convenience: a trust list from DER certificates (kid computed from each). */
export function trustListFromCertificates(ders: readonly Uint8Array[], backend: HcertBackend, country?: string): TrustList {
  return parseTrustList(
    ders.map((der) => ({ kid: toBase64(certificateKid(backend, der)), country, certificateType: 'DSC', rawData: toBase64(der) })),
    backend,
  );
}

/** Keys that can check a signature made with COSE `alg` under `kid`. */
export function candidateKeys(list: TrustList, kid: Uint8Array, alg: number): readonly TrustedKey[] {
  const keys = list.byKid.get(toBase64(kid));
  if (!keys) return [];
  const name = algorithmFor(alg)?.name;
  return keys.filter((k) => k.alg === name);
}
