/** The networks webhook handlers may reach, as the config writes them: CIDR strings, parsed here. */
import { isIP } from 'node:net';

/** Networks handlers may connect to (CIDR strings), checked at connect time. */
export interface NetworkPolicy {
  readonly allow: readonly string[];
  readonly deny: readonly string[];
}

/** Parses `10.0.0.0/8`, `fe80::/10` or a bare address. */
export function parseCidr(text: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } | null {
  const [address, prefixText] = text.trim().split('/');
  const v = isIP(address ?? '');
  if (v === 0) return null;
  const max = v === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max) return null;
  return { address: address!, prefix, family: v === 4 ? 'ipv4' : 'ipv6' };
}
