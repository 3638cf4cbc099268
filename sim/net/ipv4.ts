/**
 * IPv4 addresses and CIDR prefixes as unsigned 32-bit integers (0 .. 2^32-1 in a JS number), the
 * representation the kernel uses in struct iphdr (network order aside). Integers compare, hash and
 * mask cheaply in the packet hot loop; text conversion happens only at the edges (parsers, output).
 */
import { InputError } from '../io/input-error.ts';
import { quoteInput } from '../io/excerpt.ts';

export type IPv4 = number;

export interface Cidr {
  /** Network address, already masked (host bits zero). */
  readonly addr: IPv4;
  /** Prefix length 0..32. */
  readonly prefix: number;
  /** Netmask as an unsigned 32-bit integer (prefix 0 -> 0, prefix 32 -> 0xffffffff). */
  readonly mask: number;
}

/** Parses dotted-quad text. Returns undefined instead of throwing, for callers that try alternatives. */
export function tryParseIPv4(text: string): IPv4 | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let v = 0;
  for (const p of parts) {
    // inet_pton(3) accepts only decimal octets without leading zeros beyond "0" itself.
    if (p.length === 0 || p.length > 3 || !/^[0-9]+$/.test(p)) return undefined;
    if (p.length > 1 && p[0] === '0') return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    v = v * 256 + n;
  }
  return v;
}

/** Parses dotted-quad text; `where` names the place for the error message (file:line:col or field path). */
export function parseIPv4(text: string, where = 'address'): IPv4 {
  const v = tryParseIPv4(text);
  if (v === undefined) throw new InputError(where, 'an IPv4 address like 10.96.0.10', quoteInput(text));
  return v;
}

export function formatIPv4(ip: IPv4): string {
  return `${(ip >>> 24) & 255}.${(ip >>> 16) & 255}.${(ip >>> 8) & 255}.${ip & 255}`;
}

export function prefixMask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

export function tryParseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  const addrText = slash < 0 ? text : text.slice(0, slash);
  const addr = tryParseIPv4(addrText);
  if (addr === undefined) return undefined;
  let prefix = 32;
  if (slash >= 0) {
    const pt = text.slice(slash + 1);
    if (/^[0-9]{1,2}$/.test(pt)) {
      prefix = Number(pt);
      if (prefix > 32) return undefined;
    } else {
      // iptables also accepts a dotted netmask (-s 10.0.0.0/255.0.0.0); only contiguous masks are CIDRs.
      const m = tryParseIPv4(pt);
      if (m === undefined) return undefined;
      const inv = ~m >>> 0;
      if ((inv & (inv + 1)) !== 0) return undefined;
      prefix = 32 - Math.log2(inv + 1);
    }
  }
  const mask = prefixMask(prefix);
  return { addr: (addr & mask) >>> 0, prefix, mask };
}

/** Parses `a.b.c.d/len` (a bare address means /32). Host bits are cleared as iptables does. */
export function parseCidr(text: string, where = 'CIDR'): Cidr {
  const c = tryParseCidr(text);
  if (c === undefined) throw new InputError(where, 'an IPv4 CIDR like 10.96.0.0/12 or an address', quoteInput(text));
  return c;
}

export function cidrContains(c: Cidr, ip: IPv4): boolean {
  return ((ip & c.mask) >>> 0) === c.addr;
}

/** Addresses in the prefix, network and broadcast included. */
export function cidrSize(c: Cidr): number {
  return 2 ** (32 - c.prefix);
}

export function formatCidr(c: Cidr): string {
  return `${formatIPv4(c.addr)}/${c.prefix}`;
}
