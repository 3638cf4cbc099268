import { InputError } from '../io/input-error.ts';
import { SECOND } from '../engine/time.ts';
import type { DnsRunConfig } from '../run/dns-config.ts';
import type { RunPointInput } from './run-point-contract.ts';
import { DNS_AUTOSCALER_DEFAULTS, linearReplicas } from '../dns/coredns/autoscaler.ts';

/**
 * The `dns:` and `kernel:` sections onto the run's DnsRunConfig (undefined without `dns:`), and what
 * a run cannot honour refused with the field named.
 */

/** kubelet's ClusterFirst options line: `options ndots:5` (pkg/kubelet/network/dns/dns.go defaultDNSOptions). */
const KUBELET_NDOTS = 5;
/** glibc resolv/resolv.h RES_TIMEOUT (5 s) and RES_DFLRETRY (2); musl and Go use the same defaults. */
const DEFAULT_TIMEOUT_NS = 5 * SECOND;
const DEFAULT_ATTEMPTS = 2;
/** kubeadm's CoreDNS Deployment (cmd/kubeadm/app/phases/addons/dns/dns.go coreDNSReplicas). */
const KUBEADM_COREDNS_REPLICAS = 2;
/** The kernel a run assumes without `kernel:`: 5.10, the oldest with clash entries and clash_resolve (sim/conntrack/kernel-version.ts). */
const DEFAULT_KERNEL = { major: 5, minor: 10 };

export function dnsRunConfig(input: RunPointInput, nodes: number, cpusPerNode: number): DnsRunConfig | undefined {
  const s = input.scenario;
  const d = s.dns;
  const rollsCoreDns = s.churn.findIndex((c) => c.target === 'coredns');
  if (!d && rollsCoreDns >= 0) throw new InputError(`churn[${rollsCoreDns}].target`, 'a `dns:` section too (CoreDNS runs only in runs with DNS)', 'coredns');
  if (!d) {
    if (s.kernel) throw new InputError('kernel', 'a `dns:` section too (the kernel version only changes how DNS lookups race in conntrack)', 'kernel without dns');
    return undefined;
  }
  if (s.cluster.manifests !== undefined) throw new InputError('dns', 'a synthetic cluster (cluster.services): runs add the kube-dns Service and CoreDNS to it', 'dns with cluster.manifests');
  const o = d.options ?? {};
  const timeout = o.timeout ?? DEFAULT_TIMEOUT_NS;
  if (timeout % SECOND !== 0 || timeout < SECOND || timeout > 30 * SECOND)
    throw new InputError('dns.options.timeout', 'whole seconds from 1s to 30s (glibc RES_MAXRETRANS)', `${timeout / SECOND}s`);
  if (d.nodeLocalCache && (s.proxy.mode === 'ipvs' || s.proxy.mode === 'ebpf' || s.proxy.mode === 'userspace'))
    // KEP-1024: the NOTRACK rules that let node-cache take the kube-dns traffic work with kube-proxy's iptables (and nftables) rules only.
    throw new InputError('dns.nodeLocalCache', `false with proxy.mode ${s.proxy.mode} (NodeLocal DNSCache's NOTRACK interception is modelled for the iptables and nftables modes)`, 'true');
  const c = d.coredns;
  return {
    resolver: d.resolver,
    options: {
      ndots: o.ndots ?? KUBELET_NDOTS,
      timeoutNs: timeout,
      attempts: o.attempts ?? DEFAULT_ATTEMPTS,
      singleRequest: o.singleRequest ?? false,
      singleRequestReopen: o.singleRequestReopen ?? false,
      useVc: o.useVc ?? false,
    },
    nodeLocalCache: d.nodeLocalCache,
    lookupsPerSecond: d.lookupsPerSecond,
    names: { ...d.names },
    coredns: {
      replicas: c.replicas ?? (c.autoscaler ? autoscaledReplicas(c.autoscaler.linear, nodes, cpusPerNode) : KUBEADM_COREDNS_REPLICAS),
      cacheClusterLocal: c.cacheClusterLocal,
      cacheSize: c.cacheSize,
      maxConcurrent: c.maxConcurrent,
      lameduckNs: c.lameduck,
      upstreamLatency: c.upstream.latency,
      upstreamLoss: c.upstream.loss,
    },
    kernel: s.kernel?.version ?? DEFAULT_KERNEL,
    nodeCpus: cpusPerNode,
    sendPattern: d.sendPattern,
  };
}

/** The dns-autoscaler's linear mode (sim/dns/coredns/autoscaler.ts) over the run's nodes, all schedulable. */
function autoscaledReplicas(p: { coresPerReplica: number; nodesPerReplica: number; min: number; max?: number | undefined; preventSinglePointFailure: boolean }, nodes: number, cpusPerNode: number): number {
  const size = { schedulableNodes: nodes, schedulableCores: nodes * cpusPerNode, totalNodes: nodes, totalCores: nodes * cpusPerNode };
  return linearReplicas({ ...DNS_AUTOSCALER_DEFAULTS, ...p, max: p.max ?? 0 }, size);
}
