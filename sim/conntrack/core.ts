/**
 * The per-packet core of connection tracking (torvalds/linux net/netfilter/nf_conntrack_core.c):
 * lookup, tracking and confirmation.
 *
 * - Every entry (struct nf_conn) has two tuple nodes, ORIGINAL and REPLY, each in the hash chain of its
 *   own tuple (hash.ts), so a packet in either direction finds its entry with one lookup
 *   (____nf_conntrack_find).
 * - A new entry is allocated unconfirmed when the first packet is seen (init_conntrack, alloc.ts), travels
 *   with that packet through the hooks (NAT rewrites its reply tuple, nat.ts), and is inserted at the last
 *   hook (__nf_conntrack_confirm). A clash at confirm drops the packet (insert_failed).
 * - There is no timer per entry (the kernel has none since 4.7, "netfilter: conntrack: get rid of conntrack
 *   timer"): each entry carries its absolute expiry time; an expired entry met by a lookup or by early_drop
 *   is reaped on the spot (nf_ct_gc_expired), and the rest by the gc worker (gc-scan.ts, gc.ts).
 */
import type { Packet } from '../net/packet.ts';
import { PROTOCOL_NUMBER } from '../net/protocol.ts';
import type { Nanos } from '../engine/time.ts';
import { alloc } from './alloc.ts';
import {
  CT_INVALID, DROP_TABLE_FULL, IP_CT_DIR_ORIGINAL, IP_CT_DIR_REPLY, IP_CT_ESTABLISHED, IP_CT_ESTABLISHED_REPLY,
  IP_CT_NEW, IPS_CONFIRMED, IPS_SEEN_REPLY, type CtLookup,
} from './common.ts';
import { bucketOf, growHeadsIfFull, link, reap, remove, tupleHash } from './hash.ts';
import { PKT_INVALID, PKT_KILLED, PKT_REPEAT, protoPacket } from './proto.ts';
import { release, type ConntrackStore } from './store.ts';

/**
 * The tuple node (entry * 2 + dir) whose tuple equals the given one, or -1. Expired entries met in the
 * chain are reaped, as ____nf_conntrack_find does.
 */
export function findNode(s: ConntrackStore, proto: number, src: number, sport: number, dst: number, dport: number, now: Nanos): number {
  const b = bucketOf(s, tupleHash(s.seed, proto, src, sport, dst, dport));
  const ports = ((sport << 16) | dport) >>> 0;
  let n = s.heads[b >>> s.shift]!;
  while (n >= 0) {
    let next = s.nNext[n]!;
    // Only bucket b's nodes are met, as in the kernel's chain (a physical chain holds others too
    // until the heads are fully grown).
    if (s.shift === 0 || s.nBucket[n] === b) {
      const e = n >> 1;
      if (s.eExpires[e]! <= now) {
        // Reaping unlinks both nodes of the entry; step over the other one if it comes next.
        while (next >= 0 && next >> 1 === e) next = s.nNext[next]!;
        reap(s, e, now);
      } else if (s.nSrc[n] === src && s.nDst[n] === dst && s.nPorts[n] === ports && s.eProto[e] === proto) {
        return n;
      }
    }
    n = next;
  }
  return -1;
}

/** True if a confirmed, unexpired entry holds this tuple in either direction (nf_conntrack_tuple_taken). */
export function tupleTaken(s: ConntrackStore, proto: number, src: number, sport: number, dst: number, dport: number, now: Nanos, ignore = -1): boolean {
  const n = findNode(s, proto, src, sport, dst, dport, now);
  return n >= 0 && n >> 1 !== ignore;
}

/**
 * nf_conntrack_in for one packet: finds or creates the entry, runs the protocol tracker (TCP states,
 * UDP replied/assured, timeouts), and fills `out`. Returns false when conntrack drops the packet
 * (table full); an invalid packet is accepted with `out.ctinfo = CT_INVALID` and no entry, as in the kernel.
 */
