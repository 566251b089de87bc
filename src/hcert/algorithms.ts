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

/** Look up a COSE `alg` header value; `undefined` means "not allowed". */
export function algorithmFor(alg: unknown): { id: number; name: AlgorithmName; keyType: 'ec' | 'rsa'; signatureLength?: number } | undefined {
  if (typeof alg !== 'number' || !Object.hasOwn(COSE_ALGORITHMS, alg)) return undefined;
  const entry = COSE_ALGORITHMS[alg as keyof typeof COSE_ALGORITHMS];
  return { id: alg, ...entry };
}

/** COSE `alg` identifier for an algorithm name (issuance side). */
export function algorithmId(name: AlgorithmName): number {
  return name === 'ES256' ? -7 : -37;
}
