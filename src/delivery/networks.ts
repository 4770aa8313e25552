/**
 * Which networks webhook handlers may reach. Enforced when connecting, on the addresses DNS actually
 * returned, so a handler name that resolves (or re-resolves) to a metadata or link-local address is
 * refused: SSRF protection for deployments where publishers are not fully trusted.
 */
import { BlockList, isIP } from 'node:net';
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { parseCidr, type NetworkPolicy } from '../config/cidr.js';

function blockList(cidrs: readonly string[]): BlockList {
  const list = new BlockList();
  for (const c of cidrs) {
    const p = parseCidr(c);
    if (p) list.addSubnet(p.address, p.prefix, p.family);
  }
  return list;
}

/** Handler URLs whose verdict a guard remembers (a subscription's URL is checked before every attempt). */
const REMEMBERED_URLS = 4_096;

export class NetworkGuard {
  readonly #allow: BlockList | null;
  readonly #deny: BlockList;
  /** Verdicts by handler URL: a guard never changes (a config change builds a new one). */
  readonly #urls = new Map<string, string | null>();

  constructor(policy: NetworkPolicy) {
    this.#allow = policy.allow.length > 0 ? blockList(policy.allow) : null;
    this.#deny = blockList(policy.deny);
  }

  /**
   * Null when a handler URL may be connected to as far as can be told before connecting, else the
   * reason it may not. An IP literal never goes through DNS lookup, so the connect-time check cannot
   * see it: it is judged here. A host name is judged at connect time (`lookup`).
   */
  checkUrl(url: string): string | null {
    let verdict = this.#urls.get(url);
    if (verdict === undefined) {
      const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
      verdict = isIP(host) ? this.check(host) : null;
      if (this.#urls.size >= REMEMBERED_URLS) this.#urls.clear();
      this.#urls.set(url, verdict);
    }
    return verdict;
  }

  /** Null when `address` may be connected to, else the reason it may not. */
  check(address: string): string | null {
    const family: 'ipv4' | 'ipv6' = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    // IPv4-mapped IPv6 (::ffff:169.254.169.254) is judged as the IPv4 address it is.
    const mapped = family === 'ipv6' && address.toLowerCase().startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : null;
    const a = mapped ?? address;
    const f: 'ipv4' | 'ipv6' = mapped ? 'ipv4' : family;
    if (this.#deny.check(a, f)) return `handler address ${address} is in a denied network (delivery.networks.deny)`;
    if (this.#allow && !this.#allow.check(a, f)) return `handler address ${address} is not in an allowed network (delivery.networks.allow)`;
    return null;
  }

  /** A `lookup` for undici's connector that drops denied addresses and fails if none is left. */
  lookup = (hostname: string, options: object, callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void): void => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, []);
      const allowed = addresses.filter((a) => this.check(a.address) === null);
      if (allowed.length === 0) {
        const reason = this.check(addresses[0]!.address) ?? 'no address allowed';
        const blocked = Object.assign(new Error(`blocked: ${reason}`), { code: 'AMEBO_NETWORK_DENIED' });
        return callback(blocked, []);
      }
      if ((options as { all?: boolean }).all) return callback(null, allowed);
      callback(null, allowed[0]!.address, allowed[0]!.family);
    });
  };
}
