/**
 * __nf_conntrack_confirm with a kernel's clash handling, on the table's own entries: the loser of an
 * insertion race (an unconfirmed entry whose original tuple a confirmed entry already holds) is
 * merged into the winner, inserted as a clash entry, or dropped, as clash.ts decides for the
 * tuples the two entries really have (torvalds/linux net/netfilter/nf_conntrack_core.c
 * nf_ct_resolve_clash, __nf_ct_resolve_clash, nf_ct_resolve_clash_harder).
 *
 * A clash entry is linked in the reply direction only: the original tuple stays the winner's, so the
 * loser is invisible to lookups of the original direction and to `conntrack -L` (the kernel's
 * hlist_nulls_add_fake; here dumpEntries lists original-direction nodes only). It lets the replies
 * of the loser's target be un-NATed for 1 s, takes a slot of nf_conntrack_max meanwhile, and is never
 * ASSURED, so early_drop may take it.
 */
import type { Nanos } from '../engine/time.ts';
import { resolveClash, type RaceResult } from './clash.ts';
import { IPS_CONFIRMED, IPS_DST_NAT_DONE, IPS_FIXED_TIMEOUT, IPS_NAT_CLASH, IPS_SRC_NAT_DONE } from './common.ts';
import { confirm, findNode } from './core.ts';
import { growHeadsIfFull, link } from './hash.ts';
import type { ClashRules } from './kernel-version.ts';
import { release, type ConntrackStore } from './store.ts';

export interface RacingConfirm {
  /** 'no race' when the entry was inserted normally (or was already confirmed). */
  result: RaceResult;
  /**
   * The entry the packet now carries: the loser itself (inserted or clash entry), the winner
   * (merged), or -1 (dropped: the loser is freed).
   */
  entry: number;
}

const NO_RACE: RaceResult = Object.freeze({ outcome: 'no race', counters: { insertFailed: 0, drop: 0, clashResolve: 0 } }) as RaceResult;

export function confirmRacing(s: ConntrackStore, e: number, now: Nanos, rules: ClashRules): RacingConfirm {
  const o = e * 2;
  const winnerNode = s.eStatus[e]! & IPS_CONFIRMED ? -1 : nodeOf(s, o, now);
  if (winnerNode < 0) {
    // No entry holds the original tuple: an ordinary confirm (a clash of the reply tuple alone is an
    // unrelated flow's, which nf_ct_resolve_clash cannot fix either: it drops).
    return confirm(s, e, now) ? { result: NO_RACE, entry: e } : { result: dropResult(), entry: -1 };
  }
  const w = winnerNode >> 1;
  const sameReply = sameTuple(s, w * 2 + 1, o + 1);
  const natBinding = (s.eStatus[w]! & (IPS_SRC_NAT_DONE | IPS_DST_NAT_DONE)) !== 0;
  const result = resolveClash(rules, sameReply, 'overlap', natBinding);
  if (result.outcome === 'clash entry inserted' && nodeOf(s, o + 1, now) >= 0) {
    // nf_ct_resolve_clash_harder needs a unique reply tuple; another entry holds it.
    return drop(s, e, now, dropResult());
  }
  count(s, result);
  if (result.outcome === 'resolved (adopts winner)') {
    release(s, e, now);
    return { result, entry: w };
  }
  if (result.outcome === 'dropped') {
    release(s, e, now);
    return { result, entry: -1 };
  }
  link(s, o + 1);
  growHeadsIfFull(s);
  s.eStatus[e] = s.eStatus[e]! | IPS_CONFIRMED | IPS_FIXED_TIMEOUT | IPS_NAT_CLASH;
  s.eExpires[e] = now + result.clashEntry!.lifetimeNs;
  return { result, entry: e };
}

/** Adds a race's counters to the table's `conntrack -S` counters. */
export function count(s: ConntrackStore, result: RaceResult): void {
  s.stats.insertFailed += result.counters.insertFailed;
  s.stats.drop += result.counters.drop;
  s.stats.clashResolve += result.counters.clashResolve;
}

function drop(s: ConntrackStore, e: number, now: Nanos, result: RaceResult): RacingConfirm {
  count(s, result);
  release(s, e, now);
  return { result, entry: -1 };
}

/** A drop moves drop and insert_failed under every kernel's counting (clash.ts clashCounters). */
function dropResult(): RaceResult {
  return { outcome: 'dropped', counters: { insertFailed: 1, drop: 1, clashResolve: 0 } };
}

function nodeOf(s: ConntrackStore, n: number, now: Nanos): number {
  return findNode(s, s.eProto[n >> 1]!, s.nSrc[n]!, s.nPorts[n]! >>> 16, s.nDst[n]!, s.nPorts[n]! & 0xffff, now);
}

function sameTuple(s: ConntrackStore, a: number, b: number): boolean {
  return s.nSrc[a] === s.nSrc[b] && s.nDst[a] === s.nDst[b] && s.nPorts[a] === s.nPorts[b];
}
