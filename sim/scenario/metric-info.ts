import type { MetricInfo } from '../../reports/types.ts';

/**
 * Units and direction of the metrics the model writes (sim/run/metrics.ts and
 * run-model.ts), where reports/units.ts's naming rules would guess wrong: `cpuPerConnection` is ns of
 * CPU, `kernel.memoryBytes` is bytes, `connections.ok` is better higher. Keys are full names or base
 * names (the part before the first dot), as ScenarioMeta.metrics takes them; a metric not listed
 * falls back to the naming rules. The report's tables and `svcsim compare` read these.
 */
export const MODEL_METRICS: Record<string, MetricInfo> = {
  connections: { unit: 'count', description: 'connections opened after warm-up, by outcome (total: informational; refused, reset, timeout, dropped: lower is better)' },
  'connections.ok': { unit: 'count', better: 'higher', description: 'connections that completed' },
  failedConnections: { unit: 'count', description: 'connections that did not complete (refused, reset, timeout, dropped)' },
  'failedConnections.rate': { unit: 'ratio', description: 'failed connections / connections' },
  drops: { unit: 'count', description: 'dropped connections by reason' },
  connectSetupLatency: { unit: 'ns', description: 'a TCP connection\'s setup as the client sees it: the kernel\'s connect (measured distribution), the rule walk and the round trip by placement (sim/run/connect-setup.ts)' },
  'connectSetupLatency.placement': { unit: 'count', better: 'none', description: 'measured connections by where the endpoint ran: same node, same zone, other zone' },
  'connectSetupLatency.bucket': { unit: 'count', better: 'none', description: 'connections whose setup took at most the bound (µs), cumulative' },
  rulesVisited: { unit: 'count', better: 'none', description: 'rules (or map lookups) a first packet walks through' },
  cpuPerConnection: { unit: 'ns', description: 'kernel CPU time spent on a new connection\'s first packet' },
  syncUnits: { unit: 'count', better: 'none', description: 'rules, elements or objects written per sync' },
  syncs: { unit: 'count', description: 'kube-proxy syncs, all nodes (count: informational; failed: lower is better)' },
  kernel: { unit: 'count', better: 'none', description: 'kernel objects kube-proxy programs on a node' },
  'kernel.memoryBytes': { unit: 'bytes', better: 'none', description: 'kernel memory of the programmed objects on a node (iptables and nftables: fitted to this host\'s kernel, sim/proxy/cost/kernel-memory.ts; ipvs, ebpf, userspace: estimates)' },
  'kernel.ipvsServers': { unit: 'count', better: 'none', description: 'IPVS virtual servers and real servers on a node (ipvs mode; 0 elsewhere)' },
  affinity: { unit: 'count', better: 'none', description: 'ClientIP session affinity: new connections sent to a remembered endpoint (hits) or chosen afresh (misses)' },
  conntrack: { unit: 'count', description: 'conntrack table, per node' },
  'conntrack.occupancy.peak': { unit: 'ratio', better: 'none', description: 'peak entries / nf_conntrack_max' },
  'conntrack.occupancy.end': { unit: 'ratio', better: 'none', description: 'entries at the end of the run / nf_conntrack_max (fullest node)' },
  sim: { unit: 'count', better: 'none', description: 'simulator figures (events executed)' },
  watchDelivery: { unit: 'ns', description: 'EndpointSlice commit to its delivery to a node\'s kube-proxy watch, per event and node (runs with churn)' },
  'watchDelivery.count': { unit: 'count', description: 'EndpointSlice watch events delivered to kube-proxies after warm-up' },
  endpointHeardLatency: { unit: 'ns', description: 'endpoint change trigger (pod side) to a node\'s kube-proxy hearing it, per change and node (runs with churn)' },
  'endpointHeardLatency.count': { unit: 'count', description: '(change, node) pairs heard after warm-up' },
  // Runs with dns: (sim/run/dns-metrics.ts).
  dns: { unit: 'count', description: 'DNS lookups (getaddrinfo) after warm-up, by outcome' },
  'dns.lookups.total': { unit: 'count', better: 'none', description: 'lookups started after warm-up and finished' },
  'dns.lookups.ok': { unit: 'count', better: 'higher', description: 'lookups that returned addresses' },
  'dns.lookups.nxdomain': { unit: 'count', better: 'none', description: 'lookups of a name that does not exist' },
  'dns.lookups.nodata': { unit: 'count', better: 'none', description: 'lookups of a name without an address of the asked family' },
  'dns.failedLookups.rate': { unit: 'ratio', description: 'lookups ending in servfail, refused or timeout / lookups' },
  'dns.lookupLatency': { unit: 'ns', description: 'getaddrinfo time of a lookup, all its queries and waits' },
  'dns.queriesPerLookup': { unit: 'count', better: 'lower', description: 'queries a lookup sent, resends included' },
  'dns.queries.lost': { unit: 'count', better: 'lower', description: 'queries no answer came back for (conntrack drop, a gone replica, loss)' },
  'dns.slowLookups.rate': { unit: 'ratio', better: 'lower', description: 'share of lookups taking 1 s or more' },
  'dns.slowLookups.count': { unit: 'count', better: 'lower', description: 'lookups taking 1 s or more' },
  'dns.lookupsOver5s.rate': { unit: 'ratio', better: 'lower', description: 'share of lookups taking 5 s or more (a lost query under glibc\'s 5 s timeout)' },
  'dns.cacheHitRatio': { unit: 'ratio', better: 'higher', description: 'cache hits / queries at the first cache a query meets (node-cache with NodeLocal DNSCache, else CoreDNS)' },
  coredns: { unit: 'count', better: 'none', description: 'CoreDNS replicas and their load' },
  'coredns.qps': { unit: 'count', better: 'none', description: 'queries per second all CoreDNS replicas received after warm-up' },
  'coredns.cpu.mean': { unit: 'count', better: 'lower', description: 'CPU cores a CoreDNS replica used, mean over the configured replicas' },
  'coredns.cpu.max': { unit: 'count', better: 'lower', description: 'CPU cores the busiest CoreDNS replica used' },
  'coredns.refused': { unit: 'count', better: 'lower', description: 'queries CoreDNS refused beyond forward max_concurrent' },
  'conntrack.clashResolve': { unit: 'count', better: 'none', description: 'conntrack -S clash_resolve summed over client nodes (5.10 on)' },
  'conntrack.dnsEntries': { unit: 'count', better: 'none', description: 'conntrack entries the lookups created (0 with NodeLocal DNSCache)' },
  // North-south traffic (sim/run/external-metrics.ts), in runs with `external:` clients.
  external: { unit: 'count', description: 'connections from clients outside the cluster, by outcome and failure reason (runs with external clients)' },
  'external.connections.ok': { unit: 'count', better: 'higher', description: 'external connections that completed' },
  'external.failedConnections.rate': { unit: 'ratio', description: 'failed external connections / external connections' },
  'external.firstPacketLatency.mean': { unit: 'ns', description: 'kernel time of a forwarded external connection\'s first packet on the node it entered (mean)' },
  'external.firstPacketLatency.p50': { unit: 'ns', description: 'kernel time of a forwarded external connection\'s first packet on the node it entered (p50)' },
  'external.firstPacketLatency.p99': { unit: 'ns', description: 'kernel time of a forwarded external connection\'s first packet on the node it entered (p99)' },
  'external.firstPacketLatency.max': { unit: 'ns', description: 'kernel time of a forwarded external connection\'s first packet on the node it entered (max)' },
  'external.clientIPPreserved.rate': { unit: 'ratio', better: 'none', description: 'external connections forwarded to an endpoint with the client address kept (not masqueraded) / those forwarded' },
  'external.extraHops.mean': { unit: 'count', better: 'lower', description: 'extra node hops per forwarded external connection (endpoint on another node than the one the packet entered)' },
  lb: { unit: 'ns', description: 'per node and load balancer: from the node losing its last local Ready endpoint to the load balancer\'s last new connection to it' },
  'lb.lastConnectionAfterEndpointGone.count': { unit: 'count', better: 'none', description: '(node, load balancer) episodes without a local Ready endpoint, after warm-up' },
};
