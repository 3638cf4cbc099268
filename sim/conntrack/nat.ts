/**
 * NAT bindings of an entry (net/netfilter/nf_nat_core.c): a new connection's DNAT or SNAT is recorded
 * by rewriting its reply tuple (nf_nat_setup_info), SNAT searching for a free source port as
 * get_unique_tuple does, and later packets of the connection are translated from the entry's tuples
 * (nf_nat_packet).
 */
import type { Packet } from '../net/packet.ts';
import { PROTOCOL_NUMBER } from '../net/protocol.ts';
import type { RandomStream } from '../engine/random.ts';
import type { Nanos } from '../engine/time.ts';
import { IPS_DST_NAT, IPS_DST_NAT_DONE, IPS_SRC_NAT, IPS_SRC_NAT_DONE } from './common.ts';
import { tupleTaken } from './core.ts';
import { tupleHash } from './hash.ts';
import type { ConntrackStore } from './store.ts';

/** NF_NAT_MAX_ATTEMPTS in net/netfilter/nf_nat_core.c. */
const NF_NAT_MAX_ATTEMPTS = 128;

const PROTO_TCP = PROTOCOL_NUMBER.tcp;
const PROTO_UDP = PROTOCOL_NUMBER.udp;
const PROTO_SCTP = PROTOCOL_NUMBER.sctp;

/**
 * DNAT of a new connection (nf_nat_setup_info, manip DST): the reply tuple's source becomes the new
 * destination, so replies come from the backend and are matched back to this entry.
 */
export function setDnat(s: ConntrackStore, e: number, ip: number, port: number): void {
  const r = e * 2 + 1;
  s.nSrc[r] = ip >>> 0;
  s.nPorts[r] = (((port & 0xffff) << 16) | (s.nPorts[r]! & 0xffff)) >>> 0;
  s.eStatus[e] = s.eStatus[e]! | IPS_DST_NAT | IPS_DST_NAT_DONE;
}

/**
 * SNAT / MASQUERADE of a new connection (nf_nat_setup_info, manip SRC): the reply tuple's destination
 * becomes `ip`, keeping the source port if the resulting reply tuple is free (get_unique_tuple), else
 * searching the port range from a random offset as nf_nat_l4proto_unique_tuple does (up to 128 tries,
 * then halving). `randomFully` (--random-fully) always starts from a random port. Returns false when no
 * port is free: the kernel drops the packet.
 */
export function setSnat(
  s: ConntrackStore, e: number, ip: number, now: Nanos, rng?: RandomStream, randomFully = false, minPort = 0, maxPort = 0,
): boolean {
  const r = e * 2 + 1;
  const proto = s.eProto[e]!;
  const rSrc = s.nSrc[r]!;
  const rSport = s.nPorts[r]! >>> 16;
  const origSport = s.nPorts[r]! & 0xffff;
  ip >>>= 0;
  const hasPorts = proto === PROTO_TCP || proto === PROTO_UDP || proto === PROTO_SCTP;
  let lo = minPort, hi = maxPort;
  if (lo === 0 && hi === 0) {
    // No --to-ports: stay in the privilege class of the original port (nf_nat_l4proto_unique_tuple).
    if (origSport < 512) { lo = 1; hi = 511; } else if (origSport < 1024) { lo = 600; hi = 1023; } else { lo = 1024; hi = 65535; }
  }
  const inRange = origSport >= lo && origSport <= hi;
  if (!hasPorts || (!randomFully && inRange && !tupleTaken(s, proto, rSrc, rSport, ip, origSport, now, e))) {
    setReplyDst(s, e, ip, origSport);
    return true;
  }
  const size = hi - lo + 1;
  let attempts = Math.min(size, NF_NAT_MAX_ATTEMPTS);
  let off = rng ? rng.integer(0, 65535) : tupleHash(s.seed, proto, rSrc, rSport, ip, origSport) & 0xffff;
  for (;;) {
    for (let i = 0; i < attempts; i++, off++) {
      const port = lo + (off % size);
      if (!tupleTaken(s, proto, rSrc, rSport, ip, port, now, e)) {
        setReplyDst(s, e, ip, port);
        return true;
      }
    }
    if (attempts >= size || attempts < 16) return false;
    attempts = attempts >> 1;
    off = rng ? rng.integer(0, 65535) : off * 2654435761;
  }
}

function setReplyDst(s: ConntrackStore, e: number, ip: number, port: number): void {
  const r = e * 2 + 1;
  s.nDst[r] = ip;
  s.nPorts[r] = ((s.nPorts[r]! & 0xffff0000) | (port & 0xffff)) >>> 0;
  s.eStatus[e] = s.eStatus[e]! | IPS_SRC_NAT | IPS_SRC_NAT_DONE;
}

/**
 * nf_nat_packet for a packet of a known connection at a DST-manip hook (PREROUTING, OUTPUT): the
 * destination becomes what the other direction's tuple says it must be. Original direction: the DNAT
 * target; reply direction: the original source (un-SNAT). A no-op when the entry has no such NAT.
 */
export function natDst(s: ConntrackStore, e: number, dir: number, p: Packet): boolean {
  const other = e * 2 + (dir ^ 1);
  const ip = s.nSrc[other]!;
  const port = s.nPorts[other]! >>> 16;
  if (p.dst === ip && p.dport === port) return false;
  p.dst = ip;
  p.dport = port;
  return true;
}

/** nf_nat_packet at a SRC-manip hook (POSTROUTING, INPUT): SNAT in the original direction, un-DNAT in reply. */
export function natSrc(s: ConntrackStore, e: number, dir: number, p: Packet): boolean {
  const other = e * 2 + (dir ^ 1);
  const ip = s.nDst[other]!;
  const port = s.nPorts[other]! & 0xffff;
  if (p.src === ip && p.sport === port) return false;
  p.src = ip;
  p.sport = port;
  return true;
}
