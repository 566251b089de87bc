/**
 * Keeps the verifier's trust material: the pinned anchor and the newest valid bundle, in memory and
 * in one Cache Storage cache (`verifier-trust`) so the app works offline. This cache holds exactly
 * two entries, `/trust/anchor.json` and `/trust/bundle.jws`, both public: nothing about a scanned
 * person is ever written anywhere (DESIGN.md invariant 7).
 *
 * Pinning: the anchor is fetched once (first load, trust on first use, like the app code itself) and
 * then only ever read from the cache. A bundle is adopted only when it verifies under that anchor
 * and is newer than the one held, so a replayed old bundle cannot roll revocations back.
 */
import { importAnchor, openBundle, TrustError, type TrustAnchor, type TrustBundle } from './trust.ts';

export const TRUST_CACHE = 'verifier-trust';
export const ANCHOR_URL = '/trust/anchor.json';
export const BUNDLE_URL = '/trust/bundle.jws';
/** How long a trust fetch may take before the cached material is used instead. */
const FETCH_TIMEOUT_MS = 10_000;

/** What the keeper knows, for the UI. */
export type KeeperState =
  | { kind: 'loading' }
  /** No usable material (first load offline, or nothing valid received yet). */
  | { kind: 'none'; refused: boolean }
  | { kind: 'ready'; bundle: TrustBundle };

const hasCaches = () => typeof caches !== 'undefined';

async function cached(url: string): Promise<string | null> {
  if (!hasCaches()) return null;
  const res = await (await caches.open(TRUST_CACHE)).match(url);
  return res ? res.text() : null;
}

async function remember(url: string, text: string, type: string): Promise<void> {
  if (!hasCaches()) return;
  await (await caches.open(TRUST_CACHE)).put(url, new Response(text, { headers: { 'content-type': type } }));
}

/** A public trust document from our origin: no cookies, no referrer, no HTTP cache. */
async function download(url: string): Promise<string> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), FETCH_TIMEOUT_MS);
  try {
    const res = await fetch(url, { cache: 'no-store', credentials: 'omit', referrerPolicy: 'no-referrer', signal: abort.signal });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    return await res.text();
  } finally {
    clearTimeout(timer);
  }
}

export class TrustKeeper {
  state: KeeperState = { kind: 'loading' };
  /** The last bundle downloaded did not verify (for instance the publisher's key changed): reconnecting alone will not help. */
  refused = false;
  /**
   * The last refresh could not reach the server (network error or timeout). `navigator.onLine` alone
   * is not enough: it stays true on a network that does not reach us, and under some emulations.
   */
  unreachable = false;
  private anchor: TrustAnchor | null = null;
  private refreshing: Promise<void> | null = null;

  constructor(private readonly onChange: () => void) {}

  /** Load the pinned anchor and cached bundle, then try the network. */
  async start(): Promise<void> {
    try {
      const bundleText = await cached(BUNDLE_URL);
      this.anchor = await this.pinnedAnchor();
      if (bundleText) await this.adopt(bundleText, false).catch(() => undefined);
    } catch {
      // No anchor yet (offline on first load): nothing to verify with.
    }
    if (this.state.kind === 'loading') this.set({ kind: 'none', refused: false });
    await this.refresh();
  }

  /** Fetch the current bundle; keeps what it has when offline or when the answer is not valid. */
  refresh(): Promise<void> {
    this.refreshing ??= (async () => {
      try {
        this.anchor ??= await this.pinnedAnchor();
        await this.adopt(await download(BUNDLE_URL), true);
        this.refused = false;
        this.unreachable = false;
      } catch (err) {
        if (!(err instanceof TrustError)) {
          // Offline or server unreachable: keep what we have, and say so.
          this.unreachable = true;
          this.onChange();
          return;
        }
        this.unreachable = false;
        this.refused = true;
        if (this.state.kind !== 'ready') this.set({ kind: 'none', refused: true });
        else this.onChange();
      } finally {
        this.refreshing = null;
      }
    })();
    return this.refreshing;
  }

  private async pinnedAnchor(): Promise<TrustAnchor> {
    const pinned = await cached(ANCHOR_URL);
    if (pinned) {
      try {
        return await importAnchor(JSON.parse(pinned));
      } catch {
        // A damaged cache entry: pin again below.
      }
    }
    const text = await download(ANCHOR_URL);
    const anchor = await importAnchor(JSON.parse(text));
    await remember(ANCHOR_URL, text, 'application/json');
    return anchor;
  }

  private async adopt(jws: string, store: boolean): Promise<void> {
    if (!this.anchor) throw new TrustError('anchor');
    const bundle = await openBundle(jws, this.anchor);
    const current = this.state.kind === 'ready' ? this.state.bundle : null;
    if (current && bundle.iat <= current.iat) return;
    if (store) await remember(BUNDLE_URL, jws, 'application/jose');
    this.set({ kind: 'ready', bundle });
  }

  private set(state: KeeperState): void {
    this.state = state;
    this.onChange();
  }
}
