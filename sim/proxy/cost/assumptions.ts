import { PROXY_MODES, type ProxyMode } from '../mode.ts';

/**
 * What the comparison modes assume, in the words a report prints (reports take them through the
 * study's assumptions). Each sentence matches the model's code: ebpf.ts and
 * sync/cilium-agent.ts; userspace.ts and sync/userspace-proxier.ts.
 */
const MODE_ASSUMPTIONS: Partial<Record<ProxyMode, string>> = {
  ebpf:
    'ebpf is a Cilium-like comparison mode, not kube-proxy: socket-level load balancing (three BPF map lookups at connect(): service, backend slot, backend; no NAT conntrack entry on the client node, random backend choice), Cilium\'s tc program with its own CT map on every packet, and the host\'s netfilter hooks and conntrack still in the path (legacy host routing, Cilium\'s default without BPF masquerading). ' +
    'Its agent has no minSyncPeriod: it applies the changes it has heard in rounds, one after another, each taking the agent lag (costs.ebpfAgentLagNs) plus one BPF map update (costs.ebpfMapUpdateNs) per changed backend and per changed service; sync failures and the periodic map prune are not modelled.',
  userspace:
    'userspace is the proxy kube-proxy had until 1.26: every packet goes through the kube-proxy process (costs.userspaceHopNs), endpoints are chosen round robin. ' +
    'Endpoint changes go straight to its in-memory balancer (costs.userspaceBalancerUpdateNs per service port, no minSyncPeriod); its sync loop (minSyncPeriod, at least once per syncPeriod) only ensures the iptables portals, one `iptables` process per rule checked or appended (costs.singleUpdateBaseNs plus costs.singleUpdateNsPerRule per rule in the table), and at start-up opens a proxy socket per service port (costs.userspaceSocketOpenNs).',
};

/**
 * What each mode adds to the parts every mode pays (PacketCostParts in mode-model.ts: the hooks
 * and the connection tracking), in the words of the accounting sentence.
 */
const MODE_PART: Record<ProxyMode, string> = {
  iptables: 'iptables its rule walk on the first packet (costs.perRuleNs, perRuleLogNs, perMatchNs, chainJumpNs)',
  ipvs: 'ipvs its iptables rules and ipset lookups and the IPVS lookup and scheduler on the first packet (costs.nftLookupNs, ipvsScheduleNs)',
  nftables: 'nftables its rules and map lookups on the first packet (costs.nftRuleNs, nftLookupNs)',
  ebpf: 'ebpf three BPF map lookups at connect() (costs.ebpfLookupNs), and on every packet its tc program with a lookup in its own CT map, on the first one an insert (costs.ebpfDatapathNs, ebpfCtCreateNs), counted with conntrack',
  userspace: 'userspace its portal rules on the first packet and the hop through the proxy process on every packet (costs.userspaceHopNs)',
};

/** The CPU accounting every mode shares, and each present mode's own part (a study comparing modes prints it). */
function accountingSentence(present: Set<ProxyMode>): string {
  const parts = PROXY_MODES.filter((m) => present.has(m)).map((m) => MODE_PART[m]);
  return (
    'CPU per new connection (cpuPerConnection) and first-packet latency count, for every packet on the client\'s node, the netfilter hooks it crosses (costs.hookNs each) and its connection tracking (costs.conntrackLookupNs, conntrackInsertNs for the first packet), which every mode pays, and what the mode adds: ' +
    `${parts.join('; ')}. The network stack itself (socket, routing, device) is the same in every mode and not counted.`
  );
}

/** The assumption sentences of the modes among `modes`, in a fixed order: the accounting when there are several, then the comparison modes'. */
export function modeAssumptions(modes: Iterable<ProxyMode>): string[] {
  const present = new Set(modes);
  const own = (['ebpf', 'userspace'] as const).filter((m) => present.has(m)).map((m) => MODE_ASSUMPTIONS[m]!);
  return present.size > 1 ? [accountingSentence(present), ...own] : own;
}
