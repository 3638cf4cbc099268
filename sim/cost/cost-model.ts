/**
 * The one table of kernel and kube-proxy costs the simulator charges, in nanoseconds. Every
 * component reads its costs from here, a scenario can override any field (`costs:` in the scenario
 * file), and `svcsim calibrate` writes a JSON of the same shape measured on the host's real kernel.
 *
 * Where the measured defaults come from (4 endpoints per service throughout): twelve full `svcsim
 * calibrate` runs on this project's host (kernel 6.18, iptables 1.8.9 legacy and nf_tables,
 * nftables 1.0.6, conntrack-tools 1.4.7, 2 vCPUs AMD EPYC) on 2026-12-04 07:31-08:35 UTC with
 * nothing else running (load average 0-1.9, the probes' own), merged with `svcsim calibrate
 * --from` x 12 (each point the median of the runs that measured it); the runs, the merged JSON, its
 * report and charts are in calibrate/measured/. Against every measured point at 100..10k
 * services the simulator comes within 17% of the kernel for the iptables walk and restore (both
 * backends) and within 4% for kube-proxy's nftables transactions (100..5k).
 * restoreBaseNs / restoreNsPerLine / restoreNsPerLinePerRule: iptables-restore's CPU time grows
 *    superlinearly in the services (legacy 24 / 146 / 834 / 2100 ms and nft 42 / 295 / 1810 / 3990 ms
 *    at 100 / 1k / 5k / 10k), so no straight line in the lines comes within 25% across the range.
 *    Weighted least squares (relative error) of base + lines x (perLine + rules x perLinePerRule):
 *    legacy 12.8 ms + lines x (6.15 us + 0.0355 ns x rules), R^2 0.987; nft 15.6 ms + lines x
 *    (14.4 us + 0.0497 ns x rules), R^2 0.995.
 * perRuleNs / perRuleLogNs (the walk: connect latency's lower decile, amplified and differential,
 *    100..10k rules; fitted through the origin): legacy 2.04 ns a rule up to 100 rules and 0.461 ns
 *    more per rule for each e-fold beyond (2.1 ns a rule measured at 100, 3.3 at 1k, 4.2 at 10k;
 *    R^2 0.989; one constant missed 100 rules by +80%); nft 8.42 ns and 0.0857 ns (8.4 at 100, 8.8
 *    at 10k; R^2 1.000). nftRuleNs is perRuleNs.nft (an iptables-nft rule is an nf_tables rule
 *    evaluated by nft_do_chain; kube-proxy's nftables walks are far below 100 rules).
 * singleUpdateBaseNs / singleUpdateNsPerRule: one `iptables -A` (CPU time) against the nat table's
 *    rules: legacy 11.5 ms + 9.25 us a rule (libiptc fetches and rewrites the whole blob), nft
 *    6.99 ms + 0.441 us a rule (R^2 0.98 and 0.99).
 * nft* (`nft -f` of kube-proxy's own transactions, written by the nftables proxier, CPU time): the
 *    cold full sync of 100 / 1k / 2.5k / 5k services took 63 ms / 673 ms / 2.13 s / 6.02 s:
 *    7.08 ms + lines x (23.8 us + 0.29 ns x objects in the table), R^2 1.000. A partial sync taking
 *    one endpoint away took 18 / 55 / 123 / 234 ms: beyond its lines' charge, 6.01 ms to read the
 *    table and 2.05 us per object in it (R^2 0.999). So on this host (nft 1.0.6) a small change
 *    costs in proportion to the table, not to the change.
 * conntrackLookupNs / conntrackInsertNs: CPU time per packet of UDP bursts on loopback against a
 *    namespace without conntrack walking the same filter rule: 458 ns per packet of a known flow,
 *    619 ns more for a new one (create, NAT set-up, confirm).
 */
export type IptablesBackend = 'legacy' | 'nft';

