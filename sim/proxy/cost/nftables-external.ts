/**
 * The nftables mode's first packet on every path but today's pod-to-ClusterIP one: node ports,
 * load-balancer IPs (the firewall-ips map and the Service's firewall- chain), external IPs, and
 * ClusterIPs reached from outside the cluster CIDR or with --masquerade-all. It counts base chains,
 * rules and set/map lookups of the walk through the table pkg/proxy/nftables/proxier.go writes
 * (setupNFTables, syncProxyRules; sim/proxy/nftables/ writes the same). Verdict maps make it
 * independent of the number of Services:
 *
 * - prerouting, filter-prerouting-pre-dnat (priority dstnat - 10): `ct state new jump
 *   firewall-check`, the firewall-ips vmap; a load-balancer IP with source ranges goes to its
 *   firewall- chain, `ip saddr != { ranges } drop` (an anonymous-set lookup), which drops a source
 *   outside them before any DNAT;
 * - prerouting, nat-prerouting: `jump services`; the service-ips vmap (ClusterIPs, external IPs,
 *   LB IPs of ports with endpoints) or, when it misses, `ip daddr @nodeport-ips` and the
 *   service-nodeports vmap; the external- chain (Cluster: `jump mark-for-masquerade`, `goto
 *   service-`; Local: the pod short-circuit, the two `fib saddr type local` rules, then `goto local-`
 *   when there are local endpoints); the service- chain's ClusterIP masquerade check (local- has
 *   none), the numgen vmap, the endpoint- chain's hairpin check and DNAT;
 * - forward (a DNATed packet, or one to a non-local address): service-endpoints-check's
 *   no-endpoint-services vmap (drop, or goto reject-chain), then cluster-ips-check's two lookups;
 *   input (an untranslated node port): nodeport-endpoints-check, `ip daddr @nodeport-ips` and the
 *   no-endpoint-nodeports vmap;
 * - postrouting: masquerading returns at once, or clears the mark and masquerades.
 * Counted against the nft model walking the proxier's table (nftables.test.ts, "external paths").
 */
import type { CostModel } from '../../cost/cost-model.ts';
import { clusterIPVerdict, ruleModeExternalDecision } from './external-path.ts';
import type { FirstPacketCost, FirstPacketInput, FirstPacketVerdict } from './mode-model.ts';

class Walk {
  baseChains = 0;
  rules = 0;
  lookups = 0;
  add(rules: number, lookups = 0): void {
    this.rules += rules;
    this.lookups += lookups;
  }
}

/** The service- or local- chain from its masquerade check (service- only) to the DNAT: affinity lookups, numgen, endpoint- chain. */
function toEndpoint(w: Walk, p: FirstPacketInput, masqueradeCheck: 'none' | 'fails' | 'marks'): void {
  if (masqueradeCheck !== 'none') w.add(masqueradeCheck === 'marks' ? 2 : 1);
  const a = p.affinity;
  if (a) w.add(a.checked, a.checked);
  if (!a?.hit) w.add(1, 1);
  // endpoint-: the hairpin check, (affinity's update,) the DNAT.
  w.add(a ? 3 : 2);
}

/** The walk of an external entry through nat-prerouting's services chain on; true when it ends in a DNAT. */
function externalNat(w: Walk, p: FirstPacketInput, verdict: FirstPacketVerdict): boolean {
  const hasEndpoints = p.endpoints > 0;
  // jump services; the service-ips vmap.
  w.add(2, 1);
  if (p.entry === 'nodePort' || !hasEndpoints) {
    // `ip daddr @nodeport-ips`, and the service-nodeports vmap for a node address.
    w.add(1, p.entry === 'nodePort' ? 2 : 1);
    if (!hasEndpoints) return false;
  }
  const local = (p.externalTrafficPolicy ?? 'Cluster') === 'Local';
  if (!local) {
    // jump mark-for-masquerade and its rule; goto service-.
    w.add(3);
    toEndpoint(w, p, 'fails');
    return true;
  }
  if ((p.source ?? 'pod') === 'pod') {
    w.add(1);
    toEndpoint(w, p, 'fails');
    return true;
  }
  // The pod short-circuit and the two `fib saddr type local` rules fail.
  w.add(3);
  if (verdict.kind !== 'dnat') return false;
  w.add(1);
  toEndpoint(w, p, 'none');
  return true;
}

/** The first packet's cost and verdict on any path of the nftables mode (see the file comment). */
export function nftablesPathCost(costs: CostModel, p: FirstPacketInput): FirstPacketCost {
  if (p.source === 'host') throw new RangeError("nftables first packet: source 'host' is not modelled (use 'pod' or 'external')");
  const entry = p.entry ?? 'clusterIP';
  const verdict = entry === 'clusterIP' ? clusterIPVerdict(p) : ruleModeExternalDecision(p, true).verdict;
  const w = new Walk();
  // filter-prerouting-pre-dnat: jump firewall-check, the firewall-ips vmap.
  w.baseChains++;
  w.add(2, 1);
  const firewalled = entry === 'loadBalancer' && p.sourceRange !== undefined;
  if (firewalled) w.add(1, 1);
  if (verdict.kind === 'drop' && verdict.reason === 'source-range') return result(costs, w, verdict);
  w.baseChains++;
  let dnat: boolean;
  if (entry === 'clusterIP') {
    w.add(2, 1);
    if (p.endpoints > 0) toEndpoint(w, p, verdict.kind === 'dnat' && verdict.masquerade ? 'marks' : 'fails');
    else w.add(1, 1);
    dnat = p.endpoints > 0;
  } else {
    dnat = externalNat(w, p, verdict);
  }
  w.baseChains++;
  if (!dnat && entry === 'nodePort') {
    // filter-input: jump nodeport-endpoints-check; @nodeport-ips and the no-endpoint-nodeports vmap.
    w.add(2, 2);
  } else {
    // filter-forward: jump service-endpoints-check; the no-endpoint-services vmap.
    w.add(2, 1);
    // jump cluster-ips-check; @cluster-ips and the service CIDRs.
    if (dnat) w.add(3, 2);
  }
  if (verdict.kind === 'reject') w.add(1); // reject-chain's reject
  if (verdict.kind === 'dnat') {
    w.baseChains++;
    w.add(verdict.masquerade ? 4 : 2);
  }
  return result(costs, w, verdict);
}

function result(costs: CostModel, w: Walk, verdict: FirstPacketVerdict): FirstPacketCost {
  const costNs = w.baseChains * costs.hookNs + w.rules * costs.nftRuleNs + w.lookups * costs.nftLookupNs + costs.conntrackInsertNs;
  const parts = { hooksNs: w.baseChains * costs.hookNs, conntrackNs: costs.conntrackInsertNs, modeNs: w.rules * costs.nftRuleNs + w.lookups * costs.nftLookupNs };
  return { rulesVisited: w.rules, lookups: w.lookups, costNs, parts, verdict };
}
