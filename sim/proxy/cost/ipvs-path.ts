/**
 * The ipvs mode's first packet on every path (ClusterIP, node port, load-balancer IP, external IP):
 * the iptables rules kube-proxy's ipvs proxier restores (pkg/proxy/ipvs/proxier.go
 * writeIptablesRules; sim/proxy/ipvs/iptables-rules.ts writes the same), which match whole ipsets
 * and exist only when their set has entries, then the IPVS virtual-server lookup and scheduler.
 * Counted hook by hook against the kernel models walking what the proxier programmed
 * (sim/proxy/ipvs/testing/first-packet-walk.ts; ipvs-path.test.ts):
 *
 * - PREROUTING, nat KUBE-SERVICES: the localhost RETURN; KUBE-LOAD-BALANCER (a load-balancer IP
 *   there RETURNs when it is Local, else is marked for masquerade); the ClusterIP masquerade check
 *   (`! -s CLUSTER_CIDR`, or every packet with --masquerade-all); the external-IP rules (the Cluster
 *   set marks; `! --physdev-is-in ! --src-type LOCAL` or `--dst-type LOCAL` accepts); the addrtype
 *   LOCAL jump to KUBE-NODE-PORT (a Local node port RETURNs, a Cluster one is marked); the
 *   KUBE-CLUSTER-IP and KUBE-LOAD-BALANCER ACCEPTs;
 * - INPUT, filter: KUBE-IPVS-FILTER (RETURN for the addresses of virtual services, REJECT for other
 *   ports of kube-ipvs0's addresses), KUBE-PROXY-FIREWALL (KUBE-LOAD-BALANCER-FW, then the source
 *   ranges or DROP), KUBE-NODE-PORT (the health check ports' ACCEPT); then IPVS at LOCAL_IN: the
 *   virtual-server lookup (and with ClientIP affinity the persistence template's), the scheduler, or
 *   ICMP port unreachable when it has no real server;
 * - OUTPUT (the DNATed packet leaves through LOCAL_OUT), filter KUBE-IPVS-OUT-FILTER: one rule per
 *   load-balancer IP whose source ranges leave the node out;
 * - POSTROUTING, nat KUBE-POSTROUTING: the hairpin KUBE-LOOP-BACK masquerade (when this node has an
 *   endpoint), then the mark test, and for a marked packet the mark cleared and MASQUERADE.
 *
 * Costs: hookNs per hook, ruleWalkNs per hook, nftLookupNs per set or IPVS lookup, ipvsScheduleNs
 * when the scheduler runs, conntrackInsertNs. Matches other than sets, and jumps, are not charged:
 * the ipvs model's pricing since its first version (ipvs.ts), kept so the two agree.
 *
 * Assumptions: every Service has one TCP port; source ranges do not hold the node's address (no
 * KUBE-LOAD-BALANCER-SOURCE-IP entries); a pod's packet to an external IP enters from a bridge port
 * (`--physdev-is-in`). The netfilter model does not evaluate `-m physdev`, so the external-IP entry
 * is the one path the property test cannot walk.
 */
import { ruleWalkNs, type CostModel, type IptablesBackend } from '../../cost/cost-model.ts';
import { clusterIPVerdict, ipvsExternalDecision } from './external-path.ts';
import type { ExternalRuleCounts, FirstPacketCost, FirstPacketInput, IpvsSetCounts } from './mode-model.ts';

function setsOf(n: ExternalRuleCounts | undefined): IpvsSetCounts {
  if (n?.ipvs) return n.ipvs;
  return {
    nodePorts: n?.nodePorts ?? 0,
    localNodePorts: 0,
    loadBalancerIPs: n?.loadBalancerIPs ?? 0,
    localLoadBalancerIPs: 0,
    firewalledIPs: n?.firewalledIPs ?? 0,
    externalIPs: n?.externalIPs ?? 0,
    localExternalIPs: 0,
    localEndpointsOnNode: false,
  };
}

interface Tally {
  rules: number;
  lookups: number;
}

const tally = (): Tally => ({ rules: 0, lookups: 0 });

