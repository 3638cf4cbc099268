import type { FirstPacketCost, FirstPacketInput, KernelObjects, ModeModel, ModeOptions, SyncCost, SyncWork } from './mode-model.ts';

/**
 * iptables mode as kube-proxy (v1.33+, pkg/proxy/iptables/proxier.go) programs it for ClusterIP
 * service ports with a cluster CIDR configured (the local detector) and no session affinity.
 *
 * Lines kube-proxy feeds to `iptables-restore --noflush` per service port with n endpoints:
 *   :KUBE-SVC-X and n x :KUBE-SEP-Y chain lines      1 + n
 *   -A KUBE-SERVICES ... -j KUBE-SVC-X                1
 *   -A KUBE-SVC-X ! -s CLUSTER_CIDR ... KUBE-MARK-MASQ, then n statistic/jump rules   1 + n
 *   -A KUBE-SEP-Y -s POD_IP -j KUBE-MARK-MASQ, -A KUBE-SEP-Y ... -j DNAT             2n
 * i.e. 3 + 4n; a port without endpoints gets one REJECT rule in filter KUBE-SERVICES instead.
 * A partial sync (MinimizeIPTablesRestore, GA in 1.28) rewrites KUBE-SERVICES whole but only the
 * SVC/SEP chains of changed services, plus `-X` lines for the endpoint chains that went away.
 *
 * The first packet of a connection from a pod to a ClusterIP (forwarded by the node) walks:
 *   nat PREROUTING: 1 jump to KUBE-SERVICES; KUBE-SERVICES: position + 1 rules; KUBE-SVC-X: the
 *   masquerade check + (chosen + 1) statistic rules; KUBE-SEP-Y: 2 rules;
 *   filter FORWARD: 4 kube-proxy jumps; KUBE-FORWARD: 4 rules that do not match a NEW packet;
 *   filter KUBE-SERVICES: one REJECT rule per port without endpoints;
 *   nat POSTROUTING: 1 jump; KUBE-POSTROUTING: 1 RETURN.
 * KUBE-SERVICES is written in Go map order, which changes every sync, so a service's position is
 * uniform over the chain and redrawn per node per sync.
 */
const BASE_LINES = 36; // table headers, COMMITs, fixed chains and their rules (kube-proxy's "base" rule set)
const FIXED_RULES = 1 + 1 + 2 + 4 + 4 + 1 + 1; // PREROUTING jump, SVC masq check, SEP rules, FORWARD jumps, KUBE-FORWARD, POSTROUTING jump, RETURN
const HOOKS = 3; // PREROUTING, FORWARD, POSTROUTING
const CHAINS = 10;
/** Kernel memory per iptables rule: struct ipt_entry (112 bytes) plus matches and target, ~300 bytes. */
const RULE_BYTES = 300;

export function iptablesLinesPerService(endpoints: number): number {
  return endpoints === 0 ? 1 : 3 + 4 * endpoints;
}

export function iptablesModel({ costs, iptablesBackend: b }: ModeOptions): ModeModel {
  const rules = (services: number, endpoints: number) => services * 2 + endpoints * 3 + 20;
  return {
    mode: 'iptables',
    selection: 'random',
    natInConntrack: true,
    activationLagNs: 0,
    syncCost(w: SyncWork): SyncCost {
      let lines = BASE_LINES;
      if (w.full) {
        lines += (w.services - w.servicesWithoutEndpoints) * 3 + w.servicesWithoutEndpoints + 4 * w.endpoints;
      } else {
        lines += w.services; // KUBE-SERVICES (and filter rejects) rewritten whole
        for (const c of w.changed) {
          lines += c.after === 0 ? 0 : 2 + 4 * c.after; // chains and rules of the changed port
          lines += 2 * Math.max(0, c.before - c.after); // ":KUBE-SEP-Z" + "-X KUBE-SEP-Z" for stale chains
        }
      }
      const existing = rules(w.services, w.endpoints);
      const durationNs = costs.restoreBaseNs[b] + lines * costs.restoreNsPerLine[b] + existing * costs.restoreNsPerExistingRule[b];
      return { durationNs, units: lines };
    },
    firstPacket(p: FirstPacketInput): FirstPacketCost {
      const rulesVisited =
        p.endpoints === 0
          ? // No nat rule for the port: the whole nat KUBE-SERVICES (ending in the KUBE-NODEPORTS
            // addrtype jump), then FORWARD's first jumps and the REJECT in filter KUBE-SERVICES.
            1 + (p.services - p.servicesWithoutEndpoints + 1) + 2 + 4 + ((p.position % Math.max(1, p.servicesWithoutEndpoints)) + 1)
          : FIXED_RULES + (p.position + 1) + (p.chosen + 1) + p.servicesWithoutEndpoints;
      const costNs =
        HOOKS * costs.hookNs + rulesVisited * costs.perRuleNs[b] + CHAINS * costs.chainJumpNs + costs.conntrackInsertNs;
      return { rulesVisited, lookups: 0, costNs };
    },
    laterPacketNs: () => HOOKS * costs.hookNs + costs.conntrackLookupNs,
    kernelObjects(services: number, endpoints: number): KernelObjects {
      const r = rules(services, endpoints);
      return { rules: r, setElements: 0, memoryBytes: r * RULE_BYTES };
    },
  };
}
