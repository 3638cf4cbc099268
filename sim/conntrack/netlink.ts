/**
 * What ctnetlink (net/netfilter/nf_conntrack_netlink.c) offers user space: copies of entries, the dump
 * order of `conntrack -L`, a get by tuple, and `conntrack -D` deletion by filter, which kube-proxy's
 * stale-endpoint cleanup uses.
 */
import { PROTOCOL_NUMBER, protocolFromNumber, type Protocol } from '../net/protocol.ts';
import type { FiveTuple } from '../net/tuple.ts';
import type { Nanos } from '../engine/time.ts';
import { IPS_CONFIRMED } from './common.ts';
import { findNode } from './core.ts';
import { remove, sortByBucket } from './hash.ts';
import type { ConntrackStore } from './store.ts';
import { TCP_STATE_NAMES } from './tcp-state.ts';

/** A copy of one entry for listings, filters and tests (not used on the packet path). */
export interface ConntrackEntry {
  id: number;
  proto: Protocol;
  /** TCP state name (SYN_SENT...), '' for other protocols. */
  state: string;
  status: number;
  /** Absolute expiry time in ns. */
  expires: Nanos;
  mark: number;
  original: FiveTuple;
  reply: FiveTuple;
}

/** Selects entries as `conntrack -D` flags do (-p, --orig-src, --orig-dst, --dport, --reply-src...). */
export interface ConntrackFilter {
  proto?: Protocol;
  origSrc?: number;
  origDst?: number;
  origSport?: number;
  origDport?: number;
  replySrc?: number;
  replyDst?: number;
  replySport?: number;
  replyDport?: number;
}

/** A copy of entry `e` (listing, filters, tests). */
export function entryCopy(s: ConntrackStore, e: number): ConntrackEntry {
  const proto = protocolFromNumber(s.eProto[e]!)!;
  const o = e * 2;
  const r = o + 1;
  return {
    id: e,
    proto,
    state: proto === 'tcp' ? TCP_STATE_NAMES[s.eState[e]!]! : '',
    status: s.eStatus[e]!,
    expires: s.eExpires[e]!,
    mark: s.eMark[e]!,
    original: { proto, src: s.nSrc[o]!, sport: s.nPorts[o]! >>> 16, dst: s.nDst[o]!, dport: s.nPorts[o]! & 0xffff },
    reply: { proto, src: s.nSrc[r]!, sport: s.nPorts[r]! >>> 16, dst: s.nDst[r]!, dport: s.nPorts[r]! & 0xffff },
  };
}

/** The entry holding `tuple` in either direction, or undefined. */
export function getEntry(s: ConntrackStore, tuple: FiveTuple, now: Nanos): ConntrackEntry | undefined {
  const n = findNode(s, PROTOCOL_NUMBER[tuple.proto], tuple.src, tuple.sport, tuple.dst, tuple.dport, now);
  return n < 0 ? undefined : entryCopy(s, n >> 1);
}

/**
 * Confirmed entries in the order a netlink dump walks them (`conntrack -L`): bucket by bucket, each
 * chain from its head, ORIGINAL-direction nodes only. Expired entries not yet reaped are skipped.
 */
export function* dumpEntries(s: ConntrackStore, now: Nanos): IterableIterator<number> {
  const nodes: number[] = [];
  for (let ph = 0; ph < s.heads.length; ph++) {
    nodes.length = 0;
    for (let n = s.heads[ph]!; n >= 0; n = s.nNext[n]!) if ((n & 1) === 0) nodes.push(n);
    if (s.shift > 0) sortByBucket(nodes, s.nBucket);
    for (const n of nodes) {
      const e = n >> 1;
      if (s.eStatus[e]! & IPS_CONFIRMED && s.eExpires[e]! > now) yield e;
    }
  }
}

/** Deletes every confirmed entry for which `pred` is true (like `conntrack -D` with filters); returns how many. */
export function deleteWhere(s: ConntrackStore, pred: (entry: ConntrackEntry) => boolean, now: Nanos): number {
  const doomed: number[] = [];
  for (const e of dumpEntries(s, now)) if (pred(entryCopy(s, e))) doomed.push(e);
  for (const e of doomed) remove(s, e, now);
  s.stats.deleted += doomed.length;
  return doomed.length;
}

export function matchesFilter(c: ConntrackEntry, f: ConntrackFilter): boolean {
  return (
    (f.proto === undefined || c.proto === f.proto) &&
    (f.origSrc === undefined || c.original.src === f.origSrc) &&
    (f.origDst === undefined || c.original.dst === f.origDst) &&
    (f.origSport === undefined || c.original.sport === f.origSport) &&
    (f.origDport === undefined || c.original.dport === f.origDport) &&
    (f.replySrc === undefined || c.reply.src === f.replySrc) &&
    (f.replyDst === undefined || c.reply.dst === f.replyDst) &&
    (f.replySport === undefined || c.reply.sport === f.replySport) &&
    (f.replyDport === undefined || c.reply.dport === f.replyDport)
  );
}