/** nat PREROUTING; returns whether the packet was marked for masquerade. */
function prerouting(t: Tally, p: FirstPacketInput, s: IpvsSetCounts, local: boolean): boolean {
  const entry = p.entry ?? 'clusterIP';
  const source = p.source ?? 'pod';
  let marked = false;
  const add = (rules: number, lookups = 0) => {
    t.rules += rules;
    t.lookups += lookups;
  };
  // The jump to KUBE-SERVICES; its localhost RETURN.
  add(2);
  if (s.loadBalancerIPs > 0) {
    add(1, 1);
    if (entry === 'loadBalancer') {
      // KUBE-LOAD-BALANCER: the Local set's RETURN, or the jump to KUBE-MARK-MASQ and its MARK.
      if (s.localLoadBalancerIPs > 0) add(1, 1);
      if (!local) {
        add(2);
        marked = true;
      }
    }
  }
  // The ClusterIP masquerade check: its set is tested when -s lets the packet in.
  const masqueradeAll = p.masqueradeAll === true;
  const checked = masqueradeAll || source !== 'pod';
  add(1, checked ? 1 : 0);
  if (checked && entry === 'clusterIP') {
    add(1);
    marked = true;
  }
  if (s.externalIPs > 0) {
    add(1, 1);
    if (entry === 'externalIP' && !local) {
      add(1);
      marked = true;
      // `! --physdev-is-in ! --src-type LOCAL -j ACCEPT` takes an outside client's packet; a pod's goes on to `--dst-type LOCAL -j ACCEPT`.
      add(source === 'external' ? 1 : 2, source === 'external' ? 1 : 2);
      return marked;
    }
    add(2, 2);
  }
  if (s.localExternalIPs > 0) {
    if (entry === 'externalIP' && local) {
      add(source === 'external' ? 1 : 2, source === 'external' ? 1 : 2);
      return marked;
    }
    add(2, 2);
  }
  // The addrtype LOCAL jump (every entry's address is the node's or kube-ipvs0's), KUBE-NODE-PORT.
  add(1);
  if (s.localNodePorts > 0) add(1, 1);
  const localNodePort = entry === 'nodePort' && local;
  if (s.nodePorts > 0 && !localNodePort) {
    add(1, 1);
    if (entry === 'nodePort') {
      add(1);
      marked = true;
    }
  }
  // The KUBE-CLUSTER-IP ACCEPT, then KUBE-LOAD-BALANCER's.
  add(1, 1);
  if (entry === 'clusterIP') return marked;
  if (s.loadBalancerIPs > 0) add(1, 1);
  return marked;
}

/** filter INPUT up to IPVS; false when KUBE-PROXY-FIREWALL drops the packet. */
function input(t: Tally, p: FirstPacketInput, s: IpvsSetCounts, local: boolean): boolean {
  const entry = p.entry ?? 'clusterIP';
  // KUBE-IPVS-FILTER: its jump, then the RETURN rules up to the one whose set holds the address.
  const at = { loadBalancer: 1, clusterIP: 2, externalIP: local ? 4 : 3, nodePort: 6 }[entry];
  t.rules += 1 + at;
  t.lookups += at;
  // KUBE-PROXY-FIREWALL.
  t.rules += 1;
  if (s.firewalledIPs > 0) {
    t.rules += 1;
    t.lookups += 1;
    if (entry === 'loadBalancer' && p.sourceRange !== undefined) {
      // KUBE-SOURCE-RANGES-FIREWALL: the ranges' RETURN, or the DROP after it.
      t.rules += 1;
      t.lookups += 1;
      if (p.sourceRange.allowedBy < 0) {
        t.rules += 1;
        return false;
      }
    }
  }
  // filter KUBE-NODE-PORT: the health check ports' ACCEPT.
  t.rules += 2;
  t.lookups += 1;
  return true;
}

/** The first packet's cost and verdict on any path of the ipvs mode (see the file comment). */
export function ipvsPathCost(costs: CostModel, b: IptablesBackend, p: FirstPacketInput): FirstPacketCost {
  if (p.source === 'host') throw new RangeError("ipvs first packet: source 'host' is not modelled (use 'pod' or 'external')");
  const entry = p.entry ?? 'clusterIP';
  const s = setsOf(p.node);
  const local = entry !== 'clusterIP' && (p.externalTrafficPolicy ?? 'Cluster') === 'Local';
  const verdict = entry === 'clusterIP' ? clusterIPVerdict(p, 'reject') : ipvsExternalDecision(p).verdict;
  const hooks: Tally[] = [tally(), tally()];
  prerouting(hooks[0]!, p, s, local);
  const passed = input(hooks[1]!, p, s, local);
  let lookups = 0;
  let scheduled = false;
  if (passed) {
    const persistent = p.affinity !== undefined && p.endpoints > 0;
    lookups += persistent ? 2 : 1;
    scheduled = !(persistent && p.affinity!.hit);
  }
  if (verdict.kind === 'dnat') {
    hooks.push({ rules: 1 + s.firewalledIPs, lookups: 0 });
    const loop = s.localEndpointsOnNode ? 1 : 0;
    hooks.push({ rules: 1 + loop + (verdict.masquerade ? 3 : 1), lookups: loop });
  }
  let costNs = costs.conntrackInsertNs + (scheduled ? costs.ipvsScheduleNs : 0);
  let rulesVisited = 0;
  let walkNs = 0;
  for (const h of hooks) {
    costNs += costs.hookNs + ruleWalkNs(costs, b, h.rules);
    walkNs += ruleWalkNs(costs, b, h.rules);
    rulesVisited += h.rules;
    lookups += h.lookups;
  }
  costNs += lookups * costs.nftLookupNs;
  const modeNs = walkNs + lookups * costs.nftLookupNs + (scheduled ? costs.ipvsScheduleNs : 0);
  const parts = { hooksNs: hooks.length * costs.hookNs, conntrackNs: costs.conntrackInsertNs, modeNs };
  return { rulesVisited, lookups, costNs, parts, verdict };
}
