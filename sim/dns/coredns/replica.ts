import type { CostModel } from '../../cost/cost-model.ts';
import type { Simulator } from '../../engine/simulator.ts';
import { SECOND, type Nanos } from '../../engine/time.ts';
import type { DnsAnswer, DnsQuery } from '../types.ts';
import { cacheWithTtl, type CacheConfig } from './cache.ts';
import { FORWARD_DEFAULTS, type ForwardConfig, type UpstreamExchange } from './forward.ts';
import { DnsServer, type Authority, type ServerState, type ServerStats } from './server.ts';

/**
 * One CoreDNS replica as kubeadm deploys it (kubernetes/kubernetes cmd/kubeadm/app/phases/addons/
 * dns/manifests.go, CoreDNSConfigMap), with the plugins that shape an answer:
 *
 *     .:53 {
 *         health { lameduck 5s }
 *         ready
 *         kubernetes cluster.local in-addr.arpa ip6.arpa { ... fallthrough in-addr.arpa ip6.arpa; ttl 30 }
 *         forward . /etc/resolv.conf { max_concurrent 1000 }
 *         cache 30 [{ disable success cluster.local; disable denial cluster.local }]
 *     }
 *
 * The kubernetes plugin falls through for reverse zones only, so an NXDOMAIN under cluster.local is
 * its own answer and never forwarded; names outside the cluster domain go to forward. The
 * disabled-cache form is the Corefile of newer kubeadm (kubernetes PR #128359).
 */
export interface CoreDnsConfig {
  /**
   * Cores the replica's Go runtime can keep busy. kubeadm requests 100m CPU and sets no CPU limit
   * (manifests.go CoreDNSDeployment: limits hold memory only), so a replica may use its node's idle
   * CPU: 1 core is an assumption, half the 2-vCPU node of coredns/deployment's Scaling_CoreDNS.md.
   * A fraction stands for a CPU limit (0.5: a 500m limit), see CpuQueue.
   */
  cores: number;
  /**
   * Queries the UDP socket's receive buffer holds while every core is busy. Linux sizes the default
   * receive buffer (net.core.rmem_default = SK_RMEM_MAX, include/net/sock.h) as _SK_MEM_PACKETS =
   * 256 packets of SKB_TRUESIZE(256 bytes); a DNS query is smaller than 256 bytes, and CoreDNS
   * does not raise SO_RCVBUF, so 256.
   */
  receiveBufferQueries: number;
  clusterDomain: string;
  /** The kubernetes plugin's `ttl` (plugin default 5; kubeadm 30). */
  kubernetesTtl: number;
  /** null: no cache plugin. */
  cache: CacheConfig | null;
  forward: ForwardConfig;
  lameduckNs: Nanos;
}

/** kubeadm's Corefile; `disableClusterCache` gives the newer one that does not cache cluster-domain answers. */
export function kubeadmCoreDns(o: { clusterDomain?: string; disableClusterCache?: boolean } = {}): CoreDnsConfig {
  const domain = o.clusterDomain ?? 'cluster.local';
  const disabled = o.disableClusterCache ? [domain] : [];
  return {
    cores: 1,
    receiveBufferQueries: 256,
    clusterDomain: domain,
    kubernetesTtl: 30,
    cache: cacheWithTtl(30, { disableSuccess: disabled, disableDenial: disabled }),
    forward: { ...FORWARD_DEFAULTS, maxConcurrent: 1000 },
    lameduckNs: 5 * SECOND,
  };
}

export interface CoreDnsBackends {
  /** The kubernetes plugin: null for a name outside the cluster domain (it goes to forward). */
  authority: Authority;
  /** The servers of the replica's /etc/resolv.conf (its pod has dnsPolicy Default: the node's). */
  upstreams: readonly UpstreamExchange[];
}

export class CoreDnsReplica {
  private readonly server: DnsServer;

  constructor(sim: Simulator, readonly name: string, readonly config: CoreDnsConfig, costs: CostModel, backends: CoreDnsBackends, rngPrefix: string) {
    this.server = new DnsServer(
      sim,
      name,
      {
        cores: config.cores,
        receiveBufferQueries: config.receiveBufferQueries,
        queryCostNs: costs.corednsQueryNs,
        forwardedQueryCostNs: costs.corednsForwardedQueryNs,
        lameduckNs: config.lameduckNs,
        blocks: [
          {
            zone: '.',
            cache: config.cache,
            authority: { answer: backends.authority, ttl: config.kubernetesTtl },
            forward: { config: config.forward, upstreams: backends.upstreams },
          },
        ],
      },
      rngPrefix,
    );
  }

  /** Receives one query; `reply` runs once (null at once: dropped, no answer will come). */
  query(q: DnsQuery, reply: (answer: DnsAnswer | null) => void): void {
    this.server.query(q, reply);
  }

  /** SIGTERM from the kubelet: lameduck, then exit. */
  terminate(): void {
    this.server.terminate();
  }

  get state(): ServerState {
    return this.server.state;
  }

  /** GET /ready on :8181 (the kubeadm readiness probe) answers 200. */
  get ready(): boolean {
    return this.server.ready;
  }

  /** GET /health on :8080 (the kubeadm liveness probe) answers 200. */
  get healthy(): boolean {
    return this.server.healthy;
  }

  get stats(): ServerStats {
    return this.server.stats;
  }

  /** Share of the replica's cores busy since it started. */
  cpuUtilisation(now?: Nanos): number {
    return this.server.cpuUtilisation(now);
  }

  /** The cache plugin's state (tests and metrics). */
  get cache() {
    return this.server.cache('.');
  }
}
