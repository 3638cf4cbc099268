/**
 * The one table of kernel and kube-proxy costs the simulator charges, in nanoseconds. Every
 * component reads its costs from here, a scenario can override any field (`costs:` in the scenario
 * file), and `svcsim calibrate` writes a JSON of the same shape measured on the host's real kernel.
 *
 * The measured defaults are fits to `svcsim calibrate` runs on this project's host, kept in
 * calibrate/measured/. docs/calibration.md gives, field by field, the default, the measurement or
 * assumption behind it and the fit; change a default there and here together.
 */
/** The two iptables binaries kube-proxy may run: iptables-legacy and iptables-nft. */
export const IPTABLES_BACKENDS = ['legacy', 'nft'] as const;
export type IptablesBackend = (typeof IPTABLES_BACKENDS)[number];

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
   * the more of those records lie beyond the nearer CPU caches, so the measured legacy walk costs
   * more per rule the longer it is (docs/calibration.md). iptables-nft's walk (nft_do_chain
   * evaluating each rule's expressions, more work per rule) grows far less.
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
  /**
   * ebpf (Cilium-like): one BPF hash-map lookup of the socket-level translation at connect() (three
   * per connection: service, backend slot, backend; sim/proxy/cost/ebpf.ts). Measured: the
   * calibration's own cgroup/connect4 program's run time over its lookups, random ClusterIPs of
   * 1,000..50,000 services (docs/calibration.md).
   */
  ebpfLookupNs: number;
  /**
   * ebpf: every packet's tc program on the pod's device with its lookup in the BPF CT map (Cilium's
   * bpf_lxc.c with ct_lookup4), the tc hook's entry included. Measured: CPU time per packet of UDP
   * bursts with and without the calibration's CT program on tc egress.
   */
  ebpfDatapathNs: number;
  /** ebpf: the same on a new connection's first packet, whose lookup misses and inserts the CT entry (ct_create4). Measured likewise. */
  ebpfCtCreateNs: number;
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

  /**
   * DNS servers: CPU time per query. A replica's capacity is cores x 1e9 / these (queries per second).
   *
   * corednsQueryNs: a query CoreDNS answers itself (a cache hit, or the kubernetes plugin).
   * coredns/deployment kubernetes/Scaling_CoreDNS.md: one CoreDNS on a GCE n1-standard-2, CPU-bound
   * at about 1.9 cores, served 33,669 internal QPS, so 1.9e9 / 33,669 = 56.4 us per query. Its
   * external test (33,667 server QPS at the same CPU) repeats one name, so its forwarded queries
   * were cache hits and cost the same: that test does not price a cache miss.
   */
  corednsQueryNs: number;
  /**
   * corednsForwardedQueryNs: a query CoreDNS forwards upstream (a cache miss), all of it: the lookup
   * above plus the exchange with the upstream and the answer's handling. KEP-1024 (kubernetes/
   * enhancements keps/sig-network/1024-nodelocal-cache-dns, "Choice of caching agent": CoreDNS 1.2.3
   * without its cache plugin at a 50m CPU limit) served 818 QPS of one cluster name and 180 QPS of
   * mostly unique external names: a forwarded query costs 818 / 180 = 4.54 times an answered one,
   * so 4.54 x 56.4 us = 256 us.
   */
  corednsForwardedQueryNs: number;
  /**
   * NodeLocal DNSCache (node-cache, a CoreDNS build): KEP-1024's same benchmark at a 50m CPU limit
   * with caching on: 834 QPS of one cluster name (cache hits), 50e6 / 834 = 60 us a query; and 180
   * QPS of external names without a cache (each forwarded), 50e6 / 180 = 278 us a query.
   */
  nodeLocalDnsQueryNs: number;
  nodeLocalDnsForwardedQueryNs: number;
  // The conntrack insertion race of UDP (sim/conntrack/clash*.ts; docs/calibration.md).
  /**
   * The race window: how long a forwarded UDP packet's entry stays unconfirmed, from nf_conntrack_in
   * to __nf_conntrack_confirm, through two iptables DNAT rules (a run adds the mode's rule walk).
   * Measured: two threads pinned to two CPUs sent one datagram each on one socket through a veth
   * into a namespace with `-m statistic --mode random` DNAT, their offset drawn from 0..30 us, 4,000
   * pairs; the clashes counted (clash_resolve + insert_failed in /proc/net/stat/nf_conntrack) times
   * the offset range. Linux 6.18, 2 vCPUs.
   */
  conntrackRaceWindowNs: number;
}

export const DEFAULT_COSTS: CostModel = {
  hookNs: 150,
  // Measured: the walk fit (docs/calibration.md).
  perRuleNs: { legacy: 2.04, nft: 8.42 },
  perRuleLogNs: { legacy: 0.461, nft: 0.0857 },
  perMatchNs: 2,
  chainJumpNs: 10,
  // Measured: CPU time per packet of UDP bursts on loopback (docs/calibration.md).
  conntrackLookupNs: 458,
  conntrackInsertNs: 619,
  nftLookupNs: 40,
  // One plain nf_tables rule: iptables-nft rules are nf_tables rules, so perRuleNs.nft's measurement.
  nftRuleNs: 8.42,
  ipvsScheduleNs: 200,
  // Measured: the ebpf probe with the calibration's own BPF programs (docs/calibration.md).
  ebpfLookupNs: 1_010,
  ebpfDatapathNs: 683,
  ebpfCtCreateNs: 1_000,
  userspaceHopNs: 25_000,

  // Measured: the iptables-restore fit (docs/calibration.md).
  restoreBaseNs: { legacy: 12_800_000, nft: 15_600_000 },
  restoreNsPerLine: { legacy: 6_150, nft: 14_400 },
  restoreNsPerLinePerRule: { legacy: 0.0355, nft: 0.0497 },
  restoreNsPerExistingRule: { legacy: 0, nft: 0 },
  // Measured: the single `iptables -A` fit: one iptables process on an empty table, and what each
  // rule already in the nat table adds (docs/calibration.md).
  singleUpdateNsPerRule: { legacy: 9_250, nft: 441 },
  singleUpdateBaseNs: { legacy: 11_500_000, nft: 6_990_000 },
  userspaceSocketOpenNs: 50_000,
  userspaceBalancerUpdateNs: 10_000,
  // Measured: the nft -f fits of kube-proxy's own transactions (docs/calibration.md).
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
  // DNS servers: derived from published throughput at a known CPU (see the fields' comments).
  corednsQueryNs: 56_400,
  corednsForwardedQueryNs: 256_000,
  nodeLocalDnsQueryNs: 60_000,
  nodeLocalDnsForwardedQueryNs: 278_000,
  // Measured: the conntrack race probe (docs/calibration.md).
  conntrackRaceWindowNs: 2_400,
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
