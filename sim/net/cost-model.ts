/**
 * The one table of kernel and kube-proxy costs the simulator charges, in nanoseconds. Every
 * component reads its costs from here, a scenario can override any field (`costs:` in the scenario
 * file), and `svcsim calibrate` writes a JSON of the same shape measured on the host's real kernel.
 *
 * Defaults come from the kernel probe in ../shared/tools/kernel-probe run on a 2-core machine of the
 * kind this project is developed on (4 endpoints per service, 18 restore lines per service):
 *   iptables-restore  legacy: 0.036 s / 0.156 s / 0.744 s at 100 / 1k / 5k services
 *                     nft backend: 0.041 s / 0.312 s / 1.369 s
 *   connect latency with the matching rule last in KUBE-SERVICES: ~4.6 ns per rule walked (legacy),
 *                     ~9 ns (iptables-nft); an nftables verdict map stays flat.
 * The least-squares line through the restore points gives the per-line and fixed costs below.
 */
export type IptablesBackend = 'legacy' | 'nft';

export interface CostModel {
  /** Cost of entering a netfilter hook (per hook a packet traverses), independent of rules. */
  hookNs: number;
  /** Cost of visiting one iptables rule (the per-rule walk cost), per backend. */
  perRuleNs: Record<IptablesBackend, number>;
  /** Extra cost of each match module evaluated beyond the rule's built-in matches (-s/-d/-p/-i/-o). */
  perMatchNs: number;
  /** Cost of a jump into a user chain (stack push and return). */
  chainJumpNs: number;
  /** Conntrack: lookup of an existing entry, and creation of a new one (hash insert, NAT setup). */
  conntrackLookupNs: number;
  conntrackInsertNs: number;
  /** nftables: one set/map/verdict-map lookup (hash), and one plain rule evaluation. */
  nftLookupNs: number;
  nftRuleNs: number;
  /** IPVS: virtual-service lookup plus scheduler pick for a new connection. */
  ipvsScheduleNs: number;
  /** ebpf (Cilium-like) service map lookup per packet; socket-LB connect-time translation. */
  ebpfLookupNs: number;
  /** userspace proxy: the extra hop through a process, per packet (two socket copies, a wakeup). */
  userspaceHopNs: number;

  /** iptables-restore: fixed cost of one invocation (process start, table fetch), per backend. */
  restoreBaseNs: Record<IptablesBackend, number>;
  /** iptables-restore: cost per input line, per backend. */
  restoreNsPerLine: Record<IptablesBackend, number>;
  /** iptables-restore: cost per rule already in the table (legacy rewrites the whole table blob). */
  restoreNsPerExistingRule: Record<IptablesBackend, number>;
  /** A single `iptables -A/-D` call: cost per rule already in the table (the whole table is swapped). */
  singleUpdateNsPerRule: Record<IptablesBackend, number>;
  /** nft -f: fixed cost of one transaction, and cost per line of the transaction. */
  nftTransactionBaseNs: number;
  nftNsPerLine: number;
  /** IPVS: netlink cost per object created, updated or deleted (virtual server, real server, address). */
  ipvsNetlinkNsPerObject: number;
  /** ipset restore cost per element. */
  ipsetNsPerElement: number;
  /**
   * IPVS: netlink cost per virtual server listed at every sync (the ipvs proxier has no partial sync:
   * it lists virtual servers and their real servers each time, pkg/proxy/ipvs/proxier.go syncProxyRules).
   * An assumption (not measured here: this kernel has no IPVS).
   */
  ipvsListNsPerObject: number;
  /** ebpf (Cilium-like): cost of one BPF map element update from the agent (bpf(2) syscall). Assumption. */
  ebpfMapUpdateNs: number;
  /** ebpf: the agent's own processing lag between hearing an endpoint change and updating maps. Assumption. */
  ebpfAgentLagNs: number;
}

export const DEFAULT_COSTS: CostModel = {
  hookNs: 150,
  perRuleNs: { legacy: 4.6, nft: 9 },
  perMatchNs: 2,
  chainJumpNs: 10,
  conntrackLookupNs: 60,
  conntrackInsertNs: 450,
  nftLookupNs: 40,
  nftRuleNs: 9,
  ipvsScheduleNs: 200,
  ebpfLookupNs: 60,
  userspaceHopNs: 25_000,

  restoreBaseNs: { legacy: 8_000_000, nft: 48_000_000 },
  restoreNsPerLine: { legacy: 8_200, nft: 14_700 },
  restoreNsPerExistingRule: { legacy: 0, nft: 0 },
  singleUpdateNsPerRule: { legacy: 4_500, nft: 0 },
  nftTransactionBaseNs: 5_000_000,
  nftNsPerLine: 20_000,
  ipvsNetlinkNsPerObject: 30_000,
  ipsetNsPerElement: 1_000,
  ipvsListNsPerObject: 20_000,
  ebpfMapUpdateNs: 3_000,
  ebpfAgentLagNs: 5_000_000,
};

/** Deep-merges a partial override (from a scenario or a calibration file) onto a base cost model. */
export function withCosts(base: CostModel, override: DeepPartial<CostModel> | undefined): CostModel {
  if (!override) return base;
  const out: any = structuredClone(base);
  for (const [k, v] of Object.entries(override)) {
    if (v !== undefined && typeof v === 'object' && v !== null) out[k] = { ...out[k], ...v };
    else if (v !== undefined) out[k] = v;
  }
  return out as CostModel;
}

export type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? Partial<T[K]> : T[K] };
