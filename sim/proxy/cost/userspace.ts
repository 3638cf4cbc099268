import { ruleWalkNs } from '../../cost/cost-model.ts';
import { comparisonVerdict } from './external-path.ts';
import type { FirstPacketCost, FirstPacketInput, KernelObjects, ModeModel, ModeOptions, SyncCost, SyncWork } from './mode-model.ts';

/**
 * A comparison mode: the userspace proxy kube-proxy had until 1.26 (kubernetes/kubernetes v1.22
 * pkg/proxy/userspace, removed since). Each service port had a proxy socket on the node; iptables
 * chains KUBE-PORTALS-CONTAINER and KUBE-PORTALS-HOST held one REDIRECT rule per service port (a
 * linear walk), and every packet was copied through the kube-proxy process (userspaceHopNs each way).
 * Endpoints were chosen round robin in memory. sessionAffinity ClientIP lived in the same balancer
 * (pkg/proxy/userspace/roundrobin.go: a map from client IP to endpoint and last use, honoured while
 * younger than stickyMaxAgeSeconds, entries of removed endpoints dropped on the endpoints update), an
 * in-memory lookup within the proxy hop's cost.
 *
 * Updates (UserspaceProxier, sim/proxy/sync/userspace-proxier.ts, runs them):
 * - a partial sync is an endpoints update of the balancer: userspaceBalancerUpdateNs per changed
 *   service port, no iptables (units: service ports updated);
 * - a full sync is the proxier's syncProxyRules: iptablesInit ensures its 5 chains and 5 jump rules
 *   (proxier.go iptablesInit), then every service port's two portal rules are ensured
 *   (ensurePortals -> openOnePortal -> EnsureRule, i.e. `iptables -C`, and `-A` when missing). Each
 *   command is one `iptables` process: singleUpdateBaseNs plus singleUpdateNsPerRule per rule already
 *   in the nat table (a check reads the table as an append does; taken at the same cost). The
 *   start-up sync (`startup`) also opens every proxy socket (userspaceSocketOpenNs) and finds no
 *   portal: check then append for each, the table growing as it goes (units: iptables commands).
 */
const FIXED_RULES = 2;
const HOOKS = 2;
const RULE_BYTES = 300;
/** iptablesInit: KUBE-PORTALS-CONTAINER, KUBE-PORTALS-HOST, KUBE-NODEPORT-CONTAINER, KUBE-NODEPORT-HOST, KUBE-NODEPORT-NON-LOCAL and a jump to each. */
const INIT_CHAINS = 5;
const INIT_COMMANDS = 2 * INIT_CHAINS;
const PORTALS_PER_PORT = 2;

/** Commands and their summed table sizes for one portal sync of `services` service ports. */
export function portalSyncCommands(services: number, startup: boolean): { commands: number; rulesRead: number } {
  if (startup) {
    // Port k: check+append of the container portal on 5 + 2k rules, of the host portal on 5 + 2k + 1.
    const commands = INIT_COMMANDS + 2 * PORTALS_PER_PORT * services;
    const rulesRead = INIT_COMMANDS * INIT_CHAINS + 22 * services + 4 * services * (services - 1);
    return { commands, rulesRead };
  }
  const table = INIT_CHAINS + PORTALS_PER_PORT * services;
  const commands = INIT_COMMANDS + PORTALS_PER_PORT * services;
  return { commands, rulesRead: commands * table };
}

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
      if (!w.full) return { durationNs: w.changed.length * costs.userspaceBalancerUpdateNs, units: w.changed.length };
      const startup = w.startup === true;
      const { commands, rulesRead } = portalSyncCommands(w.services, startup);
      const durationNs = commands * costs.singleUpdateBaseNs[b] + rulesRead * costs.singleUpdateNsPerRule[b] + (startup ? w.services * costs.userspaceSocketOpenNs : 0);
      return { durationNs, units: commands };
    },
    firstPacket(p: FirstPacketInput): FirstPacketCost {
      const rulesVisited = FIXED_RULES + p.position + 1;
      // Charged as one walk: the portal chain's rules, which are nearly all of them, are walked in
      // one hook (nat PREROUTING's KUBE-PORTALS-CONTAINER).
      const costNs = HOOKS * costs.hookNs + ruleWalkNs(costs, b, rulesVisited) + costs.conntrackInsertNs + costs.userspaceHopNs;
      const parts = { hooksNs: HOOKS * costs.hookNs, conntrackNs: costs.conntrackInsertNs, modeNs: ruleWalkNs(costs, b, rulesVisited) + costs.userspaceHopNs };
      return { rulesVisited, lookups: 0, costNs, parts, verdict: comparisonVerdict(p, 'reject') };
    },
    laterPacketNs: () => HOOKS * costs.hookNs + costs.conntrackLookupNs + costs.userspaceHopNs,
    laterPacketParts: () => ({ hooksNs: HOOKS * costs.hookNs, conntrackNs: costs.conntrackLookupNs, modeNs: costs.userspaceHopNs }),
    kernelObjects(services: number): KernelObjects {
      return { rules: 2 * services, setElements: 0, ipvsServers: 0, memoryBytes: 2 * services * RULE_BYTES };
    },
  };
}
