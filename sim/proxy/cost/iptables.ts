import { ruleWalkNs } from '../../cost/cost-model.ts';
import type { ExternalSyncCounts, FirstPacketCost, FirstPacketInput, KernelObjects, ModeModel, ModeOptions, SyncCost, SyncWork } from './mode-model.ts';
import { iptablesKernelBytes } from './kernel-memory.ts';
import { clusterIPVerdict, isClusterIPDefault } from './external-path.ts';
import { iptablesPathCost } from './iptables-external.ts';

/**
 * iptables mode as kube-proxy (v1.33+, pkg/proxy/iptables/proxier.go) programs it for ClusterIP
 * service ports with a cluster CIDR configured (the local detector), with or without ClientIP affinity.
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
 *   filter FORWARD: 4 kube-proxy jumps; KUBE-FORWARD: 3 rules that do not match a NEW packet
 *   (ctstate INVALID drop, masquerade-mark accept, RELATED,ESTABLISHED accept: writeIptablesRules
 *   in pkg/proxy/iptables/proxier.go); KUBE-PROXY-FIREWALL and KUBE-EXTERNAL-SERVICES are empty
 *   for ClusterIP-only services;
 *   filter KUBE-SERVICES: one REJECT rule per port without endpoints;
 *   nat POSTROUTING: 1 jump; KUBE-POSTROUTING: 1 RETURN.
 * KUBE-SERVICES is written in Go map order, which changes every sync, so a service's position is
 * uniform over the chain and redrawn per node per sync.
 *
 * sessionAffinity ClientIP (writeServiceToEndpointRules in pkg/proxy/iptables/proxier.go): KUBE-SVC-X
 * starts, after the masquerade check, with one `-m recent --name KUBE-SEP-Y --rcheck --seconds T
 * --reap -j KUBE-SEP-Y` rule per endpoint, in endpoint order, before the statistic rules, and each
 * KUBE-SEP-Y's DNAT rule gains `-m recent --name KUBE-SEP-Y --set`. A first packet walks the rcheck
 * rules up to the endpoint whose list holds its source address (and skips the statistic rules) or,
 * on a miss, all n of them and then the statistic rules: each rcheck rule evaluates its comment and
 * recent matches, the DNAT rule one more (--set). Lines per port: 3 + 5n.
 *
 * Above 1000 endpoints (large-cluster mode) the per-endpoint rules lose their comments, one match
 * less per KUBE-SVC rule walked and in KUBE-SEP (FirstPacketInput.largeCluster).
 */
/**
 * Lines of every restore whatever the services: *filter, its 6 chain lines, KUBE-FIREWALL's rule and
 * KUBE-FORWARD's 3, COMMIT; *nat, its 4 chain lines, KUBE-POSTROUTING's 3 rules, KUBE-MARK-MASQ's, the
 * KUBE-NODEPORTS jump at the end of KUBE-SERVICES, COMMIT (the iptables proxier's output for no
 * services; iptables.test.ts checks the whole count against it).
 */
const BASE_LINES = 23;
/**
 * Rules walked in each hook whatever the service's place (the walk's cost is charged per hook:
 * ruleWalkNs): nat PREROUTING's jump, the SVC masquerade check and the SEP's 2 rules; filter
 * FORWARD's 4 jumps and KUBE-FORWARD's 3; nat POSTROUTING's jump and KUBE-POSTROUTING's RETURN.
 */
const PREROUTING_FIXED_RULES = 1 + 1 + 2;
const FORWARD_FIXED_RULES = 4 + 3;
const POSTROUTING_RULES = 1 + 1;
const HOOKS = 3; // PREROUTING, FORWARD, POSTROUTING
/**
 * Extension matches evaluated on the path (comment, tcp, mark, conntrack, addrtype: every rule whose
 * addresses matched runs its -m modules until one fails), besides those of the per-endpoint rules
 * (KUBE-SVC jumps, KUBE-SEP DNAT), which endpointMatches counts. Rules that fail on `-d` or `-s`
 * never reach their modules. Counted against the netfilter model walking kube-proxy's own rule set
 * (iptables.test.ts).
 */
const FIXED_MATCHES = 18;
/** Jumps into user chains: 3 in nat PREROUTING (KUBE-SERVICES, SVC, SEP), 4 in filter FORWARD, 1 to KUBE-POSTROUTING. */
const JUMPS = 8;
/**
 * A Service without endpoints is rejected in filter FORWARD, so POSTROUTING never runs: two hooks,
 * jumps to nat KUBE-SERVICES and to three filter chains, and the modules of the rules whose
 * addresses matched on the way (counted like the above). The conntrack entry is still allocated in
 * PREROUTING and freed with the rejected packet.
 */
const NO_ENDPOINT_HOOKS = 2;
const NO_ENDPOINT_MATCHES = 15;
const NO_ENDPOINT_JUMPS = 4;

