import type { ProxyMode } from '../mode.ts';

/**
 * What the comparison modes assume, in the words a report prints (reports take them through the
 * study's assumptions). Each sentence matches the model's code: ebpf.ts and
 * sync/cilium-agent.ts; userspace.ts and sync/userspace-proxier.ts.
 */
const MODE_ASSUMPTIONS: Partial<Record<ProxyMode, string>> = {
  ebpf:
    'ebpf is a Cilium-like comparison mode, not kube-proxy: socket-level load balancing (one service-map and one backend-map lookup at connect(), no NAT conntrack entry on the client node, random backend choice). ' +
    'Its agent has no minSyncPeriod: it applies the changes it has heard in rounds, one after another, each taking the agent lag (costs.ebpfAgentLagNs) plus one BPF map update (costs.ebpfMapUpdateNs) per changed backend and per changed service; sync failures and the periodic map prune are not modelled.',
  userspace:
    'userspace is the proxy kube-proxy had until 1.26: every packet goes through the kube-proxy process (costs.userspaceHopNs), endpoints are chosen round robin. ' +
    'Endpoint changes go straight to its in-memory balancer (costs.userspaceBalancerUpdateNs per service port, no minSyncPeriod); its sync loop (minSyncPeriod, at least once per syncPeriod) only ensures the iptables portals, one `iptables` process per rule checked or appended (costs.singleUpdateBaseNs plus costs.singleUpdateNsPerRule per rule in the table), and at start-up opens a proxy socket per service port (costs.userspaceSocketOpenNs).',
};

/** The assumption sentences of the comparison modes among `modes`, in a fixed order. */
export function modeAssumptions(modes: Iterable<ProxyMode>): string[] {
  const present = new Set(modes);
  return (['ebpf', 'userspace'] as const).filter((m) => present.has(m)).map((m) => MODE_ASSUMPTIONS[m]!);
}
