import type { KernelRelease } from './dns-config.ts';

/**
 * What conntrack does with the second of two datagrams of one UDP socket that reached
 * __nf_conntrack_confirm together, each with its own unconfirmed entry and its own DNAT choice
 * (docs/research/dns-notes-checked.md C1-C7; torvalds/linux net/netfilter/nf_conntrack_core.c
 * __nf_conntrack_confirm, nf_ct_resolve_clash, nf_ct_resolve_clash_harder):
 * - 4.14 (before the 2020 stable backport): no resolution for NAT'd entries (590b52e10d41): dropped.
 * - 4.19, 5.4: identical tuples (both picked the same endpoint) are merged (ed07d9a021df); different
 *   DNAT targets are dropped.
 * - 5.10, 6.1: different targets too: the loser is inserted reply-only as a 1 s clash entry
 *   (6a757c07e51f, 5.6; kept its full second since c46172147ebb, 5.9), so the packet passes.
 * Counters as `conntrack -S` prints them: before bc92470413f3 (5.10) insert_failed counted every clash,
 * resolved or not; from 5.10 resolved clashes count in clash_resolve and insert_failed only the
 * unresolved ones. drop counts the packets conntrack dropped.
 */
export interface ClashOutcome {
  passes: boolean;
  insertFailed: number;
  drop: number;
  clashResolve: number;
}

const ORDER: readonly KernelRelease[] = ['4.14', '4.19', '5.4', '5.10', '6.1'];
const atLeast = (k: KernelRelease, v: KernelRelease) => ORDER.indexOf(k) >= ORDER.indexOf(v);

export function clashOutcome(kernel: KernelRelease, sameTarget: boolean): ClashOutcome {
  const resolved = sameTarget ? atLeast(kernel, '4.19') : atLeast(kernel, '5.10');
  const newCounters = atLeast(kernel, '5.10');
  if (!resolved) return { passes: false, insertFailed: 1, drop: 1, clashResolve: 0 };
  return newCounters ? { passes: true, insertFailed: 0, drop: 0, clashResolve: 1 } : { passes: true, insertFailed: 1, drop: 0, clashResolve: 0 };
}

/**
 * The chance that the two datagrams of one sendmmsg reach confirmation on two CPUs at once. The
 * sending thread's CPU handles the first; the second races it only when the veth's backlog or RPS
 * hands it to another CPU while the first is still between nf_conntrack_in and confirm (the rule
 * walk). Assumption, not measured: the Weave and XING reports put 5 s lookups at a fraction of a
 * percent to a few percent of lookups under load; 2% per pair lands there with 2 replicas.
 */
export const SAME_SOCKET_RACE_PROBABILITY = 0.02;
