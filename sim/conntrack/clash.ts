/**
 * The conntrack insertion race of UDP: two packets of one socket (same 5-tuple) each reach
 * nf_conntrack_in before the other's entry is confirmed, so each gets its own unconfirmed entry and
 * its own NAT, and the second to reach __nf_conntrack_confirm finds the first's original tuple
 * already in the table (torvalds/linux net/netfilter/nf_conntrack_core.c: __nf_conntrack_confirm ->
 * nf_ct_resolve_clash). What the kernel then does with the second packet is ClashRules
 * (kernel-version.ts); this module is the decision for one pair, as a pure function, and the
 * counters it moves. The table applies it to real entries in clash-table.ts; when the two packets
 * overlap is clash-timing.ts.
 *
 * Sources: the cover letter "[PATCH nf 0/4] netfilter: conntrack: allow insertion of clashing
 * entries" (Westphal, netfilter-devel 2020-02-03); the Ubuntu SRU "Fix nf_conntrack races when
 * dealing with same origin requests in NAT environments" (kernel-team, 2019-07-17), which lists
 * the two races: both entries unconfirmed (identical tuples), and the first confirmed before the
 * second's get_unique_tuple, which then moves the second's source port (its reply tuple differs).
 */
import type { ClashRules } from './kernel-version.ts';

/**
 * How the packets of a new UDP flow get their destination on this path, as far as conntrack sees it:
 * - 'rule-per-packet': netfilter NAT rules run for every packet without a confirmed entry, so each
 *   racing packet draws its own DNAT target (iptables `-m statistic --mode random`, nft
 *   `numgen random mod N vmap`);
 * - 'ipvs': IPVS schedules at LOCAL_IN and writes the real server into the unconfirmed entry's reply
 *   tuple (nf_conntrack_alter_reply via ip_vs_update_conntrack); a packet that finds an earlier
 *   packet's ip_vs_conn uses its real server;
 * - 'redirect': one fixed target (REDIRECT to a local proxy port, the userspace proxy's portal);
 * - 'untracked': no conntrack entry on the path (socket-level translation, NOTRACK): no race.
 */
export type NatChoiceKind = 'rule-per-packet' | 'ipvs' | 'redirect' | 'untracked';

/**
 * When the second packet ran against the first (clash-timing.ts draws it):
 * - 'apart': not a race. Same CPU (processed in order), or the second's lookup came after the
 *   first's confirm and found its entry;
 * - 'overlap': both entries unconfirmed until after the second's source-NAT binding, so two entries
 *   with the same original tuple meet at confirm;
 * - 'overlap-first-confirmed': the first was confirmed after the second's lookup but before the
 *   second's source-NAT step (get_unique_tuple at POSTROUTING or LOCAL_IN, the null binding included).
 */
export type RaceTiming = 'apart' | 'overlap' | 'overlap-first-confirmed';

export type RaceOutcome = 'no race' | 'resolved (adopts winner)' | 'clash entry inserted' | 'dropped';

/** Increments of the `conntrack -S` counters on the CPU that confirmed the second packet. */
export interface ClashCounters {
  insertFailed: number;
  drop: number;
  clashResolve: number;
}

export interface RaceInput {
  rules: ClashRules;
  nat: NatChoiceKind;
  /** Each packet's DNAT target as the caller drew it (any stable key, e.g. "10.244.1.7:53"). */
  firstTarget: string;
  secondTarget: string;
  timing: RaceTiming;
  /**
   * The winner carries a NAT binding (IPS_NAT_DONE_MASK). True on every node whose nat table or nft
   * nat chains are loaded, as on every kube-proxy node: the NAT hooks give each entry a null binding
   * when no rule translates it ("netfilter: core: only allow one nat hook per hook point", Westphal
   * 2017-12-08: "Null bindings are needed to detect port collisions"). Default true.
   */
  natBinding?: boolean;
}

export interface RaceResult {
  outcome: RaceOutcome;
  counters: ClashCounters;
  /** For 'clash entry inserted': how long it stays and whether the first reply deletes it. */
  clashEntry?: ClashEntryLife;
}

export interface ClashEntryLife {
  /** nf_ct_resolve_clash_harder: `nfct_time_stamp + HZ`, with IPS_FIXED_TIMEOUT. */
  lifetimeNs: number;
  /** 5.6 to 5.8: IPS_NAT_CLASH entries were deleted on their first reply (until c46172147ebb). */
  deletedOnReply: boolean;
}

export const CLASH_ENTRY_LIFETIME_NS = 1_000_000_000;

const NONE: ClashCounters = Object.freeze({ insertFailed: 0, drop: 0, clashResolve: 0 }) as ClashCounters;

/** The outcome for the second packet of a pair, and the counters it moves. */
export function raceOutcome(input: RaceInput): RaceResult {
  if (input.nat === 'untracked' || input.timing === 'apart') return { outcome: 'no race', counters: { ...NONE } };
  const sameTarget = input.nat === 'redirect' || input.firstTarget === input.secondTarget;
  return resolveClash(input.rules, sameTarget, input.timing, input.natBinding ?? true);
}

/**
 * nf_ct_resolve_clash for a loser whose original tuple equals the winner's. `sameTarget`: both got
 * the same DNAT target, so their reply tuples are equal unless NAT moved the loser's source port.
 */
export function resolveClash(rules: ClashRules, sameTarget: boolean, timing: RaceTiming, natBinding: boolean): RaceResult {
  // Without 4e35c1cb9460, the loser's source-NAT step sees the confirmed winner's reply tuple as
  // taken and picks another port (nf_nat_used_tuple -> nf_conntrack_tuple_taken).
  const portMoved = natBinding && sameTarget && timing === 'overlap-first-confirmed' && !rules.sameOriginKeepsPort;
  const identical = sameTarget && !portMoved;
  let outcome: RaceOutcome;
  if (!rules.allowClash) outcome = 'dropped';
  else if (!natBinding || (identical && rules.mergeIdentical)) outcome = 'resolved (adopts winner)';
  // The loser's reply tuple differs from the winner's (another target, or a moved port), so it is
  // unique and the loser goes in reply-only.
  else if (rules.clashEntries !== 'none') outcome = 'clash entry inserted';
  else outcome = 'dropped';
  const result: RaceResult = { outcome, counters: clashCounters(rules, outcome) };
  if (outcome === 'clash entry inserted') {
    result.clashEntry = { lifetimeNs: CLASH_ENTRY_LIFETIME_NS, deletedOnReply: rules.clashEntries === 'until-reply' };
  }
  return result;
}

/** The counters one clash moves, by the kernel's counting (see ClashCounting). */
export function clashCounters(rules: ClashRules, outcome: RaceOutcome): ClashCounters {
  if (outcome === 'no race') return { ...NONE };
  const dropped = outcome === 'dropped' ? 1 : 0;
  switch (rules.counting) {
    case 'insert-failed-all':
      return { insertFailed: 1, drop: dropped, clashResolve: 0 };
    case 'insert-failed-merge':
      return { insertFailed: outcome === 'clash entry inserted' ? 0 : 1, drop: dropped, clashResolve: 0 };
    case 'clash-resolve':
      return { insertFailed: dropped, drop: dropped, clashResolve: 1 - dropped };
  }
}
