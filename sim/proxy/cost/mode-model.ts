import type { CostModel, IptablesBackend } from '../../cost/cost-model.ts';
import type { ProxyMode } from '../mode.ts';

/**
 * What a mode model needs to know to cost a sync: how big the whole rule set is, and what changed
 * since the node's last successful sync. Counts only: the models charge for what kube-proxy writes,
 * they do not write it (the rule generators in sim/proxy/<mode>/ write it, for `render`).
 */
export interface SyncWork {
  full: boolean;
  /**
   * The first sync of the proxy's life, into an empty kernel. The userspace proxy opens a proxy
   * socket and appends the portal rules of every service port, where later syncs only check them;
   * nftables' transaction finds no table to read. ProxyAgent never sets it: its runs start with
   * version 0's rules in the kernel (a restarted kube-proxy).
   */
  startup?: boolean;
  /** Service ports in the state being synced, and how many of them have no usable endpoint. */
  services: number;
  servicesWithoutEndpoints: number;
  /** Endpoints over all service ports. */
  endpoints: number;
  /**
   * Per changed service port: endpoints before (in the node's active rules) and after, and how many
   * of the `before` ones are still there after (default min(before, after): none replaced). A
   * replaced endpoint is a chain (or object) deleted and another written.
   */
  changed: readonly { before: number; after: number; kept?: number; affinity?: boolean }[];
  /**
   * Runs where only some Services have ClientIP affinity (ModeOptions.sessionAffinity false): the
   * endpoints of the ports that have it, among `endpoints`; a changed port with it says `affinity`.
   * The iptables and nftables models charge those endpoints affinity's extra rules. Default 0.
   */
  affinityEndpoints?: number;
  /** What the node's external Services add (absent: none, today's ClusterIP-only node). */
  external?: ExternalSyncCounts;
}

/**
 * ExternalRuleCounts plus the per-port chains a sync writes for external Services: kube-proxy's
 * EXT/FW/SVL chains (iptables), external-/firewall-/local- chains (nftables). Counted over ports
 * with endpoints anywhere.
 */
export interface ExternalSyncCounts extends ExternalRuleCounts {
  /** Ports reachable by a node port, LB IP or external IP: an EXT chain each. */
  externalPorts: number;
  /** Of them, externalTrafficPolicy Local; those with endpoints on this node (an SVL chain each); their local endpoints in all. */
  localPolicyPorts: number;
  localPolicyPortsWithLocalEndpoints: number;
  localPolicyEndpoints: number;
  /** Ports with LB IPs and loadBalancerSourceRanges (a FW chain each), and their ranges in all. */
  firewalledPorts: number;
  sourceRanges: number;
  /**
   * LB ports with source ranges and no endpoint (one LB IP each): nftables still writes their
   * firewall- chain and firewall-ips element (its usesFWChain does not ask for endpoints; iptables'
   * does). Default 0.
   */
  firewalledWithoutEndpoints?: number;
}

export interface SyncCost {
  durationNs: number;
  /** iptables-restore / nft -f input lines, netlink objects for ipvs, map updates for ebpf, `iptables` commands (portal syncs) or service ports updated in memory (balancer updates) for userspace. */
  units: number;
}

