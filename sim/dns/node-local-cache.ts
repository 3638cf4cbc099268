import type { CostModel } from '../cost/cost-model.ts';
import type { Simulator } from '../engine/simulator.ts';
import type { Nanos } from '../engine/time.ts';
import { CACHE_DEFAULTS, cacheWithTtl, type CacheConfig } from './coredns/cache.ts';
import { FORWARD_DEFAULTS, type ForwardConfig, type UpstreamExchange } from './coredns/forward.ts';
import { DnsServer, type ServerStats } from './coredns/server.ts';
import type { DnsAnswer, DnsQuery } from './types.ts';

/**
 * NodeLocal DNSCache: node-cache (a CoreDNS build, kubernetes/dns cmd/node-cache) on every node,
 * as kubernetes/kubernetes cluster/addons/dns/nodelocaldns/nodelocaldns.yaml configures it:
 *
 *     cluster.local:53 { cache { success 9984 30; denial 9984 5 }; forward . <kube-dns-upstream> { force_tcp } }
 *     .:53             { cache 30; forward . <the node's resolv.conf servers> }
 *
 * (in-addr.arpa and ip6.arpa go to the cluster DNS like cluster.local; the models ask A and AAAA
 * only.) It listens on 169.254.20.10 (the yaml's `-localip`; the KEP-1024 example address), and
 * node-cache installs raw-table NOTRACK rules for that address on port 53 (cmd/node-cache/app/
 * cache_app.go), so the pod's queries to it create no conntrack entry and skip kube-proxy's NAT.
 * Its queries to CoreDNS go over TCP through the kube-dns-upstream Service: the run supplies that
 * exchange (through kube-proxy to a replica).
 */
export const NODE_LOCAL_DNS_ADDRESS = '169.254.20.10';

export interface NodeLocalDnsConfig {
  listenAddress: string;
  clusterDomain: string;
  /**
   * The DaemonSet requests 25m CPU and sets no limit (nodelocaldns.yaml), so node-cache may use the
   * node's idle CPU; 1 core is an assumption, as for CoreDNS.
   */
  cores: number;
  /** The default UDP receive buffer in queries (see CoreDnsConfig.receiveBufferQueries). */
  receiveBufferQueries: number;
  clusterCache: CacheConfig;
  defaultCache: CacheConfig;
  clusterForward: ForwardConfig;
  defaultForward: ForwardConfig;
}

export function nodeLocalDnsDefaults(clusterDomain = 'cluster.local'): NodeLocalDnsConfig {
  return {
    listenAddress: NODE_LOCAL_DNS_ADDRESS,
    clusterDomain,
    cores: 1,
    receiveBufferQueries: 256,
    clusterCache: { ...CACHE_DEFAULTS, successCapacity: 9984, successMaxTtl: 30, denialCapacity: 9984, denialMaxTtl: 5 },
    defaultCache: cacheWithTtl(30),
    clusterForward: { ...FORWARD_DEFAULTS, forceTcp: true },
    defaultForward: FORWARD_DEFAULTS,
  };
}

export interface NodeLocalDnsBackends {
  /** A TCP query to the kube-dns-upstream Service (through kube-proxy to a CoreDNS replica). */
  clusterDns: UpstreamExchange;
  /** The node's resolv.conf servers, for names outside the cluster domain. */
  upstreams: readonly UpstreamExchange[];
}

export class NodeLocalDnsCache {
  /** Queries to the listen address bypass conntrack (raw NOTRACK) and kube-proxy's NAT: the run creates no entry for them. */
  readonly notrack = true;
  private readonly server: DnsServer;

  constructor(sim: Simulator, readonly nodeName: string, readonly config: NodeLocalDnsConfig, costs: CostModel, backends: NodeLocalDnsBackends, rngPrefix: string) {
    this.server = new DnsServer(
      sim,
      `node-local-dns/${nodeName}`,
      {
        cores: config.cores,
        receiveBufferQueries: config.receiveBufferQueries,
        queryCostNs: costs.nodeLocalDnsQueryNs,
        forwardedQueryCostNs: costs.nodeLocalDnsForwardedQueryNs,
        lameduckNs: 0,
        blocks: [
          { zone: config.clusterDomain, cache: config.clusterCache, forward: { config: config.clusterForward, upstreams: [backends.clusterDns] } },
          { zone: '.', cache: config.defaultCache, forward: { config: config.defaultForward, upstreams: backends.upstreams } },
        ],
      },
      rngPrefix,
    );
  }

  get listenAddress(): string {
    return this.config.listenAddress;
  }

  /** Receives one query; `reply` runs once (null at once: dropped, no answer will come). */
  query(q: DnsQuery, reply: (answer: DnsAnswer | null) => void): void {
    this.server.query(q, reply);
  }

  get stats(): ServerStats {
    return this.server.stats;
  }

  cpuUtilisation(now?: Nanos): number {
    return this.server.cpuUtilisation(now);
  }

  /** The cluster-domain block's cache, and the default block's. */
  get caches() {
    return { cluster: this.server.cache(this.config.clusterDomain)!, default: this.server.cache('.')! };
  }
}
