import { RandomStream } from '../../engine/random.ts';
import { RecentTables } from '../../netfilter/recent.ts';
import type { Match } from '../../netfilter/rule.ts';
import { DynamicSets } from '../../nftables/dynamic-sets.ts';
import type { KeyCode } from '../../nftables/types.ts';

/**
 * What the run has already decided for a first packet, handed to the rule walk so that the walk
 * reaches the same endpoint: the random choice (drawn once, by EndpointChoice, from the run's own
 * stream, so a run walking rules makes the same draws as one using the formula) and the session
 * affinity verdict (the run's SessionAffinity keeps the xt_recent lists and nft sets, bounded and
 * reaped as the kernel does; the walk asks it instead of keeping a second copy).
 */

/**
 * `-m statistic --mode random --probability p` (xt_statistic: (get_random_u32() & 0x7FFFFFFF) <
 * probability) made to resolve to the `chosen`th rule of the chain: the draws of the rules before it
 * fail, its own passes. kube-proxy's last endpoint rule has no statistic match, so choosing it
 * fails every draw. Only the service's endpoint rules carry statistic matches on a ClusterIP path.
 */
export class StatisticChooser extends RandomStream {
  private chosen = 0;
  private calls = 0;

  constructor() {
    super(0, 'walk/statistic-chooser');
  }

  arm(chosen: number): void {
    this.chosen = chosen;
    this.calls = 0;
  }

  override random(): number {
    // 1 - 2^-53 gives 2^31 - 1 after the match's scaling: above every probability kube-proxy writes (at most 0.5).
    return this.calls++ === this.chosen ? 0 : 1 - 2 ** -53;
  }
}

/** `numgen random mod N` (nft_ng_random_eval) made to draw `chosen`. */
export class NumgenChooser {
  private value = 0.5;

  arm(chosen: number, of: number): void {
    this.value = (chosen + 0.5) / Math.max(1, of);
  }

  random(): number {
    return this.value;
  }
}

type RecentMatch = Extract<Match, { kind: 'recent' }>;

/**
 * The xt_recent lists as the run's SessionAffinity has them for this packet: the `--rcheck` of the
 * list named after the endpoint the client is pinned to matches, every other fails; `--set` records
 * nothing here (the run records the choice once the packet gets through conntrack, as the kernel's
 * --set in the endpoint chain would).
 */
export class RecentOracle extends RecentTables {
  private pinned: string | null = null;

  arm(pinnedList: string | null): void {
    this.pinned = pinnedList;
  }

  override evaluate(m: RecentMatch, _address: number, _nowNs: number): boolean {
    if (m.command === 'set') return !m.neg;
    return (m.name === this.pinned) !== m.neg;
  }
}

/**
 * The nft affinity sets (`ip saddr @affinity-X`, elements with a timeout, nft_dynset) as the run's
 * SessionAffinity has them for this packet: only the pinned endpoint's set holds the client;
 * `update` records nothing here (see RecentOracle).
 */
export class AffinitySetOracle extends DynamicSets {
  private pinned: string | null = null;

  arm(pinnedSet: string | null): void {
    this.pinned = pinnedSet;
  }

  override has(_tableKey: string, set: string, _key: KeyCode, _nowNs: number): boolean {
    return set === this.pinned;
  }

  override update(): void {}
}
