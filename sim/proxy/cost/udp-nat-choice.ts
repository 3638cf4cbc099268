/**
 * How each proxy mode picks the destination of a UDP packet that has no confirmed conntrack entry
 * yet, which decides whether two racing packets of one socket (sim/conntrack/clash.ts) end up with
 * the same target. The caller draws the targets from its own streams; this says how.
 */
import { raceOutcome, type NatChoiceKind, type RaceResult } from '../../conntrack/clash.ts';
import { natToConfirmNs, raceTiming, raceWindowNs } from '../../conntrack/clash-timing.ts';
import type { ClashRules } from '../../conntrack/kernel-version.ts';
import type { CostModel } from '../../cost/cost-model.ts';
import type { SchedulerName } from '../../ipvs/types.ts';
import type { ProxyMode } from '../mode.ts';

export interface UdpNatChoice {
  readonly mode: ProxyMode;
  readonly kind: NatChoiceKind;
}

/**
 * - iptables: nat PREROUTING/OUTPUT runs KUBE-SVC-* for each packet without an entry, whose
 *   `-m statistic --mode random --probability` rules draw per packet (kubernetes
 *   pkg/proxy/iptables/proxier.go writeServiceToEndpointRules; the kernel's xt_statistic draws
 *   get_random_u32 per evaluation).
 * - nftables: `numgen random mod N vmap` in the service chain, evaluated per packet (kubernetes
 *   pkg/proxy/nftables/proxier.go; the kernel selftest conntrack_clash.sh DNATs through the same
 *   construct to make clashes).
 * - ipvs: ip_vs_in_hook looks the packet up in the IPVS connection table first (conn_in_get) and
 *   schedules only on a miss (ip_vs_try_to_schedule -> ip_vs_schedule -> ip_vs_conn_new), so a
 *   second packet that comes after the first's ip_vs_conn is hashed follows it; the masquerade to
 *   the real server is written into the unconfirmed conntrack entry (ip_vs_update_conntrack), and
 *   kube-proxy's nat rules give every entry a NAT binding: conntrack confirms it like the others
 *   (torvalds/linux net/netfilter/ipvs/ip_vs_core.c, ip_vs_nfct.c).
 * - ebpf: Cilium-like socket load balancing translates at connect()/sendmsg() in the cgroup hook;
 *   with its BPF host routing the pod's packets do not pass the node's netfilter, so no entry and
 *   no race (the ebpf mode model's `natInConntrack: false`).
 * - userspace: the portal rule REDIRECTs every packet to the proxy's one port on the node (kubernetes
 *   v1.22 pkg/proxy/userspace/proxier.go), so both packets of a race get the same target; the proxy
 *   then talks to the endpoint from its own socket, one goroutine per client, in order.
 */
export function udpNatChoice(mode: ProxyMode): UdpNatChoice {
  switch (mode) {
    case 'iptables':
    case 'nftables':
      return { mode, kind: 'rule-per-packet' };
    case 'ipvs':
      return { mode, kind: 'ipvs' };
    case 'ebpf':
      return { mode, kind: 'untracked' };
    case 'userspace':
      return { mode, kind: 'redirect' };
  }
}

/**
 * Whether the second of two racing packets, its lookup `gapNs` after the first's, picks its own
 * target. Per-packet rules always do. IPVS does only if its IPVS lookup came before the first's
 * ip_vs_conn was hashed, within the scheduler's pick (CostModel.ipvsScheduleNs) of the first's
 * lookup; otherwise it follows the first. A REDIRECT has one target and an untracked path none.
 */
export function secondPicksOwnTarget(choice: UdpNatChoice, gapNs: number, costs: CostModel): boolean {
  switch (choice.kind) {
    case 'rule-per-packet':
      return true;
    case 'ipvs':
      return Math.abs(gapNs) < costs.ipvsScheduleNs;
    case 'redirect':
    case 'untracked':
      return false;
  }
}

/**
 * The real server IPVS gives a second packet scheduled right after the first (index `first` of
 * `servers`, in the scheduler's order): round robin moves on (ip_vs_rr.c, ip_vs_wrr.c with equal
 * weights); the hashing schedulers map the same flow to the same server (ip_vs_sh.c, ip_vs_dh.c,
 * ip_vs_mh.c). For the least-connection family (ip_vs_lc.c, ip_vs_wlc.c, ip_vs_sed.c, ip_vs_nq.c)
 * this assumes the second reads the counters before the first's ip_vs_conn is bound to its server
 * (ip_vs_bind_dest), as it does within the scheduling window, and so picks the same one.
 */
export function ipvsConcurrentPick(scheduler: SchedulerName, first: number, servers: number): number {
  if (!(servers >= 1) || !(first >= 0 && first < servers)) throw new RangeError(`server ${first} of ${servers}`);
  return scheduler === 'rr' || scheduler === 'wrr' ? (first + 1) % servers : first;
}

/** What a caller drew for one pair of racing packets, from its own streams. */
export interface UdpPairDraws {
  /** Uniform in [0, 1): the pair runs on different CPUs when below `crossCpu`. */
  cpu: number;
  /** Time between the two packets' conntrack lookups, ns (either order). */
  gapNs: number;
  /** The first packet's target, and the one the second gets if it picks on its own. */
  firstTarget: string;
  ownSecondTarget: string;
}

export interface UdpPairContext {
  choice: UdpNatChoice;
  rules: ClashRules;
  costs: CostModel;
  /** Probability that the pair runs on different CPUs (clash-timing.ts crossCpuProbability). */
  crossCpu: number;
  /** The mode's first-packet walk, which lengthens the window (FirstPacketCost.costNs). */
  walkNs?: number;
}

/**
 * One pair end to end: the timing (clash-timing.ts), the second packet's target under the mode,
 * and the kernel's outcome for it (clash.ts raceOutcome). `secondTarget` is where the second packet
 * goes unless it is dropped.
 */
export function udpPairRace(ctx: UdpPairContext, draws: UdpPairDraws): RaceResult & { secondTarget: string } {
  const { choice, costs } = ctx;
  const timing = raceTiming(draws.gapNs, draws.cpu < ctx.crossCpu, raceWindowNs(costs, ctx.walkNs), natToConfirmNs(costs));
  const secondTarget = timing !== 'apart' && secondPicksOwnTarget(choice, draws.gapNs, costs) ? draws.ownSecondTarget : draws.firstTarget;
  const result = raceOutcome({ rules: ctx.rules, nat: choice.kind, firstTarget: draws.firstTarget, secondTarget, timing });
  return { ...result, secondTarget };
}
