/**
 * WebCrypto primitives for the synchronous HCERT core.
 *
 * The core (`src/hcert/`) asks its backend for SHA-256 and signature checks synchronously, while
 * WebCrypto only answers with promises. Rather than re-implementing the fixed, fail-closed
 * verification order in an async copy, `withWebCrypto` runs the core's own function in rounds:
 * every primitive call the core makes is answered from what WebCrypto has already computed in this
 * run; a call not computed yet is recorded, answered with a placeholder, and marks the round as
 * incomplete. After an incomplete round the recorded calls are computed with WebCrypto and the
 * function runs again. The result returned is the one of the first round in which every primitive
 * answer was a real WebCrypto answer, which is exactly what a synchronous backend would have
 * produced; results of incomplete rounds are thrown away unread.
 *
 * The memo of computed answers lives only for one call: nothing derived from a scanned pass
 * survives the verification that produced it.
 */
import type { AlgorithmName } from '../hcert/algorithms.ts';
import type { HcertBackend } from '../hcert/backend.ts';

/** A public key handed to the core by `importPublicKey`; usable once `importKeys` has imported it. */
export interface WebCryptoKey {
  readonly spki: Uint8Array;
  readonly alg: AlgorithmName;
  /** The imported key; `null` before import, or when the browser refused it (then it never verifies). */
  key: CryptoKey | null;
}

/** WebCrypto parameters per allowed algorithm: the only place they are listed (RFC 9053, RFC 8230). */
const WEBCRYPTO_ALGORITHMS: Readonly<Record<AlgorithmName, { importParams: EcKeyImportParams | RsaHashedImportParams; verifyParams: EcdsaParams | RsaPssParams }>> = {
  // COSE ES256 signatures are raw r‖s, which is what WebCrypto ECDSA expects.
  ES256: { importParams: { name: 'ECDSA', namedCurve: 'P-256' }, verifyParams: { name: 'ECDSA', hash: 'SHA-256' } },
  // RFC 8230 §2: MGF1 with SHA-256 and a 32-byte salt.
  PS256: { importParams: { name: 'RSA-PSS', hash: 'SHA-256' }, verifyParams: { name: 'RSA-PSS', saltLength: 32 } },
};

/**
 * At most this many rounds: the signature checks, then the final run. (Revocation hashes no longer
 * need a round: the core computes them synchronously; the SHA-256 path here still serves any other
 * digest the core may ask for.)
 */
const MAX_ROUNDS = 6;

const subtleCrypto = (): SubtleCrypto => globalThis.crypto.subtle;

/** One-char-per-byte string of bytes: a cheap, exact Map key. */
function byteKey(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i += 4096) s += String.fromCharCode.apply(null, b.subarray(i, i + 4096) as unknown as number[]);
  return s;
}

/** Copy into a fresh ArrayBuffer-backed array (WebCrypto wants a plain `BufferSource`). */
const own = (b: Uint8Array): Uint8Array<ArrayBuffer> => new Uint8Array(b);

/**
 * Run `fn` (a pure function of the HCERT core) with WebCrypto as its backend.
 *
 * `fn` must be deterministic given its primitive answers (the core's functions are: no clock, no
 * randomness). Keys given to `importPublicKey` become `WebCryptoKey` handles, one per distinct
 * SPKI and algorithm in this run; import them with `importKeys` before using them to verify.
 *
 * @example
 * const result = await withWebCrypto((backend) => verifyHc1(text, { trustList, backend, validateDcc, at: new Date() }));
 */
export async function withWebCrypto<T>(fn: (backend: HcertBackend) => T, subtle: SubtleCrypto = subtleCrypto()): Promise<T> {
  const digests = new Map<string, Uint8Array>();
  const verdicts = new Map<WebCryptoKey, Map<string, boolean>>();
  const handles = new Map<string, WebCryptoKey>();
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const pending: Promise<void>[] = [];
    const backend: HcertBackend = {
      sha256(data) {
        const k = byteKey(data);
        const known = digests.get(k);
        if (known) return known.slice();
        const copy = own(data);
        pending.push(subtle.digest('SHA-256', copy).then((h) => void digests.set(k, new Uint8Array(h))));
        return new Uint8Array(32);
      },
      importPublicKey(spki, alg) {
        const k = `${alg}:${byteKey(spki)}`;
        let h = handles.get(k);
        if (!h) handles.set(k, (h = { spki: own(spki), alg, key: null }));
        return h;
      },
      verify(alg, handle, data, signature) {
        const h = handle as WebCryptoKey;
        if (!h || h.alg !== alg || !h.key) return false;
        const k = `${byteKey(signature)}\u0000${byteKey(data)}`;
        let byKey = verdicts.get(h);
        if (!byKey) verdicts.set(h, (byKey = new Map()));
        const known = byKey.get(k);
        if (known !== undefined) return known;
        const [sig, signed, key, answers] = [own(signature), own(data), h.key, byKey];
        pending.push(subtle.verify(WEBCRYPTO_ALGORITHMS[alg].verifyParams, key, sig, signed).then((ok) => void answers.set(k, ok), () => void answers.set(k, false)));
        return false;
      },
    };
    let result: T;
    try {
      result = fn(backend);
    } catch (err) {
      // An exception in a round built on placeholders says nothing; in a complete round it is real.
      if (pending.length === 0) throw err;
      await Promise.all(pending);
      continue;
    }
    if (pending.length === 0) return result;
    await Promise.all(pending);
  }
  throw new Error('verification did not settle');
}

/**
 * Import handles created during `withWebCrypto` as non-extractable verify-only keys. A key the
 * browser refuses (wrong curve, unsupported RSA form) keeps `key = null` and is returned in the
 * failure list, so the caller can drop it from the trust list.
 */
export async function importKeys(handles: Iterable<WebCryptoKey>, subtle: SubtleCrypto = subtleCrypto()): Promise<WebCryptoKey[]> {
  const failed: WebCryptoKey[] = [];
  await Promise.all([...handles].map(async (h) => {
    try {
      h.key = await subtle.importKey('spki', own(h.spki), WEBCRYPTO_ALGORITHMS[h.alg].importParams, false, ['verify']);
    } catch {
      h.key = null;
      failed.push(h);
    }
  }));
  return failed;
}