/**
 * What external Services add to a full restore (pkg/proxy/iptables/proxier.go syncProxyRules):
 * `chains`, the `:KUBE-EXT/FW/SVL` lines; `rules`, their rules and the shared chains' ones: per node
 * port two KUBE-NODEPORTS rules (the nfacct localhost one and the other), per LB IP and external IP
 * a KUBE-SERVICES rule, per EXT chain the masquerade and SVC jump (Cluster) or the pod and two
 * LOCAL rules (Local) and the SVL jump when there are local endpoints, per SVL chain its statistic
 * (and rcheck) rules, per FW chain one rule per range and the comment-only one, per firewalled LB IP
 * a KUBE-PROXY-FIREWALL DROP, per refused destination a KUBE-EXTERNAL-SERVICES DROP or REJECT, per
 * health check node port a filter ACCEPT. `shared`: the rules of the chains every sync rewrites
 * whole (KUBE-NODEPORTS, KUBE-SERVICES, the filter chains).
 */
export function iptablesExternalLines(e: ExternalSyncCounts | undefined, affinity = false): { chains: number; rules: number; shared: number } {
  if (!e) return { chains: 0, rules: 0, shared: 0 };
  const shared = 2 * e.nodePorts + e.loadBalancerIPs + e.externalIPs + e.firewalledIPs + e.refusedAddresses + e.refusedNodePorts + e.healthCheckNodePorts;
  const ext = 2 * (e.externalPorts - e.localPolicyPorts) + 3 * e.localPolicyPorts + e.localPolicyPortsWithLocalEndpoints;
  const svl = e.localPolicyEndpoints * (affinity ? 2 : 1);
  const fw = e.sourceRanges + e.firewalledPorts;
  return { chains: e.externalPorts + e.localPolicyPortsWithLocalEndpoints + e.firewalledPorts, rules: shared + ext + svl + fw, shared };
}

/** restore lines of one service port with `endpoints` endpoints (with affinity: a rcheck rule each). */
export function iptablesLinesPerService(endpoints: number, affinity = false): number {
  return endpoints === 0 ? 1 : 3 + (affinity ? 5 : 4) * endpoints;
}

