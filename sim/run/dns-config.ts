import type { Distribution } from '../engine/distribution.ts';
import type { KernelVersion } from '../conntrack/kernel-version.ts';
import type { SendPattern } from '../conntrack/clash-timing.ts';

/**
 * What a run with DNS needs, resolved (ns, defaults applied): the clients' resolver and its
 * resolv.conf options, the lookups they make, CoreDNS behind kube-dns, NodeLocal DNSCache and the
 * nodes' kernel. `ModelConfig.dns` is undefined in runs without DNS, which then have no kube-dns
 * Service, no lookups and no DNS columns.
 */
export type ResolverLibrary = 'glibc' | 'musl' | 'go';
export type LookupNameKind = 'short' | 'otherNamespace' | 'fourDots' | 'external' | 'missingExternal';
export const LOOKUP_NAME_KINDS: readonly LookupNameKind[] = ['short', 'otherNamespace', 'fourDots', 'external', 'missingExternal'];

export interface ResolverOptions {
  ndots: number;
  timeoutNs: number;
  attempts: number;
  singleRequest: boolean;
  singleRequestReopen: boolean;
  useVc: boolean;
}

export interface DnsRunConfig {
  resolver: ResolverLibrary;
  /** The options the pods' resolv.conf carries (kubelet's ndots:5 unless the scenario says). */
  options: ResolverOptions;
  /** Whether the scenario set each option (a library default applies to the others: musl and Go read ndots 1 only without kubelet's line). */
  nodeLocalCache: boolean;
  lookupsPerSecond: number;
  /** Shares of each kind of name, adding up to 1. */
  names: Record<LookupNameKind, number>;
  coredns: {
    replicas: number;
    cacheClusterLocal: boolean;
    cacheSize: number;
    maxConcurrent: number;
    lameduckNs: number;
    upstreamLatency: Distribution;
    upstreamLoss: number;
  };
  /** The nodes' kernel release (sim/conntrack/kernel-version.ts clashRules). */
  kernel: KernelVersion;
  /** CPUs per node: the chance two datagrams of a race are handled on two of them (clash-timing.ts). */
  nodeCpus: number;
  /**
   * How the two datagrams of one socket reach conntrack (clash-timing.ts SendPattern): 'one-thread'
   * (glibc's sendmmsg, musl's sendto loop: the sending CPU handles both, measured) or 'threads' (the
   * case of the field reports and the kernel's udpclash selftest: each on any CPU).
   */
  sendPattern: SendPattern;
}