export function track(s: ConntrackStore, p: Packet, now: Nanos, out: CtLookup): boolean {
  out.dropReason = null;
  const proto = PROTOCOL_NUMBER[p.proto];
  for (let attempt = 0; attempt < 2; attempt++) {
    const n = findNode(s, proto, p.src, p.sport, p.dst, p.dport, now);
    let e: number;
    let dir: number;
    if (n >= 0) {
      s.stats.found++;
      e = n >> 1;
      dir = n & 1;
    } else {
      e = alloc(s, proto, p.src, p.sport, p.dst, p.dport, now);
      if (e < 0) {
        s.stats.drop++;
        out.entry = -1;
        out.ctinfo = CT_INVALID;
        out.dropReason = DROP_TABLE_FULL;
        return false;
      }
      dir = IP_CT_DIR_ORIGINAL;
    }
    const status = s.eStatus[e]!;
    const ctinfo = dir === IP_CT_DIR_REPLY ? IP_CT_ESTABLISHED_REPLY : status & IPS_SEEN_REPLY ? IP_CT_ESTABLISHED : IP_CT_NEW;
    const r = protoPacket(s, e, dir, proto, p.tcpFlags, now);
    if (r === PKT_REPEAT) {
      // The TCP tracker saw a SYN reopening a closed connection: kill the old entry, look up again.
      remove(s, e, now);
      s.stats.deleted++;
      continue;
    }
    if (r === PKT_INVALID) {
      if (!(status & IPS_CONFIRMED)) release(s, e, now);
      s.stats.invalid++;
      out.entry = -1;
      out.ctinfo = CT_INVALID;
      return true;
    }
    if (r === PKT_KILLED) {
      // An unreplied connection answered by RST is deleted at once (the packet still passes).
      if (s.eStatus[e]! & IPS_CONFIRMED) remove(s, e, now);
      else release(s, e, now);
      s.stats.deleted++;
      out.entry = -1;
      out.dir = dir;
      out.ctinfo = ctinfo;
      return true;
    }
    if (ctinfo === IP_CT_ESTABLISHED_REPLY) s.eStatus[e] = s.eStatus[e]! | IPS_SEEN_REPLY;
    out.entry = e;
    out.dir = dir;
    out.ctinfo = ctinfo;
    return true;
  }
  // A second reopen in a row cannot happen (the fresh entry starts from NONE); kept total for safety.
  out.entry = -1;
  out.ctinfo = CT_INVALID;
  return true;
}

/**
 * __nf_conntrack_confirm: inserts an unconfirmed entry into the hash table at the packet's last hook.
 * Returns false (and frees the entry) when either tuple is already present: the packet is dropped.
 */
export function confirm(s: ConntrackStore, e: number, now: Nanos): boolean {
  const status = s.eStatus[e]!;
  if (status & IPS_CONFIRMED) return true;
  const proto = s.eProto[e]!;
  const o = e * 2;
  const r = o + 1;
  if (
    findNode(s, proto, s.nSrc[o]!, s.nPorts[o]! >>> 16, s.nDst[o]!, s.nPorts[o]! & 0xffff, now) >= 0 ||
    findNode(s, proto, s.nSrc[r]!, s.nPorts[r]! >>> 16, s.nDst[r]!, s.nPorts[r]! & 0xffff, now) >= 0
  ) {
    s.stats.insertFailed++;
    s.stats.drop++;
    release(s, e, now);
    return false;
  }
  link(s, o);
  link(s, r);
  growHeadsIfFull(s);
  s.eStatus[e] = status | IPS_CONFIRMED;
  s.stats.insert++;
  return true;
}

/** The packet carrying an unconfirmed entry was dropped before confirm: free the entry (nf_conntrack_free). */
export function abandon(s: ConntrackStore, e: number, now: Nanos): void {
  if (!(s.eStatus[e]! & IPS_CONFIRMED)) release(s, e, now);
}