export function iptablesModel({ costs, iptablesBackend: b, sessionAffinity = false }: ModeOptions): ModeModel {
  /** Rules per endpoint: SEP's two, the SVC statistic jump, and with affinity the SVC rcheck jump. */
  const perEndpoint = sessionAffinity ? 4 : 3;
  /** Endpoints with affinity's rcheck rule: all, or those SyncWork.affinityEndpoints counts. */
  const withAffinity = (some = 0) => (sessionAffinity ? 0 : some);
  // Per port with endpoints: its KUBE-SERVICES jump and SVC masquerade check; without: one REJECT / DROP.
  const rules = (services: number, endpoints: number, without = 0, some = 0) => (services - without) * 2 + without + endpoints * perEndpoint + withAffinity(some) + 20;
  const postroutingWalkNs = ruleWalkNs(costs, b, POSTROUTING_RULES);
  return {
    mode: 'iptables',
    selection: 'random',
    natInConntrack: true,
    activationLagNs: 0,
    affinityStore: 'xt_recent',
    // serviceContext in pkg/proxy/iptables/proxier.go: internal Local without local endpoints ->
    // `-j DROP` with comment "... has no local endpoints" in filter KUBE-SERVICES.
    noLocalEndpoints: 'drop',
    syncCost(w: SyncWork): SyncCost {
      let lines = BASE_LINES;
      const ext = iptablesExternalLines(w.external, sessionAffinity);
      if (w.full) {
        lines += (w.services - w.servicesWithoutEndpoints) * 3 + w.servicesWithoutEndpoints + (perEndpoint + 1) * w.endpoints + withAffinity(w.affinityEndpoints);
        lines += ext.chains + ext.rules;
      } else {
        // The shared chains' external rules are rewritten whole; a changed port's own EXT, FW and
        // SVL chains are not counted (SyncWork.changed does not say which ports are external).
        lines += ext.shared;
        // KUBE-SERVICES and filter's rejects are rewritten whole: one line per unchanged port.
        lines += w.services - w.changed.length;
        for (const c of w.changed) {
          const kept = c.kept ?? Math.min(c.before, c.after);
          // The changed port's chains and rules (its KUBE-SERVICES jump included), or its REJECT.
          lines += c.after === 0 ? 1 : 3 + (perEndpoint + (c.affinity && !sessionAffinity ? 1 : 0) + 1) * c.after;
          // ":KUBE-SEP-Z" + "-X KUBE-SEP-Z" per endpoint chain gone, removed or replaced; the same for
          // the port's KUBE-SVC chain when it lost its last endpoint (pkg/proxy/iptables/proxier.go
          // deletes every chain in the kernel the sync no longer writes).
          lines += 2 * (c.before - kept) + (c.after === 0 && c.before > 0 ? 2 : 0);
        }
      }
      const existing = rules(w.services, w.endpoints, w.servicesWithoutEndpoints, w.affinityEndpoints) + ext.rules;
      // Each line costs more the larger the table (CostModel.restoreNsPerLinePerRule says why): a
      // full sync of N services takes time of order N^2.
      const durationNs = costs.restoreBaseNs[b] + lines * (costs.restoreNsPerLine[b] + existing * costs.restoreNsPerLinePerRule[b]) + existing * costs.restoreNsPerExistingRule[b];
      return { durationNs, units: lines };
    },
    firstPacket(p: FirstPacketInput): FirstPacketCost {
      // Every path but a pod's to a ClusterIP on a node without external Services: iptables-external.ts.
      if (!isClusterIPDefault(p)) return iptablesPathCost(costs, b, p);
      const verdict = clusterIPVerdict(p);
      if (p.endpoints === 0) {
        // No nat rule for the port: PREROUTING walks the whole nat KUBE-SERVICES (ending in the
        // KUBE-NODEPORTS addrtype jump); FORWARD its first three jumps, KUBE-FORWARD's 3 rules and
        // filter KUBE-SERVICES down to the port's REJECT.
        const prerouting = 1 + (p.services - p.servicesWithoutEndpoints + 1);
        const forward = 3 + 3 + ((p.position % Math.max(1, p.servicesWithoutEndpoints)) + 1);
        const walkNs = ruleWalkNs(costs, b, prerouting) + ruleWalkNs(costs, b, forward);
        const costNs = NO_ENDPOINT_HOOKS * costs.hookNs + walkNs + NO_ENDPOINT_MATCHES * costs.perMatchNs + NO_ENDPOINT_JUMPS * costs.chainJumpNs + costs.conntrackInsertNs;
        const parts = { hooksNs: NO_ENDPOINT_HOOKS * costs.hookNs, conntrackNs: costs.conntrackInsertNs, modeNs: walkNs + NO_ENDPOINT_MATCHES * costs.perMatchNs + NO_ENDPOINT_JUMPS * costs.chainJumpNs };
        return { rulesVisited: prerouting + forward, lookups: 0, costNs, parts, verdict };
      }
      const prerouting = PREROUTING_FIXED_RULES + (p.position + 1) + serviceChainRules(p);
      const forward = FORWARD_FIXED_RULES + p.servicesWithoutEndpoints;
      const walkNs = ruleWalkNs(costs, b, prerouting) + ruleWalkNs(costs, b, forward) + postroutingWalkNs;
      const costNs = HOOKS * costs.hookNs + walkNs + endpointMatches(p) * costs.perMatchNs + JUMPS * costs.chainJumpNs + costs.conntrackInsertNs;
      const rulesVisited = prerouting + forward + POSTROUTING_RULES;
      const parts = { hooksNs: HOOKS * costs.hookNs, conntrackNs: costs.conntrackInsertNs, modeNs: walkNs + endpointMatches(p) * costs.perMatchNs + JUMPS * costs.chainJumpNs };
      return { rulesVisited, lookups: 0, costNs, parts, verdict };
    },
    laterPacketNs: () => HOOKS * costs.hookNs + costs.conntrackLookupNs,
    // A later packet follows its conntrack entry: the hooks and the lookup, no rule.
    laterPacketParts: () => ({ hooksNs: HOOKS * costs.hookNs, conntrackNs: costs.conntrackLookupNs, modeNs: 0 }),
    kernelObjects(services: number, endpoints: number, without = 0, external?: ExternalSyncCounts, affinityEndpoints = 0): KernelObjects {
      const r = rules(services, endpoints, without, affinityEndpoints) + iptablesExternalLines(external, sessionAffinity).rules;
      const memoryBytes = iptablesKernelBytes(b, { ports: services - without, without, endpoints, affinity: sessionAffinity, affinityEndpoints });
      return { rules: r, setElements: 0, ipvsServers: 0, memoryBytes };
    },
  };
}

/** KUBE-SVC-X rules after its masquerade check: rcheck rules (affinity), then statistic rules unless a rcheck hit. */
function serviceChainRules(p: FirstPacketInput): number {
  const a = p.affinity;
  if (!a) return p.chosen + 1;
  return a.checked + (a.hit ? 0 : p.chosen + 1);
}

/**
 * Extension matches with endpoints: the fixed ones outside the per-endpoint rules; the KUBE-SEP DNAT
 * rule's comment; the statistic rules walked (each its comment, and its statistic match unless it is
 * the last); with affinity, each rcheck rule walked (comment, recent) and the DNAT rule's --set. An
 * affinity hit walks no statistic rule. In large-cluster mode the per-endpoint rules carry no
 * comment.
 */
function endpointMatches(p: FirstPacketInput): number {
  const comment = p.largeCluster ? 0 : 1;
  const a = p.affinity;
  const statistic = a?.hit ? 0 : (p.chosen + 1) * comment + p.chosen + (p.chosen < p.endpoints - 1 ? 1 : 0);
  return FIXED_MATCHES + comment + statistic + (a ? a.checked * (comment + 1) + 1 : 0);
}
