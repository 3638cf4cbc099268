/**
 * The iptables mode's first packet on every path but today's pod-to-ClusterIP one: node ports,
 * load-balancer IPs (with their KUBE-FW chain), external IPs, and ClusterIPs reached from outside the
 * cluster CIDR, with --masquerade-all, or on a node whose external Services lengthen the shared
 * chains. It counts, hook by hook, the rules, extension matches and jumps of the walk through the
 * rules pkg/proxy/iptables/proxier.go writes (sim/proxy/iptables/ writes the same), with kube-proxy's
 * defaults: a cluster CIDR (the local-traffic detector), localhost node ports and nfacct, so each
 * node port has two KUBE-NODEPORTS rules, the `-d 127.0.0.0/8` nfacct one first.
 *
 * A packet from a pod or from outside enters nat PREROUTING -> KUBE-SERVICES. A ClusterIP, LB IP or
 * external IP is found at its own rule (`position`); a node port falls through every rule to the
 * last one, the `addrtype --dst-type LOCAL` jump to KUBE-NODEPORTS, where it is found at its node port
 * (`position` counts node ports). Then KUBE-FW (source ranges, in order; the comment-only last rule
 * when none holds the source), KUBE-EXT (Cluster: KUBE-MARK-MASQ, then KUBE-SVC; Local: the pod rule,
 * the two `--src-type LOCAL` rules, then KUBE-SVL when there are local endpoints), the policy chain's
 * masquerade check (only KUBE-SVC has one, for the ClusterIP) and its statistic rules, KUBE-SEP's two
 * rules and the DNAT. A packet the nat table does not rewrite goes on through the rest of the chains
 * it was in. Then filter FORWARD (a DNATed packet, or one to a non-local address) or INPUT (an
 * untranslated node port): KUBE-PROXY-FIREWALL, KUBE-FORWARD (which accepts a packet marked for
 * masquerade at its second rule), filter KUBE-SERVICES and KUBE-EXTERNAL-SERVICES, where a refused
 * destination meets its DROP or REJECT; then nat POSTROUTING (KUBE-POSTROUTING returns at once, or
 * clears the mark and masquerades). Counted against the netfilter model walking the generator's
 * rules (iptables.test.ts, "external paths").
 *
 * Every Service port is taken to have one protocol (that of the packet) and source ranges to be
 * disjoint and not to contain the node's address (which adds `-s LB_IP` rules to KUBE-FW).
 */
import { hookCostNs, type CostModel, type IptablesBackend } from '../../cost/cost-model.ts';
import { clusterIPVerdict, ruleModeExternalDecision } from './external-path.ts';
import type { ExternalRuleCounts, ExternalSyncCounts, FirstPacketCost, FirstPacketInput, FirstPacketVerdict } from './mode-model.ts';

export const NO_EXTERNAL_RULES: ExternalRuleCounts = {
  nodePorts: 0,
  loadBalancerIPs: 0,
  externalIPs: 0,
  firewalledIPs: 0,
  refusedAddresses: 0,
  refusedNodePorts: 0,
  healthCheckNodePorts: 0,
};

/** ExternalSyncCounts of a node whose Services are all ClusterIP. */
export const NO_EXTERNAL_SYNC: ExternalSyncCounts = {
  ...NO_EXTERNAL_RULES,
  externalPorts: 0,
  localPolicyPorts: 0,
  localPolicyPortsWithLocalEndpoints: 0,
  localPolicyEndpoints: 0,
  firewalledPorts: 0,
  sourceRanges: 0,
};

/** One hook's walk: rules visited, extension matches evaluated, jumps taken. */
class Hook {
  rules = 0;
  matches = 0;
  jumps = 0;
  /** `rules` rules, `matches` matches in all, `jumps` jumps. */
  add(rules: number, matches = 0, jumps = 0): void {
    this.rules += rules;
    this.matches += matches;
    this.jumps += jumps;
  }
}

/** The statistic cascade (and ClientIP rcheck rules) of a KUBE-SVC/SVL chain up to the jump, then KUBE-SEP's two rules. */
function policyChainAndEndpoint(h: Hook, p: FirstPacketInput, n: number, chosen: number): void {
  const comment = p.largeCluster ? 0 : 1;
  const a = p.affinity;
  if (a) h.add(a.checked, a.checked * (comment + 1));
  if (!a?.hit) h.add(chosen + 1, (chosen + 1) * comment + chosen + (chosen < n - 1 ? 1 : 0));
  h.add(0, 0, 1);
  // KUBE-SEP: the hairpin rule fails on its -s; the DNAT rule runs its comment, tcp (and recent --set).
  h.add(2, comment + 1 + (a ? 1 : 0));
}

/** nat PREROUTING: the jump to KUBE-SERVICES. */
function enterServices(h: Hook): void {
  h.add(1, 1, 1);
}

/** KUBE-SERVICES rules that fail on their -d, then the last one (addrtype LOCAL), jumping when `local`. */
function restOfServices(h: Hook, failing: number, local: boolean): void {
  h.add(failing + 1, 2, local ? 1 : 0);
}

