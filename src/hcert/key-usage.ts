/**
 * Extended key usage of a Document Signer Certificate versus the DCC type it signed (hcert spec
 * §5.1.1 / EU trust framework). The table is the only place these OIDs are listed.
 */

/** Certificate types of an EU DCC, by the payload's group key. */
export type CertificateType = 'vaccination' | 'test' | 'recovery';

/**
 * OIDs that allow a DSC to sign one DCC type. Each has the correct form `1.3.6.1.4.1.1847.2021.1.x`
 * and the mistaken `1.3.6.1.4.1.0.1847.2021.1.x` form that several states put in their DSCs (the
 * EU verifier apps and the official test runner accept both).
 */
export const KEY_USAGE_OIDS: Readonly<Record<CertificateType, readonly string[]>> = Object.freeze({
  test: ['1.3.6.1.4.1.1847.2021.1.1', '1.3.6.1.4.1.0.1847.2021.1.1'],
  vaccination: ['1.3.6.1.4.1.1847.2021.1.2', '1.3.6.1.4.1.0.1847.2021.1.2'],
  recovery: ['1.3.6.1.4.1.1847.2021.1.3', '1.3.6.1.4.1.0.1847.2021.1.3'],
});

const ALL_DCC_OIDS = new Set(Object.values(KEY_USAGE_OIDS).flat());

/**
 * Whether a DSC with these EKU OIDs may sign a DCC of `type`. No EKU extension, or an EKU naming
 * none of the DCC OIDs, means the DSC is not restricted (allowed for all types).
 */
export function keyUsageAllows(extendedKeyUsage: readonly string[] | undefined, type: CertificateType): boolean {
  if (!extendedKeyUsage) return true;
  // Plain loops, no closures or intermediate array: this runs once per verification.
  const allowed = KEY_USAGE_OIDS[type];
  let restricted = false;
  for (let i = 0; i < extendedKeyUsage.length; i++) {
    const o = extendedKeyUsage[i]!;
    if (!ALL_DCC_OIDS.has(o)) continue;
    if (allowed.includes(o)) return true;
    restricted = true;
  }
  return !restricted;
}