/** Where the first packet of a new connection stands in the node's rules. */
export interface FirstPacketInput {
  services: number;
  servicesWithoutEndpoints: number;
  /** 0-based position of the service's rule in a chain with one rule per service (iptables order). */
  position: number;
  /** Endpoints usable for the service in the node's active rules, and the index chosen. */
  endpoints: number;
  chosen: number;
  /**
   * Session affinity (ClientIP) checks made before the choice; absent when the Service has none.
   * iptables and nftables check one rule per endpoint, in endpoint order (`-m recent --rcheck`,
   * `ip saddr @affinity-…`): `checked` is the index of the endpoint that holds the client plus one on
   * a hit (then `chosen` is that endpoint and no random choice is made), all endpoints on a miss.
   */
  affinity?: AffinityWalk;
  /**
   * `endpoints` is 0 because none of the Service's endpoints is on this node (internalTrafficPolicy
   * Local) while it has some elsewhere: kube-proxy's rule for the port drops instead of rejecting
   * (see ModeModel.noLocalEndpoints).
   */
  noLocalEndpoints?: boolean;
  /**
   * Endpoints in the node's state exceed kube-proxy's large-cluster threshold (1000,
   * LARGE_CLUSTER_ENDPOINTS_THRESHOLD in pkg/proxy/iptables/proxier.go): the iptables proxier leaves
   * the `-m comment` out of the per-endpoint rules (KUBE-SVC jumps, KUBE-SEP rules).
   */
  largeCluster?: boolean;
  /**
   * How the packet reaches the Service (default 'clusterIP': every field below is then ignored
   * except `source`, `masqueradeAll` and `node`, and with none of them set the walk is today's
   * pod-to-ClusterIP one). See external-path.ts for what each entry walks in each mode.
   */
  entry?: EntryPoint;
  /** Who sends the packet (default 'pod'): a pod of this node, the node itself, or a client outside the cluster. */
  source?: PacketSource;
  /** externalTrafficPolicy of the Service (default Cluster); applies to every entry but clusterIP. */
  externalTrafficPolicy?: 'Cluster' | 'Local';
  /**
   * Usable endpoints of the Service on this node (the Local list: local Ready endpoints, or local
   * serving-terminating ones when none is Ready; the run computes it with topology.ts
   * categorizeEndpoints). For an external entry `endpoints` is the Cluster list and `chosen` indexes
   * the list the packet is sent to (see FirstPacketVerdict).
   */
  localEndpoints?: number;
  /**
   * The Service's loadBalancerSourceRanges, for entry 'loadBalancer' only (they never apply to node
   * ports or external IPs): how many ranges, and the 0-based index of the first that holds the
   * source (-1: none does, the packet is refused). Absent: no ranges.
   */
  sourceRange?: SourceRangeWalk;
  /** --masquerade-all (default false): every packet to a ClusterIP is masqueraded. */
  masqueradeAll?: boolean;
  /**
   * The rules and elements the node's external Services add (absent: none, today's ClusterIP-only
   * node). The walk of every entry, ClusterIP included, crosses some of them.
   */
  node?: ExternalRuleCounts;
  /**
   * Where the packet's own refusal stands in iptables' filter chains, when it is refused there (like
   * `position`, kube-proxy's Go map order makes these uniform over the chain; default 0):
   * `firewall`, the index of its load-balancer IP's DROP in KUBE-PROXY-FIREWALL; `addresses` and
   * `nodePorts`, the refused addresses' and node ports' rules before its own in KUBE-EXTERNAL-SERVICES
   * (a node-port rule costs more to pass: it runs its addrtype match).
   */
  filterBefore?: { firewall?: number; addresses?: number; nodePorts?: number };
}

/** How a first packet reaches a Service. */
export type EntryPoint = 'clusterIP' | 'nodePort' | 'loadBalancer' | 'externalIP';
/** Who sends it: a pod on this node, the node itself (host network), or a client outside the cluster. */
export type PacketSource = 'pod' | 'host' | 'external';

export interface SourceRangeWalk {
  ranges: number;
  /** Index of the first range that holds the source, -1 when none does. */
  allowedBy: number;
}

/**
 * What a node's external Services add to its rules, as counts: the formulas walk past them. Every
 * count is over service ports (one port per Service is the synthetic cluster's case).
 */