/** KUBE-NODEPORTS rules of `ports` other node ports: the nfacct localhost rule fails on -d, the other on its tcp port. */
function otherNodePorts(h: Hook, ports: number): void {
  h.add(2 * ports, 2 * ports);
}

/** KUBE-MARK-MASQ: its MARK rule. */
function markMasq(h: Hook): void {
  h.add(1, 0, 0);
}

interface NatOutcome {
  dnat: boolean;
  marked: boolean;
}

/** KUBE-EXT-X, and what follows it when it sends the packet on. */
function externalChain(h: Hook, p: FirstPacketInput, verdict: FirstPacketVerdict): NatOutcome {
  const local = (p.externalTrafficPolicy ?? 'Cluster') === 'Local';
  const source = p.source ?? 'pod';
  if (!local) {
    h.add(1, 1, 1);
    markMasq(h);
    h.add(1, 0, 1);
    // KUBE-SVC's ClusterIP masquerade check fails on its -d.
    h.add(1, 0);
    policyChainAndEndpoint(h, p, p.endpoints, p.chosen);
    return { dnat: true, marked: true };
  }
  if (source === 'pod') {
    h.add(1, 1, 1);
    h.add(1, 0);
    policyChainAndEndpoint(h, p, p.endpoints, p.chosen);
    return { dnat: true, marked: false };
  }
  // The pod rule fails on -s; the two --src-type LOCAL rules on their addrtype.
  h.add(3, 4);
  if (verdict.kind !== 'dnat') return { dnat: false, marked: false };
  // KUBE-SVL: no masquerade check (internalTrafficPolicy Cluster).
  h.add(1, 0, 1);
  policyChainAndEndpoint(h, p, p.localEndpoints ?? 0, p.chosen);
  return { dnat: true, marked: false };
}

/** The nat PREROUTING walk of an external entry. */
function externalPrerouting(h: Hook, p: FirstPacketInput, n: ExternalRuleCounts, verdict: FirstPacketVerdict): NatOutcome {
  const natServices = p.services - p.servicesWithoutEndpoints + n.externalIPs + n.loadBalancerIPs;
  enterServices(h);
  const hasEndpoints = p.endpoints > 0;
  if (p.entry === 'nodePort') {
    restOfServices(h, natServices, true);
    if (!hasEndpoints) {
      otherNodePorts(h, n.nodePorts);
      return { dnat: false, marked: false };
    }
    otherNodePorts(h, p.position);
    // Its own: the nfacct localhost rule fails on -d; the other matches (comment, tcp) and jumps.
    h.add(2, 2, 1);
    const out = externalChain(h, p, verdict);
    if (!out.dnat) otherNodePorts(h, n.nodePorts - p.position - 1);
    return out;
  }
  if (!hasEndpoints) {
    restOfServices(h, natServices, false);
    return { dnat: false, marked: false };
  }
  // Its own rule in KUBE-SERVICES: comment, tcp, jump.
  h.add(p.position + 1, 2, 1);
  const ranges = p.entry === 'loadBalancer' ? p.sourceRange : undefined;
  let out: NatOutcome;
  if (ranges) {
    const allowed = ranges.allowedBy >= 0;
    // KUBE-FW: the ranges before the one that holds the source fail on -s; that one jumps to KUBE-EXT.
    h.add(allowed ? ranges.allowedBy + 1 : ranges.ranges, allowed ? 1 : 0, allowed ? 1 : 0);
    out = allowed ? externalChain(h, p, verdict) : { dnat: false, marked: false };
    // Back from KUBE-EXT without a DNAT: the other ranges, then the comment-only rule.
    if (!out.dnat) h.add((allowed ? ranges.ranges - ranges.allowedBy - 1 : 0) + 1, 1);
  } else {
    out = externalChain(h, p, verdict);
  }
  if (!out.dnat) restOfServices(h, natServices - p.position - 1, false);
  return out;
}

/** The nat PREROUTING walk to a ClusterIP (from a pod, the node or outside; --masquerade-all). */
function clusterIPPrerouting(h: Hook, p: FirstPacketInput, n: ExternalRuleCounts): NatOutcome {
  enterServices(h);
  if (p.endpoints === 0) {
    restOfServices(h, p.services - p.servicesWithoutEndpoints + n.externalIPs + n.loadBalancerIPs, false);
    return { dnat: false, marked: false };
  }
  h.add(p.position + 1, 2, 1);
  const masquerade = p.masqueradeAll === true || (p.source ?? 'pod') !== 'pod';
  // KUBE-SVC's masquerade check: comment and tcp when its -s (or, with --masquerade-all, nothing) lets the packet in.
  h.add(1, masquerade ? 2 : 0, masquerade ? 1 : 0);
  if (masquerade) markMasq(h);
  policyChainAndEndpoint(h, p, p.endpoints, p.chosen);
  return { dnat: true, marked: masquerade };
}

