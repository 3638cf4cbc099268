import { makeEndpoint, type Endpoint } from '../proxy/endpoint.ts';
import { autoHints, type EndpointHints, type TopologyNode } from '../k8s/topology-cache.ts';
import { trafficDistributionHints } from '../k8s/traffic-distribution-hints.ts';
import type { ServicePolicy } from './service-policy.ts';

/** What the EndpointSlice controller did with hints in a static cluster (topology.* figures). */
export interface HintStats {
  /** Auto Services the controller left without hints (too few endpoints for the zones, no node information, overload bound). */
  fallbackEvents: number;
  /** Services whose endpoints carry hints. */
  servicesWithHints: number;
}

/**
 * The hints a static synthetic cluster's EndpointSlices carry, as the EndpointSlice controller writes
 * them at creation (sim/k8s/topology-cache.ts autoHints for the topology-mode: Auto annotation,
 * sim/k8s/traffic-distribution-hints.ts for spec.trafficDistribution; the annotation wins, see
 * service-policy.ts). Every node is Ready with its zone's CPU; on a cluster without zones no node has
 * a zone label, so Auto gives no hints (insufficient node information) and only PreferSameNode's
 * node hints are written. Returns the function
 * syntheticEndpoints calls per Service; `stats` counts what it did.
 */
export function staticHints(nodeZones: readonly string[], nodeCpuMilli: readonly number[], policies: readonly ServicePolicy[], stats: HintStats): (s: number, list: Endpoint[]) => Endpoint[] {
  const nodes: TopologyNode[] = nodeZones.map((zone, n) => ({ name: `node-${n}`, zone, allocatableCpuMilli: nodeCpuMilli[n]!, ready: true }));
  return (s, list) => {
    const topology = policies[s]?.topology ?? 'none';
    if (topology === 'none') return list;
    const targets = list.map((e) => ({ nodeName: e.nodeName, zone: e.zone, ready: e.ready }));
    let hints: readonly EndpointHints[] | null;
    if (topology === 'Auto') {
      hints = autoHints(targets, nodes).hints;
      if (!hints) stats.fallbackEvents++;
    } else hints = trafficDistributionHints(targets, topology);
    // trafficDistribution gives an endpoint without a zone no zone hint (PreferClose on a cluster
    // without zones hints nothing).
    if (!hints || hints.every((h) => h.forZones.length === 0 && h.forNodes.length === 0)) return list;
    stats.servicesWithHints++;
    return list.map((e, i) => withHints(e, hints[i]!));
  }
}

function withHints(e: Endpoint, h: EndpointHints): Endpoint {
  return makeEndpoint({ ...e, zoneHints: h.forZones, nodeHints: h.forNodes });
}
