import proxyAddr from '@fastify/proxy-addr';

/**
 * Which `X-Forwarded-For` entries come from our own proxies (SAUFCONDUIT_TRUST_PROXY). The header is
 * a list that every proxy appends to; its left part is whatever the client wrote. Trusting the
 * header as a whole (`true`) makes the client's own claim its address: every per-IP limit resets at
 * will and logged pseudonyms become attacker-chosen. So only two forms are accepted:
 * - a hop count `n`: the n nearest hops (the socket's peer and the n-1 entries after it, counted from
 *   the right) are our proxies, and the entry just before them is the client;
 * - a list of proxy addresses or CIDRs: hops are trusted while their address is in the list.
 */
export type TrustProxy =
  | { kind: 'none' }
  | { kind: 'hops'; hops: number }
  | { kind: 'addresses'; list: readonly string[] };

/** Most proxies a request may traverse in front of us (a CDN, a load balancer, an ingress…). */
const MAX_HOPS = 10;

/** Parses the setting; throws an Error whose message says what to write instead. */
export function parseTrustProxy(raw: string | boolean | number | undefined): TrustProxy {
  if (raw === undefined || raw === false || raw === '' || raw === 'false' || raw === '0' || raw === 0) return { kind: 'none' };
  if (raw === true || raw === 'true') {
    throw new Error('"true" would trust the X-Forwarded-For entries the client writes itself; give the number of proxies in front of the server (e.g. 1) or their addresses/CIDRs (e.g. 10.0.0.0/8,192.0.2.7)');
  }
  const text = String(raw).trim();
  if (/^\d+$/.test(text)) {
    const hops = Number(text);
    if (hops < 1 || hops > MAX_HOPS) throw new Error(`a hop count must be between 1 and ${MAX_HOPS}`);
    return { kind: 'hops', hops };
  }
  const list = text.split(',').map((s) => s.trim()).filter(Boolean);
  // An address has dots or colons; proxy-addr also names a few ranges. A bare number ("1,2") is a
  // mistyped hop count, not the address 0.0.0.1.
  const bad = list.find((e) => !/[.:]/.test(e) && !['loopback', 'linklocal', 'uniquelocal'].includes(e));
  if (bad !== undefined) throw new Error(`"${bad}" is not a proxy address or CIDR (a hop count is one number alone)`);
  try {
    proxyAddr.compile(list);
  } catch (err) {
    throw new Error(`not a hop count nor a list of addresses/CIDRs (${(err as Error).message})`);
  }
  return { kind: 'addresses', list };
}

/**
 * The trust function Fastify applies to each hop, nearest first (`i` = 0 is the socket's peer).
 * Fastify's own handling of a plain number trusts no hop at all (it cannot validate the peer), so a
 * hop count gets a function of its own. `false` when nothing is trusted: the socket address is the client.
 */
export function trustFunction(t: TrustProxy): false | ((address: string, hop: number) => boolean) {
  switch (t.kind) {
    case 'none':
      return false;
    case 'hops':
      return (_address, hop) => hop < t.hops;
    case 'addresses': {
      const trusted = proxyAddr.compile([...t.list]);
      return (address, hop) => trusted(address, hop);
    }
  }
}
