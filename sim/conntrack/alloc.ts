/**
 * Allocation of a new entry under the table limit (__nf_conntrack_alloc in nf_conntrack_core.c). The
 * limit nf_conntrack_max is checked here: when the table is full, early_drop scans NF_CT_EVICTION_RANGE
 * buckets from the new tuple's bucket and deletes the non-assured entries of the first bucket that has
 * any; if none, the packet is dropped ("nf_conntrack: table full, dropping packet").
 */
import type { Nanos } from '../engine/time.ts';
import { IPS_ASSURED, IPS_CONFIRMED } from './common.ts';
import { bucketOf, collect, reap, remove, scratch, tupleHash } from './hash.ts';
import { takeSlot, type ConntrackStore } from './store.ts';
import { TCP_CONNTRACK_NONE } from './tcp-state.ts';

/** NF_CT_EVICTION_RANGE in nf_conntrack_core.c. */
export const NF_CT_EVICTION_RANGE = 8;

/** __nf_conntrack_alloc with the table-full check; returns the new unconfirmed entry or -1. */
export function alloc(s: ConntrackStore, proto: number, src: number, sport: number, dst: number, dport: number, now: Nanos): number {
  s.count++;
  if (s.max > 0 && s.count > s.max) {
    if (!earlyDrop(s, tupleHash(s.seed, proto, src, sport, dst, dport), now)) {
      s.earlyDropPressure = true;
      s.count--;
      return -1;
    }
  }
  const e = takeSlot(s);
  const o = e * 2;
  const r = o + 1;
  const ports = ((sport << 16) | dport) >>> 0;
  s.nSrc[o] = src; s.nDst[o] = dst; s.nPorts[o] = ports; s.nNext[o] = -1;
  s.nSrc[r] = dst; s.nDst[r] = src; s.nPorts[r] = ((dport << 16) | sport) >>> 0; s.nNext[r] = -1;
  s.eProto[e] = proto;
  s.eState[e] = TCP_CONNTRACK_NONE;
  s.eTcpx[e] = 0;
  s.eStatus[e] = 0;
  s.eMark[e] = 0;
  s.eExpires[e] = Infinity;
  s.eStreamTs[e] = 0;
  s.occupancy.set(now, s.count);
  return e;
}

/** early_drop: see the file comment. Returns true when at least one entry was evicted. */
function earlyDrop(s: ConntrackStore, hash: number, now: Nanos): boolean {
  let b = bucketOf(s, hash);
  for (let i = 0; i < NF_CT_EVICTION_RANGE; i++) {
    if (i > 0) b = (b + 1) % s.buckets;
    // Collect the chain first: deleting an entry unlinks both of its nodes.
    const k = collect(s, b >>> s.shift, b, b + 1);
    const nodes = scratch;
    let drops = 0;
    for (let j = 0; j < k; j++) {
      const e = nodes[j]! >> 1;
      const st = s.eStatus[e]!;
      if (!(st & IPS_CONFIRMED)) continue; // already removed earlier in this chain
      if (s.eExpires[e]! <= now) {
        reap(s, e, now);
        continue;
      }
      if (st & IPS_ASSURED) continue;
      remove(s, e, now);
      drops++;
    }
    if (drops > 0) {
      s.stats.earlyDrop += drops;
      return true;
    }
  }
  return false;
}
