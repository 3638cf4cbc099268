/**
 * Set and map keys: the data types of nft(8) "DATA TYPES" that kube-proxy's sets use, their text
 * forms, and a compact encoding so a verdict-map lookup on the packet path is one JS Map probe on a
 * number (no string building per packet).
 *
 * The kernel hashes the concatenated key registers (nft_set_hash / nft_set_pipapo for concatenations);
 * here a concatenation `ipv4_addr . inet_proto . inet_service` is a mixed-radix number. inet_proto is
 * stored as a small index over the protocols the simulator models, so that concatenation fits in 51
 * bits; an element naming another protocol (gre, 47) gets a string code, which no packet produces,
 * so it never matches — as in the kernel, where no modelled packet carries protocol 47.
 */
import { formatIPv4, tryParseIPv4 } from '../net/ipv4.ts';
import type { KeyCode, KeyType } from './types.ts';

/** nft ct state bits (include/uapi/linux/netfilter/nf_conntrack_common.h NF_CT_STATE_BIT / IP_CT_*). */
export const CT_STATE_BITS: Readonly<Record<string, number>> = {
  invalid: 1,
  established: 2,
  related: 4,
  new: 8,
  untracked: 64,
};

/** Protocol names nft prints for inet_proto (from /etc/protocols), and their numbers. */
const PROTO_BY_NAME: Readonly<Record<string, number>> = { icmp: 1, tcp: 6, udp: 17, sctp: 132, gre: 47, esp: 50, ah: 51 };
const PROTO_NAME = new Map<number, string>(Object.entries(PROTO_BY_NAME).map(([k, v]) => [v, k]));
/** Compact index of the protocols a simulated packet can carry (0 = none of them). */
const PROTO_INDEX = new Map<number, number>([
  [6, 1],
  [17, 2],
  [132, 3],
  [1, 4],
]);

export const RADIX: Readonly<Record<KeyType, number>> = {
  ipv4_addr: 2 ** 32,
  inet_proto: 8,
  inet_service: 65536,
  mark: 2 ** 32,
  ct_state: 256,
};

export const KEY_TYPES: readonly KeyType[] = ['ipv4_addr', 'inet_proto', 'inet_service', 'mark', 'ct_state'];

/** The key type a packet field yields when used in a lookup. */
export function isKeyType(s: string): s is KeyType {
  return (KEY_TYPES as readonly string[]).includes(s);
}

/** Parses the text of one key part; undefined when the text is not of that type. */
export function parseScalar(type: KeyType, text: string): number | undefined {
  switch (type) {
    case 'ipv4_addr':
      return tryParseIPv4(text);
    case 'inet_proto': {
      if (text in PROTO_BY_NAME) return PROTO_BY_NAME[text];
      return parseIntIn(text, 0, 255);
    }
    case 'inet_service':
      return parseIntIn(text, 0, 65535);
    case 'mark':
      return parseIntIn(text, 0, 0xffffffff);
    case 'ct_state': {
      let bits = 0;
      for (const part of text.split(',')) {
        const b = CT_STATE_BITS[part];
        if (b === undefined) return undefined;
        bits |= b;
      }
      return bits;
    }
  }
}

export function formatScalar(type: KeyType, v: number): string {
  switch (type) {
    case 'ipv4_addr':
      return formatIPv4(v);
    case 'inet_proto':
      return PROTO_NAME.get(v) ?? String(v);
    case 'inet_service':
      return String(v);
    case 'mark':
      return `0x${v.toString(16).padStart(8, '0')}`;
    case 'ct_state':
      return Object.entries(CT_STATE_BITS)
        .filter(([, b]) => (v & b) !== 0)
        .map(([n]) => n)
        .join(',');
  }
}

/** Accepts decimal and 0x-prefixed hexadecimal, as nft does for integer types. */
export function parseIntIn(text: string, lo: number, hi: number): number | undefined {
  let n: number;
  if (/^0x[0-9a-fA-F]+$/.test(text)) n = parseInt(text.slice(2), 16);
  else if (/^[0-9]+$/.test(text)) n = Number(text);
  else return undefined;
  return n >= lo && n <= hi ? n : undefined;
}

/** True when keys of this type list encode as numbers. */
export function numericKey(types: readonly KeyType[]): boolean {
  let range = 1;
  for (const t of types) range *= RADIX[t];
  return range <= 2 ** 53;
}

/**
 * Encodes parsed key parts. `numeric` must be numericKey(types), computed once per set. Packet-side
 * callers pass the protocol *number*; the compact index is applied here.
 */
export function encodeKey(types: readonly KeyType[], parts: readonly number[], numeric: boolean): KeyCode {
  if (numeric) {
    let code = 0;
    for (let i = 0; i < types.length; i++) {
      const t = types[i];
      let d = parts[i];
      if (t === 'inet_proto') {
        const idx = PROTO_INDEX.get(d);
        if (idx === undefined) return `p${parts.join('.')}`;
        d = idx;
      }
      code = code * RADIX[t] + d;
    }
    return code;
  }
  return parts.join('.');
}

export function formatKey(types: readonly KeyType[], parts: readonly number[]): string {
  return parts.map((p, i) => formatScalar(types[i], p)).join(' . ');
}

/**
 * One digit of a packet-side key: the value itself, or the compact protocol index for inet_proto
 * (-1 when the protocol has no index, which no numeric element key can match).
 */
export function keyDigit(type: KeyType, value: number): number {
  if (type !== 'inet_proto') return value;
  return PROTO_INDEX.get(value) ?? -1;
}
