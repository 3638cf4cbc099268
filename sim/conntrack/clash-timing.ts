/**
 * When two packets of one UDP socket race in conntrack (the timing clash.ts takes). A packet is
 * exposed from nf_conntrack_in (PREROUTING or OUTPUT, where its unconfirmed entry is made) to
 * __nf_conntrack_confirm (the last hook): for that window a second packet of the flow finds no
 * entry and makes its own. Two packets race when they are processed on different CPUs and their
 * lookups fall within one window of each other; on one CPU they are processed in order.
 *
 * The caller draws from its own streams (the gap between the two lookups, the CPUs) and passes the
 * results here; nothing here draws.
 */
import type { CostModel } from '../cost/cost-model.ts';
import type { RaceTiming } from './clash.ts';

/**
 * The window of one packet: the measured base (CostModel.conntrackRaceWindowNs, a forwarded packet
 * through two DNAT rules) plus the rule walk the mode charges the first packet of a flow beyond it
 * (its FirstPacketCost.costNs), which lies between the entry's creation and its confirmation.
 */
export function raceWindowNs(costs: CostModel, firstPacketWalkNs = 0): number {
  return costs.conntrackRaceWindowNs + Math.max(0, firstPacketWalkNs);
}

/**
 * The time from the source-NAT binding to confirmation: the last NAT hook (POSTROUTING or LOCAL_IN,
 * priority NF_IP_PRI_NAT_SRC) and the confirm hook (NF_IP_PRI_CONNTRACK_CONFIRM) are adjacent, so
 * one hook entry (CostModel.hookNs).
 */
export function natToConfirmNs(costs: CostModel): number {
  return costs.hookNs;
}

/**
 * The race timing of a pair whose lookups are `gapNs` apart (either order). Lookups a window or more
 * apart, or on one CPU, do not race. Within the window, the first packet is confirmed before the
 * second's source-NAT step unless the gap is under natToConfirmNs: the second's NAT step sits one
 * hook before its own confirm, a window after its lookup.
 */
export function raceTiming(gapNs: number, crossCpu: boolean, windowNs: number, natConfirmNs: number): RaceTiming {
  const gap = Math.abs(gapNs);
  if (!crossCpu || !(gap < windowNs)) return 'apart';
  return gap <= natConfirmNs ? 'overlap' : 'overlap-first-confirmed';
}

/**
 * Probability that two datagrams one thread sends back to back on one socket reach conntrack on
 * different CPUs. Measured on this project's host (Linux 6.18, 2 vCPUs): no clash in 9,000 sendmmsg
 * pairs through a veth and `-m statistic --mode random` DNAT, the sender pinned to either CPU or
 * free (docs/calibration.md, "The conntrack race"); this is the 95% upper bound, 3 / 9,000.
 */
export const SAME_THREAD_CROSS_CPU = 3 / 9_000;

/**
 * How the two datagrams were sent:
 * - 'one-thread': back to back from one thread (glibc's sendmmsg of A and AAAA, res_send.c send_dg;
 *   musl's sendto loop, res_msend.c). A veth hands each datagram to the sending CPU's backlog
 *   (veth_xmit -> netif_rx) and the softirq runs it before the next is sent, so both are processed
 *   on that CPU in order, as the probe's 0 clashes in 9,000 pairs show, unless the thread moves
 *   while the first still waits (`sameThread`, default SAME_THREAD_CROSS_CPU);
 * - 'threads': from different threads, each on any of the node's `cpus` CPUs, independently: they
 *   differ with probability 1 - 1/cpus. This is the case the Ubuntu SRU letter (2019-07-17) and
 *   the kernel selftest udpclash.c describe.
 */
export type SendPattern = 'one-thread' | 'threads';

export function crossCpuProbability(pattern: SendPattern, cpus: number, sameThread = SAME_THREAD_CROSS_CPU): number {
  if (!(cpus >= 1) || !Number.isInteger(cpus)) throw new RangeError(`cpus must be an integer >= 1, got ${cpus}`);
  if (!(sameThread >= 0 && sameThread <= 1)) throw new RangeError(`sameThread must be a probability, got ${sameThread}`);
  if (cpus === 1) return 0;
  return pattern === 'threads' ? 1 - 1 / cpus : sameThread;
}