export interface ExternalRuleCounts {
  /** Node ports of ports with endpoints anywhere: KUBE-NODEPORTS rules, service-nodeports elements. */
  nodePorts: number;
  /** Load-balancer ingress IPs of ports with endpoints (one KUBE-SERVICES rule, one service-ips element each). */
  loadBalancerIPs: number;
  /** External IPs of ports with endpoints (likewise). */
  externalIPs: number;
  /** Load-balancer IPs with loadBalancerSourceRanges, of ports with endpoints: a KUBE-PROXY-FIREWALL rule, a firewall-ips element each. */
  firewalledIPs: number;
  /**
   * External destinations this node refuses: ports whose Service has no endpoint (REJECT) or, under
   * externalTrafficPolicy Local, none on this node (DROP). `addresses`: their LB IPs and external IPs
   * (a `-d IP` rule each in KUBE-EXTERNAL-SERVICES); `nodePorts`: their node ports (an addrtype rule each).
   */
  refusedAddresses: number;
  refusedNodePorts: number;
  /** healthCheckNodePorts (eTP Local LoadBalancers): an ACCEPT rule each in filter KUBE-NODEPORTS. */
  healthCheckNodePorts: number;
  /**
   * ipvs mode: what its ipsets hold (absent: taken from the counts above, with no Local entries and
   * no local endpoint). Its rules match whole sets, and a rule is written only when its set is not
   * empty (pkg/proxy/ipvs/proxier.go writeIptablesRules), so what matters is which sets have entries.
   * The sets list every Service's addresses whatever its endpoints.
   */
  ipvs?: IpvsSetCounts;
}

/** Entries of kube-proxy's ipvs-mode ipsets on one node (pkg/proxy/ipvs/ipset.go), one TCP port per Service. */
export interface IpvsSetCounts {
  /** KUBE-NODE-PORT-TCP, and KUBE-NODE-PORT-LOCAL-TCP (externalTrafficPolicy Local). */
  nodePorts: number;
  localNodePorts: number;
  /** KUBE-LOAD-BALANCER, KUBE-LOAD-BALANCER-LOCAL, KUBE-LOAD-BALANCER-FW (with source ranges; their KUBE-IPVS-OUT-FILTER rule each). */
  loadBalancerIPs: number;
  localLoadBalancerIPs: number;
  firewalledIPs: number;
  /** KUBE-EXTERNAL-IP, KUBE-EXTERNAL-IP-LOCAL. */
  externalIPs: number;
  localExternalIPs: number;
  /** KUBE-LOOP-BACK has entries: some endpoint runs on this node (hairpin). */
  localEndpointsOnNode: boolean;
  /**
   * For syncs and kernel objects (default 0): KUBE-LOOP-BACK entries (endpoints on this node, over
   * all ports); real servers of the external virtual servers (each node port's on every node
   * address, each LB IP's and external IP's: the Local endpoints under Local when there are some,
   * else the Cluster ones); the node's addresses (a node port has a virtual server on each; default 1);
   * source ranges of the firewalled LB IPs (KUBE-LOAD-BALANCER-SOURCE-CIDR entries); health check
   * node ports (KUBE-HEALTH-CHECK-NODE-PORT entries).
   */
  loopbackEntries?: number;
  externalRealServers?: number;
  nodeAddresses?: number;
  sourceRanges?: number;
  healthCheckNodePorts?: number;
}

/**
 * What becomes of a first packet. 'dnat': sent to `endpoint`, an index into the list the path uses
 * (the Local list under externalTrafficPolicy Local for traffic from outside, else the Cluster list);
 * `masquerade`: SNATed to a node address on the way out, so the endpoint never sees the client's
 * address; `replyLost`: the endpoint's reply cannot find its way back through this node (ipvs
 * without SNAT to a remote endpoint). 'drop': silently discarded (the client retries until its
 * connect timeout). 'reject': an ICMP port unreachable goes back at once.
 */
export type FirstPacketVerdict =
  | { kind: 'dnat'; endpoint: number; masquerade: boolean; replyLost: boolean }
  | { kind: 'drop'; reason: DropReason }
  | { kind: 'reject' };

export type DropReason = 'no-local-endpoints' | 'source-range';

export interface AffinityWalk {
  checked: number;
  hit: boolean;
}

/**
 * A packet's CPU time on the client's node, split by what pays it (docs/metrics.md,
 * cpuPerConnection). Every mode's packets pay the netfilter hooks left in their path and connection
 * tracking of some kind; `modeNs` is what the proxy mode adds to them. The parts add up to the
 * packet's cost (FirstPacketCost.costNs, ModeModel.laterPacketNs: cost-parts.test.ts).
 */