export interface CostModel {
  /** Cost of entering a netfilter hook (per hook a packet traverses), independent of rules. */
  hookNs: number;
  /**
   * Cost of visiting one iptables rule (the per-rule walk cost), per backend, in a walk of at most
   * WALK_CACHE_RULES rules (ruleWalkNs charges a longer walk more per rule).
   */
  perRuleNs: Record<IptablesBackend, number>;
  /**
   * Extra cost of each rule of a longer walk, per backend, per e-fold of the walk's length beyond
   * WALK_CACHE_RULES: a walk of n rules costs n x (perRuleNs + perRuleLogNs x ln(n / WALK_CACHE_RULES)).
   * Legacy ipt_do_table (net/ipv4/netfilter/ip_tables.c) steps through one blob of ipt_entry records
   * by next_offset, reading each entry's 112-byte header (struct ipt_entry, with the ipt_ip it
   * matches on first); a KUBE-SERVICES jump's record is 488 bytes (112, a comment match of 32 + 256
   * = XT_MAX_COMMENT_LEN in include/uapi/linux/netfilter/xt_comment.h, a tcp match of 48, a standard
   * target of 40: XT_ALIGN in include/uapi/linux/netfilter/x_tables.h). The longer the walk,
   * the more of those records lie beyond the nearer CPU caches, and the calibration's legacy walk
   * costs per rule grow with ln(rules) (2.1 ns at 100 rules, 4.2 ns at 10k). iptables-nft's walk
   * (nft_do_chain evaluating each rule's expressions, more work per rule) grows far less.
   */
  perRuleLogNs: Record<IptablesBackend, number>;
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
  /**
   * iptables-restore: extra cost of each input line for each rule in the table (the restore's time
   * grows as lines x table size, superlinearly in the services). Both backends find chains by name in
   * structures whose lookups get longer as the table grows: legacy libiptc (iptables
   * libiptc/libiptc.c) keeps chains in one sorted list indexed every CHAIN_INDEX_BUCKET_LEN chains,
   * walks a bucket on every lookup and sorted insert (iptcc_find_label, iptc_insert_chain), and
   * rebuilds the index with a walk of every chain once inserts overflow it
   * (iptcc_chain_index_rebuild); iptables-nft hashes chain names into CHAIN_NAME_HSIZE = 512
   * buckets (iptables/nft-chain.h, nft_chain_find in iptables/nft-cache.c), so each of a restore's
   * many chain lookups walks about chains / 512 entries. Kube-proxy's tables hold about 2.8 rules
   * per chain, so the rule count stands for the chain count.
   */
  restoreNsPerLinePerRule: Record<IptablesBackend, number>;
  /** iptables-restore: cost per rule already in the table (legacy rewrites the whole table blob). */
  restoreNsPerExistingRule: Record<IptablesBackend, number>;
  /** A single `iptables -A/-D` call: cost per rule already in the table (the whole table is swapped). */
  singleUpdateNsPerRule: Record<IptablesBackend, number>;
  /**
   * A single `iptables` command (-A, -D, -C, -N), whatever the table's size: process start, the
   * xtables lock, fetching the table. The userspace proxy ran one per portal rule it ensured.
   */
  singleUpdateBaseNs: Record<IptablesBackend, number>;
  /**
   * userspace proxy: opening one service port's proxy socket (socket, bind, listen, and the goroutine
   * that accepts on it: pkg/proxy/userspace/proxier.go addServiceOnPortInternal). Assumption.
   */
  userspaceSocketOpenNs: number;
  /**
   * userspace proxy: replacing one service port's endpoint list in the round-robin balancer (a lock,
   * a slice copy, the sticky-session map pruned: pkg/proxy/userspace/roundrobin.go OnEndpointsUpdate). Assumption.
   */
  userspaceBalancerUpdateNs: number;
  /** nft -f: fixed cost of one transaction, and cost per line of the transaction. */
  nftTransactionBaseNs: number;
  nftNsPerLine: number;
  /**
   * nft -f: extra cost of each line for each object (chain, rule, map or element) in the table after
   * the transaction. A load of the whole table grows faster than its lines (kube-proxy's nftables
   * cold start at scale: kubernetes/kubernetes#139328, #135639).
   */
  nftNsPerLinePerObject: number;
  /**
   * nft -f: cost of each object already in the table, per transaction, however small. nft reads the
   * table's objects that the transaction's commands refer to into its cache before evaluating
   * them (nftables src/cache.c, nft_cache_update), so one more service costs more in a larger table.
   */
  nftNsPerTableObject: number;
  /**
   * nft -f into a table that exists: the fixed part of reading it (the netlink dumps of its chains,
   * sets and rules), beside nftNsPerTableObject. A cold start's transaction has no table to read.
   */
  nftTableFetchNs: number;
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
  // svcsim calibrate, calibrate/measured/ (see the header).
  perRuleNs: { legacy: 2.04, nft: 8.42 },
  perRuleLogNs: { legacy: 0.461, nft: 0.0857 },
  perMatchNs: 2,
  chainJumpNs: 10,
  conntrackLookupNs: 458,
  conntrackInsertNs: 619,
  nftLookupNs: 40,
  // One plain nf_tables rule: iptables-nft rules are nf_tables rules, so perRuleNs.nft's measurement.
  nftRuleNs: 8.42,
  ipvsScheduleNs: 200,
  ebpfLookupNs: 60,
  userspaceHopNs: 25_000,

