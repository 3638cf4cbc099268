/**
 * The connection 5-tuple (protocol, source, destination, ports) that conntrack, ipvs and the
 * service maps key on. `tupleKey` gives a string key for Map lookups; `tupleHash` a 32-bit
 * numeric hash for open-addressing tables. Both are exact functions of the five fields.
 */
import { formatIPv4, type IPv4 } from './ipv4.ts';
import { PROTOCOL_NUMBER, type Protocol } from './protocol.ts';
import type { Packet } from './packet.ts';

export interface FiveTuple {
  proto: Protocol;
  src: IPv4;
  sport: number;
  dst: IPv4;
  dport: number;
}

export function tupleOf(p: Packet): FiveTuple {
  return { proto: p.proto, src: p.src, sport: p.sport, dst: p.dst, dport: p.dport };
}

/** The reply direction (what conntrack stores as the reply tuple before NAT). */
export function reverseTuple(t: FiveTuple): FiveTuple {
  return { proto: t.proto, src: t.dst, sport: t.dport, dst: t.src, dport: t.sport };
}

/**
 * A compact, collision-free string key: protocol number, then addresses and ports in base 36.
 * Cheaper to build than a dotted form and unique because ':' separates every field.
 */
export function tupleKey(t: FiveTuple): string {
  return `${PROTOCOL_NUMBER[t.proto]}:${t.src.toString(36)}:${t.sport.toString(36)}:${t.dst.toString(36)}:${t.dport.toString(36)}`;
}

export function packetKey(p: Packet): string {
  return `${PROTOCOL_NUMBER[p.proto]}:${p.src.toString(36)}:${p.sport.toString(36)}:${p.dst.toString(36)}:${p.dport.toString(36)}`;
}

/** 32-bit FNV-1a-style mix of the five fields (not collision-free: use for bucketing only). */
export function tupleHash(t: FiveTuple): number {
  let h = 0x811c9dc5;
  h = Math.imul(h ^ PROTOCOL_NUMBER[t.proto], 0x01000193);
  h = Math.imul(h ^ t.src, 0x01000193);
  h = Math.imul(h ^ t.dst, 0x01000193);
  h = Math.imul(h ^ ((t.sport << 16) | t.dport), 0x01000193);
  return h >>> 0;
}

export function tupleEquals(a: FiveTuple, b: FiveTuple): boolean {
  return a.proto === b.proto && a.src === b.src && a.dst === b.dst && a.sport === b.sport && a.dport === b.dport;
}

export function formatTuple(t: FiveTuple): string {
  return `${t.proto} ${formatIPv4(t.src)}:${t.sport} > ${formatIPv4(t.dst)}:${t.dport}`;
}