export interface PacketCostParts {
  /** Entering the netfilter hooks the packet crosses (CostModel.hookNs each). */
  hooksNs: number;
  /**
   * Connection tracking: nf_conntrack's lookup or insert (conntrackLookupNs, conntrackInsertNs), and
   * for ebpf besides the BPF CT map's tc program (ebpfDatapathNs, ebpfCtCreateNs).
   */
  conntrackNs: number;
  /**
   * What the mode adds: the rule walk with its matches, jumps and set lookups (iptables, nftables,
   * ipvs's iptables rules), the IPVS lookup and scheduler, the socket-level map lookups (ebpf), the
   * hop through the proxy process (userspace).
   */
  modeNs: number;
}

export function partsTotalNs(p: PacketCostParts): number {
  return p.hooksNs + p.conntrackNs + p.modeNs;
}

export interface FirstPacketCost {
  /** Rules evaluated (iptables rules, or nftables rules), as a linear walk would count them. */
  rulesVisited: number;
  /** Hash lookups (ipset, nftables set/map/vmap, ipvs service table, bpf maps). */
  lookups: number;
  /** Simulated CPU time of the new connection's first packet on the client's node. */
  costNs: number;
  /** costNs by what pays it. */
  parts: PacketCostParts;
  /** The packet's fate. */
  verdict: FirstPacketVerdict;
}

export interface KernelObjects {
  rules: number;
  setElements: number;
  /** IPVS virtual servers and real servers (ipvs mode only; 0 elsewhere): `ipvsadm -Ln` lines. */
  ipvsServers: number;
  /** Rough kernel memory of those objects, bytes (per-object sizes are documented per mode). */
  memoryBytes: number;
}

export interface ModeModel {
  readonly mode: ProxyMode;
  syncCost(work: SyncWork): SyncCost;
  firstPacket(input: FirstPacketInput): FirstPacketCost;
  /** CPU time of each later packet of an established connection (conntrack hit, or proxy hop). */
  laterPacketNs(): number;
  /** laterPacketNs by what pays it. */
  laterPacketParts(): PacketCostParts;
  /** How the mode picks an endpoint: uniformly at random (statistic, numgen, Cilium random) or round robin. */
  readonly selection: 'random' | 'round-robin';
  /** Whether new connections create conntrack entries on the client's node (socket-LB does not NAT). */
  readonly natInConntrack: boolean;
  /** Objects of one node's rules; `servicesWithoutEndpoints`: ports it rejects or drops (one rule or map element each). */
  kernelObjects(services: number, endpoints: number, servicesWithoutEndpoints?: number, external?: ExternalSyncCounts, affinityEndpoints?: number): KernelObjects;
  /** Extra delay after a sync before rules act (e.g. an agent's own lag); 0 for kube-proxy modes. */
  readonly activationLagNs: number;
  /**
   * Where the mode keeps ClientIP affinity (see session-affinity.ts): xt_recent lists, one per
   * endpoint, bounded and reaped as the kernel module does (iptables), or entries that simply expire
   * `timeout` after their last use (nftables sets, IPVS persistence templates, Cilium's affinity
   * map, the userspace proxy's in-memory table).
   */
  readonly affinityStore: 'xt_recent' | 'timeout';
  /**
   * What a pod's connection to an internalTrafficPolicy Local Service meets on a node without a local
   * endpoint (the Service has endpoints elsewhere): 'drop' (kube-proxy's iptables and nftables DROP /
   * drop verdict: the SYN is lost and the client retries until its connect timeout) or 'reject'
   * (an immediate ICMP port unreachable).
   */
  readonly noLocalEndpoints: 'drop' | 'reject';
}

export interface ModeOptions {
  costs: CostModel;
  iptablesBackend: IptablesBackend;
  /**
   * Every Service of the run has sessionAffinity ClientIP (the synthetic cluster's Services are
   * identical): the rules kube-proxy writes per endpoint grow, which the sync cost and the kernel
   * objects count. Default false.
   */
  sessionAffinity?: boolean;
}