  // svcsim calibrate's restore fit, calibrate/measured/ (see the header).
  restoreBaseNs: { legacy: 12_800_000, nft: 15_600_000 },
  restoreNsPerLine: { legacy: 6_150, nft: 14_400 },
  restoreNsPerLinePerRule: { legacy: 0.0355, nft: 0.0497 },
  restoreNsPerExistingRule: { legacy: 0, nft: 0 },
  // svcsim calibrate's single -A fit (see the header): one iptables process on an empty table, and
  // what each rule already in the nat table adds.
  singleUpdateNsPerRule: { legacy: 9_250, nft: 441 },
  singleUpdateBaseNs: { legacy: 11_500_000, nft: 6_990_000 },
  userspaceSocketOpenNs: 50_000,
  userspaceBalancerUpdateNs: 10_000,
  // svcsim calibrate's nft -f fits (see the header).
  nftTransactionBaseNs: 7_080_000,
  nftNsPerLine: 23_800,
  nftNsPerLinePerObject: 0.29,
  nftNsPerTableObject: 2_050,
  nftTableFetchNs: 6_010_000,
  ipvsNetlinkNsPerObject: 30_000,
  ipsetNsPerElement: 1_000,
  ipvsListNsPerObject: 20_000,
  ebpfMapUpdateNs: 3_000,
  ebpfAgentLagNs: 5_000_000,
};

/**
 * The longest walk (rules visited in one hook) charged perRuleNs alone for each rule: the lower end
 * of the range the calibration measures (100..10k rules), where its walks are cheapest per rule.
 * Below it the per-rule cost is not extrapolated downwards.
 */
export const WALK_CACHE_RULES = 100;

/**
 * The cost of the rules one hook's walk visits (in kube-proxy's rule sets each is a distinct rule:
 * no chain is entered twice on one packet's path), as CostModel.perRuleLogNs says.
 */
export function ruleWalkNs(costs: CostModel, backend: IptablesBackend, rules: number): number {
  const perRule = costs.perRuleNs[backend];
  const log = costs.perRuleLogNs[backend];
  if (log === 0 || rules <= WALK_CACHE_RULES) return rules * perRule;
  return rules * (perRule + log * Math.log(rules / WALK_CACHE_RULES));
}

/** What one netfilter hook costs a packet: its entry, its walk (ruleWalkNs), the extension matches evaluated and the jumps taken. */
export function hookCostNs(costs: CostModel, backend: IptablesBackend, rules: number, matches: number, jumps: number): number {
  return costs.hookNs + ruleWalkNs(costs, backend, rules) + matches * costs.perMatchNs + jumps * costs.chainJumpNs;
}

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
