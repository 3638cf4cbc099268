/**
 * What the DNS server models assume, in the words a report prints (a study with DNS adds them to
 * its assumptions). Each sentence matches the code: cpu.ts, forward.ts, cache.ts, server.ts,
 * replica.ts and ../node-local-cache.ts.
 */
export const DNS_SERVER_ASSUMPTIONS: readonly string[] = [
  'A CoreDNS replica is a CPU of `cores` cores serving queries first come, first served: costs.corednsQueryNs for a query it answers (cache hit or kubernetes plugin), costs.corednsForwardedQueryNs in all for one it forwards. ' +
    'Queries wait in the UDP receive buffer (256 queries, the kernel default) while every core is busy; when it is full a query is dropped silently. ' +
    'Real CoreDNS starts a goroutine per query and the Go scheduler shares the cores among them, so under overload its waits are spread over the queries in progress rather than queued.',
  'forward tries the upstreams in random order, 2 s per attempt (less when the connection is refused or reset), at most 2 attempts per upstream and no attempt started after 5 s, then SERVFAIL; more than max_concurrent queries in flight are REFUSED. ' +
    'Upstream health checks (max_fails, health_check) and connection reuse are not modelled.',
  'The cache plugin holds 256 shards of capacity / 256 entries with random eviction; answers are stored for their TTL capped by the cache TTL and floored at 5 s; expired entries hold their slot until replaced; serve_stale and prefetch are off, as in kubeadm\'s Corefile.',
  'After SIGTERM a replica fails /ready at once, answers for the lameduck period (5 s), then exits: queries waiting or in flight then are never answered.',
  'NodeLocal DNSCache is node-cache with its Corefile from nodelocaldns.yaml (cluster domain: cache success 9984 30, denial 9984 5, forward over TCP to kube-dns-upstream; other names: cache 30, forward to the node\'s resolvers), at costs.nodeLocalDnsQueryNs and costs.nodeLocalDnsForwardedQueryNs a query, with NOTRACK: its queries make no conntrack entry.',
];
