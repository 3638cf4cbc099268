/**
 * One scan of the gc worker over a range of hash buckets (the loop of gc_worker in
 * nf_conntrack_core.c): reaps expired entries and, under pressure, evicts entries that may be early
 * dropped, and reports the remaining lifetimes from which the worker (gc.ts) plans its next run.
 */
import type { Nanos } from '../engine/time.ts';
import { PROTOCOL_NUMBER } from '../net/protocol.ts';
import { IPS_ASSURED, IPS_CONFIRMED } from './common.ts';
import { collect, reap, remove, scratch } from './hash.ts';
import type { ConntrackStore } from './store.ts';
import {
  TCP_CONNTRACK_CLOSE, TCP_CONNTRACK_CLOSE_WAIT, TCP_CONNTRACK_FIN_WAIT, TCP_CONNTRACK_LAST_ACK, TCP_CONNTRACK_TIME_WAIT,
} from './tcp-state.ts';

/** What one gc scan found (a caller-owned record). */
export class GcScanResult {
  scanned = 0;
  expired = 0;
  evicted = 0;
  /** Sum of the clamped remaining lifetimes of the entries kept, and their number. */
  lifetimeSum = 0;
  live = 0;
  nextBucket = 0;
}

/** GC_SCAN_INTERVAL_MIN and GC_SCAN_INTERVAL_CLAMP in nf_conntrack_core.c. */
const GC_CLAMP_MIN = 1_000_000_000;
const GC_CLAMP_MAX = 300_000_000_000;

const PROTO_TCP = PROTOCOL_NUMBER.tcp;

/**
 * One pass of the gc worker over `[fromBucket, fromBucket + count)` buckets: reaps expired entries and,
 * under pressure (count >= 95% of max after a failed allocation), also evicts entries
 * gc_worker_can_early_drop allows: not assured, or TCP already closing. Fills `result`, including the
 * sum and number of the remaining lifetimes of the entries that stay (each clamped to [1 s, 300 s]),
 * whose average the worker plans its next run from.
 */
export function gcScan(s: ConntrackStore, fromBucket: number, count: number, now: Nanos, result: GcScanResult): void {
  const max95 = s.earlyDropPressure && s.max > 0 ? Math.floor(s.max / 100) * 95 : 0;
  const end = Math.min(s.buckets, fromBucket + count);
  let scanned = 0, expired = 0, evicted = 0, sum = 0, live = 0;
  const bucketOfNode = s.nBucket;
  // Fully grown heads (one per bucket): the chains are the kernel's, walked as they are.
  for (let b = s.shift === 0 ? fromBucket : end; b < end; b++) {
    let n = s.heads[b]!;
    while (n >= 0) {
      // The whole entry may be removed below, taking `next` with it if it is the entry's other node.
      let next = s.nNext[n]!;
      while (next >= 0 && next >> 1 === n >> 1) next = s.nNext[next]!;
      const e = n >> 1;
      // Like the kernel's, the scan meets each entry once per tuple node (twice if it stays).
      scanned++;
      const left = s.eExpires[e]! - now;
      if (left <= 0) {
        reap(s, e, now);
        expired++;
      } else if (max95 > 0 && s.count >= max95 && gcCanEarlyDrop(s, e)) {
        remove(s, e, now);
        s.stats.earlyDrop++;
        evicted++;
      } else {
        sum += Math.min(Math.max(left, GC_CLAMP_MIN), GC_CLAMP_MAX);
        live++;
      }
      n = next;
    }
  }
  // Shared physical chains: the same walk, over each bucket's nodes taken out of its chain.
  const phEnd = s.shift > 0 && end > fromBucket ? ((end - 1) >>> s.shift) + 1 : 0;
  for (let ph = fromBucket >>> s.shift; ph < phEnd; ph++) {
    // The nodes of buckets [fromBucket, end) in this physical chain, bucket by bucket in chain order.
    // The walk removes entries (both nodes) as it goes, so each step looks at the chain as it is then:
    // nodes of entries already removed are passed over.
    const k = collect(s, ph, fromBucket, end);
    const nodes = scratch;
    let i = 0;
    while (i < k) {
      const n = nodes[i]!;
      const e = n >> 1;
      // The next node of the chain; the entry's own other node is stepped over when it comes next
      // (the entry may be removed below, taking it along).
      let j = nextLive(s, nodes, i + 1, k);
      if (j < k && nodes[j]! >> 1 === e && bucketOfNode[nodes[j]!] === bucketOfNode[n]) j = nextLive(s, nodes, j + 1, k);
      // Like the kernel's, the scan meets each entry once per tuple node (twice if it stays).
      scanned++;
      const left = s.eExpires[e]! - now;
      if (left <= 0) {
        reap(s, e, now);
        expired++;
      } else if (max95 > 0 && s.count >= max95 && gcCanEarlyDrop(s, e)) {
        remove(s, e, now);
        s.stats.earlyDrop++;
        evicted++;
      } else {
        sum += Math.min(Math.max(left, GC_CLAMP_MIN), GC_CLAMP_MAX);
        live++;
      }
      // A node of the next bucket may belong to the entry just removed.
      i = nextLive(s, nodes, j, k);
    }
  }
  result.scanned = scanned;
  result.expired = expired;
  result.evicted = evicted;
  result.lifetimeSum = sum;
  result.live = live;
  result.nextBucket = end >= s.buckets ? 0 : end;
}

/** gc_worker_can_early_drop: not assured, or a TCP connection already shutting down (tcp_can_early_drop). */
function gcCanEarlyDrop(s: ConntrackStore, e: number): boolean {
  const st = s.eStatus[e]!;
  if (!(st & IPS_ASSURED)) return true;
  if (s.eProto[e] === PROTO_TCP) {
    const tcp = s.eState[e]!;
    return tcp === TCP_CONNTRACK_FIN_WAIT || tcp === TCP_CONNTRACK_LAST_ACK || tcp === TCP_CONNTRACK_TIME_WAIT ||
      tcp === TCP_CONNTRACK_CLOSE || tcp === TCP_CONNTRACK_CLOSE_WAIT;
  }
  return false;
}

/** First index from `i` whose node's entry is still in the table (not removed by this walk). */
function nextLive(s: ConntrackStore, nodes: Int32Array, i: number, k: number): number {
  while (i < k && !(s.eStatus[nodes[i]! >> 1]! & IPS_CONFIRMED)) i++;
  return i;
}

/** Removes every expired entry now (a full gc pass); returns how many. */
export function expireAll(s: ConntrackStore, now: Nanos): number {
  const r = new GcScanResult();
  gcScan(s, 0, s.buckets, now, r);
  return r.expired;
}
