/**
 * The one allowlist of COSE signature algorithms accepted for EU DCC (hcert spec §3.3.3: ES256 is
 * primary, PS256 the fallback). Anything not in this table is rejected. Adding an algorithm is one
 * reviewed line here plus its backend support.
 */
export const COSE_ALGORITHMS = {
  [-7]: { name: 'ES256', keyType: 'ec', curve: 'P-256', signatureLength: 64 },
  [-37]: { name: 'PS256', keyType: 'rsa' },
} as const satisfies Record<number, { name: string; keyType: 'ec' | 'rsa'; curve?: string; signatureLength?: number }>;

/** Name of an allowed algorithm. */
export type AlgorithmName = 'ES256' | 'PS256';

/** An allowed algorithm, as `algorithmFor` describes it. */
export interface AllowedAlgorithm {
  id: number;
  name: AlgorithmName;
  keyType: 'ec' | 'rsa';
  signatureLength?: number;
}

/** Look up a COSE `alg` header value; `undefined` means "not allowed". Returns a fresh object. */
export function algorithmFor(alg: unknown): AllowedAlgorithm | undefined {
  const entry = allowedAlgorithm(alg);
  return entry && { ...entry };
}

// The same descriptions, built once and frozen, for the per-pass lookup (no object per call).
const ALLOWED: ReadonlyMap<number, Readonly<AllowedAlgorithm>> = new Map(
  Object.keys(COSE_ALGORITHMS).map((k) => {
    const id = Number(k);
    return [id, Object.freeze({ id, ...COSE_ALGORITHMS[id as keyof typeof COSE_ALGORITHMS] })] as const;
  }),
);

/** `algorithmFor` without the copy: the shared frozen description, or `undefined` if not allowed. */
export function allowedAlgorithm(alg: unknown): Readonly<AllowedAlgorithm> | undefined {
  return typeof alg === 'number' ? ALLOWED.get(alg) : undefined;
}

/** COSE `alg` identifier for an algorithm name (issuance side). */
export function algorithmId(name: AlgorithmName): number {
  return name === 'ES256' ? -7 : -37;
}