/** filter FORWARD or INPUT, up to the ACCEPT of a marked packet, or through, or to the packet's DROP or REJECT. */
function filterWalk(h: Hook, p: FirstPacketInput, n: ExternalRuleCounts, nat: NatOutcome, verdict: FirstPacketVerdict, input: boolean): void {
  const before = p.filterBefore ?? {};
  const firewallDrop = !nat.dnat && p.entry === 'loadBalancer' && p.sourceRange !== undefined && p.endpoints > 0;
  if (input) {
    // KUBE-FIREWALL (its rule fails on -d 127.0.0.0/8).
    h.add(1, 0, 1);
    h.add(1, 0);
  }
  // KUBE-PROXY-FIREWALL (ctstate NEW, comment), its rules failing on -d, or this LB IP's DROP.
  h.add(1, 2, 1);
  if (firewallDrop) {
    h.add((before.firewall ?? 0) + 1, 2);
    return;
  }
  h.add(n.firewalledIPs, 0);
  if (input) {
    // filter KUBE-NODEPORTS: the health check node ports' ACCEPTs fail on their tcp port.
    h.add(1, 1, 1);
    h.add(n.healthCheckNodePorts, 2 * n.healthCheckNodePorts);
  } else {
    // KUBE-FORWARD: the INVALID drop, then the masquerade mark's ACCEPT.
    h.add(1, 1, 1);
    h.add(2, 3);
    if (nat.marked) return;
    h.add(1, 2);
    // filter KUBE-SERVICES: the REJECTs and DROPs of ClusterIPs, failing on -d.
    h.add(1, 2, 1);
    h.add(p.servicesWithoutEndpoints, 0);
  }
  // KUBE-EXTERNAL-SERVICES: addresses fail on -d; node ports run comment and addrtype (and tcp when the destination is local).
  h.add(1, 2, 1);
  const perNodePort = input ? 3 : 2;
  if (verdict.kind === 'dnat') {
    h.add(n.refusedAddresses + n.refusedNodePorts, perNodePort * n.refusedNodePorts);
    return;
  }
  const addresses = before.addresses ?? 0;
  const nodePorts = before.nodePorts ?? 0;
  h.add(addresses + nodePorts + 1, perNodePort * nodePorts + (input ? 3 : 2));
}

/** nat POSTROUTING: KUBE-POSTROUTING returns at once, or clears the mark and masquerades. */
function postrouting(h: Hook, marked: boolean): void {
  h.add(1, 1, 1);
  h.add(marked ? 3 : 1, marked ? 2 : 1);
}

/** The first packet's cost and verdict on any path of the iptables mode (see the file comment). */
export function iptablesPathCost(costs: CostModel, b: IptablesBackend, p: FirstPacketInput): FirstPacketCost {
  // The node's own packets take OUTPUT and the loopback, a path this walk does not count.
  if (p.source === 'host') throw new RangeError("iptables first packet: source 'host' is not modelled (use 'pod' or 'external')");
  const n = p.node ?? NO_EXTERNAL_RULES;
  const entry = p.entry ?? 'clusterIP';
  const verdict = entry === 'clusterIP' ? clusterIPVerdict(p) : ruleModeExternalDecision(p).verdict;
  const pre = new Hook();
  const nat = entry === 'clusterIP' ? clusterIPPrerouting(pre, p, n) : externalPrerouting(pre, p, n, verdict);
  const hooks = [pre];
  const filter = new Hook();
  hooks.push(filter);
  if (entry === 'clusterIP' && p.endpoints === 0) clusterIPRefusal(filter, p, n);
  else filterWalk(filter, p, n, nat, verdict, !nat.dnat && entry === 'nodePort');
  if (verdict.kind === 'dnat') {
    const post = new Hook();
    postrouting(post, nat.marked);
    hooks.push(post);
  }
  let costNs = costs.conntrackInsertNs;
  let rulesVisited = 0;
  let modeNs = 0;
  for (const h of hooks) {
    costNs += hookCostNs(costs, b, h.rules, h.matches, h.jumps);
    modeNs += hookCostNs(costs, b, h.rules, h.matches, h.jumps) - costs.hookNs;
    rulesVisited += h.rules;
  }
  const parts = { hooksNs: hooks.length * costs.hookNs, conntrackNs: costs.conntrackInsertNs, modeNs };
  return { rulesVisited, lookups: 0, costNs, parts, verdict };
}

/** filter FORWARD to a ClusterIP without endpoints: KUBE-PROXY-FIREWALL, KUBE-FORWARD, then its REJECT or DROP in filter KUBE-SERVICES. */
function clusterIPRefusal(h: Hook, p: FirstPacketInput, n: ExternalRuleCounts): void {
  h.add(1, 2, 1);
  h.add(n.firewalledIPs, 0);
  h.add(1, 1, 1);
  h.add(3, 5);
  h.add(1, 2, 1);
  h.add((p.position % Math.max(1, p.servicesWithoutEndpoints)) + 1, 2);
}
