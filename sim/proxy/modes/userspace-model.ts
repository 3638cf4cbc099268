import type { FirstPacketCost, FirstPacketInput, KernelObjects, ModeModel, ModeOptions, SyncCost, SyncWork } from './mode-model.ts';

/**
 * A comparison mode: the userspace proxy kube-proxy had until 1.26 (pkg/proxy/userspace, removed).
 * Each service port had a proxy socket on the node; iptables chains KUBE-PORTALS-CONTAINER and
 * KUBE-PORTALS-HOST held one REDIRECT rule per service port (a linear walk), and every packet was
 * copied through the kube-proxy process (userspaceHopNs each way). Endpoints were chosen round robin
 * in memory; endpoint changes updated the in-memory balancer without touching iptables, while a
 * service change ran one `iptables -A/-D` per rule (cost grows with the table). sessionAffinity
 * ClientIP lived in the same balancer (pkg/proxy/userspace/roundrobin.go: a map from client IP to
 * endpoint and last use, honoured while younger than stickyMaxAgeSeconds, entries of removed
 * endpoints dropped on the endpoints update), an in-memory lookup within the proxy hop's cost.
 */
const FIXED_RULES = 2;
const HOOKS = 2;
const RULE_BYTES = 300;
/** Updating one service's in-memory balancer (assumption: a lock and a slice copy, ~10us). */
const IN_MEMORY_UPDATE_NS = 10_000;

export function userspaceModel({ costs, iptablesBackend: b }: ModeOptions): ModeModel {
  return {
    mode: 'userspace',
    selection: 'round-robin',
    natInConntrack: true,
    activationLagNs: 0,
    affinityStore: 'timeout',
    // Never reached: the userspace proxy had no internalTrafficPolicy (run-point refuses the pair).
    noLocalEndpoints: 'reject',
    syncCost(w: SyncWork): SyncCost {
      // Endpoint changes only touch the proxy's memory; a full sync re-ensures every portal rule.
      // Each `iptables` call swaps the whole table, so it costs in proportion to the table's size.
      const rules = w.full ? 2 * w.services : 0;
      const tableRules = 2 * w.services;
      const durationNs = rules * costs.singleUpdateNsPerRule[b] * tableRules + w.changed.length * IN_MEMORY_UPDATE_NS;
      return { durationNs, units: rules };
    },
    firstPacket(p: FirstPacketInput): FirstPacketCost {
      const rulesVisited = FIXED_RULES + p.position + 1;
      const costNs = HOOKS * costs.hookNs + rulesVisited * costs.perRuleNs[b] + costs.conntrackInsertNs + costs.userspaceHopNs;
      return { rulesVisited, lookups: 0, costNs };
    },
    laterPacketNs: () => HOOKS * costs.hookNs + costs.conntrackLookupNs + costs.userspaceHopNs,
    kernelObjects(services: number): KernelObjects {
      return { rules: 2 * services, setElements: 0, ipvsServers: 0, memoryBytes: 2 * services * RULE_BYTES };
    },
  };
}
