import type { FirstPacketCost, FirstPacketInput, KernelObjects, ModeModel, ModeOptions, SyncCost, SyncWork } from './mode-model.ts';

/**
 * nftables mode as kube-proxy (pkg/proxy/nftables/proxier.go) programs it: one table `ip kube-proxy`
 * where service dispatch is a verdict-map lookup (`ip daddr . meta l4proto . th dport vmap
 * @service-ips`) and endpoint choice is `numgen random mod N vmap { ... }`, so the first packet's
 * cost does not depend on the number of services.
 *
 * The first packet of a pod-to-ClusterIP connection: filter-prerouting `ct state new jump
 * firewall-check` (a vmap lookup in firewall-ips), nat-prerouting `jump services` (the service-ips
 * vmap lookup), the service chain (masquerade check, numgen vmap), the endpoint chain (masquerade
 * check, dnat), filter-forward's service-endpoints-check (no-endpoint-services vmap) and
 * cluster-ips-check (cluster-ips set), nat-postrouting's masquerading chain (mark test, return).
 *
 * The transaction (`nft -f`) per service port with n endpoints: add + flush of the service chain and
 * its 2 rules, the service-ips element, and per endpoint add + flush of its chain and 2 rules:
 * 5 + 4n lines. Unlike iptables, a partial sync touches only changed chains and map elements; stale
 * endpoint chains are deleted (1 line each).
 */
const BASE_LINES = 60;
const RULES = 10;
const LOOKUPS = 5;
const HOOKS = 3;
/** Kernel memory per nft rule (~250 bytes with expressions) and per set/map element (~100 bytes). */
const RULE_BYTES = 250;
const ELEMENT_BYTES = 100;

export function nftablesModel({ costs }: ModeOptions): ModeModel {
  return {
    mode: 'nftables',
    selection: 'random',
    natInConntrack: true,
    activationLagNs: 0,
    syncCost(w: SyncWork): SyncCost {
      let lines = BASE_LINES;
      if (w.full) lines += 5 * (w.services - w.servicesWithoutEndpoints) + 2 * w.servicesWithoutEndpoints + 4 * w.endpoints;
      else
        for (const c of w.changed) {
          lines += c.after === 0 ? 2 : 5 + 4 * c.after;
          lines += Math.max(0, c.before - c.after);
        }
      return { durationNs: costs.nftTransactionBaseNs + lines * costs.nftNsPerLine, units: lines };
    },
    firstPacket(p: FirstPacketInput): FirstPacketCost {
      // Without endpoints, the no-endpoint-services vmap rejects in filter: fewer rules, same lookups.
      const rulesVisited = p.endpoints === 0 ? 4 : RULES;
      const costNs = HOOKS * costs.hookNs + rulesVisited * costs.nftRuleNs + LOOKUPS * costs.nftLookupNs + costs.conntrackInsertNs;
      return { rulesVisited, lookups: LOOKUPS, costNs };
    },
    laterPacketNs: () => HOOKS * costs.hookNs + costs.conntrackLookupNs,
    kernelObjects(services: number, endpoints: number): KernelObjects {
      const rules = 2 * services + 2 * endpoints + 30;
      const setElements = 2 * services + endpoints; // service-ips, cluster-ips, numgen vmap entries
      return { rules, setElements, memoryBytes: rules * RULE_BYTES + setElements * ELEMENT_BYTES };
    },
  };
}
