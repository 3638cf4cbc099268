/**
 * Which of a service port's endpoints this node's kube-proxy may send traffic to.
 *
 * Follows kubernetes/kubernetes pkg/proxy/topology.go CategorizeEndpoints:
 * - Cluster policy: Ready endpoints (narrowed by topology hints when every ready endpoint carries
 *   a hint and one matches this node or zone); if there are none, the serving-and-terminating ones.
 * - Local policy: this node's Ready endpoints; if none, this node's serving-and-terminating ones.
 * - hasAnyEndpoints: some usable endpoint exists anywhere, which decides between "no endpoints"
 *   (REJECT) and "no local endpoints" (DROP) in the rules.
 */
import type { Endpoint } from './endpoint.ts';
import { compareEndpoints } from './endpoint.ts';
import type { ServicePort } from './service-port.ts';
import { usesClusterEndpoints, usesLocalEndpoints } from './service-port.ts';

export interface NodeTopology {
  nodeName: string;
  /** The node's topology.kubernetes.io/zone label; "" when unlabelled. */
  zone: string;
  /**
   * Feature gate PreferSameTrafficDistribution (alpha in v1.33, beta and on by default in v1.34):
   * honour hints.forNodes. Default true.
   */
  preferSameTrafficDistribution?: boolean;
}

export interface CategorizedEndpoints {
  /** Usable Cluster-policy endpoints; empty if the port never uses Cluster policy. */
  clusterEndpoints: readonly Endpoint[];
  /** Usable Local-policy endpoints; empty if the port never uses Local policy. */
  localEndpoints: readonly Endpoint[];
  /** The union of the two, in kube-proxy's endpoint order: every endpoint this node can reach. */
  allReachableEndpoints: readonly Endpoint[];
  hasAnyEndpoints: boolean;
}

const NONE: readonly Endpoint[] = [];

export type TopologyMode = '' | 'PreferSameZone' | 'PreferSameNode';

export function categorizeEndpoints(
  endpoints: readonly Endpoint[],
  sp: ServicePort,
  node: NodeTopology,
): CategorizedEndpoints {
  let clusterEndpoints: readonly Endpoint[] = NONE;
  let localEndpoints: readonly Endpoint[] = NONE;
  let hasAnyEndpoints = false;
  if (endpoints.length === 0) {
    return { clusterEndpoints, localEndpoints, allReachableEndpoints: NONE, hasAnyEndpoints };
  }
  let topologyMode: TopologyMode = '';
  let useServingTerminating = false;

  if (usesClusterEndpoints(sp)) {
    topologyMode = topologyModeFromHints(endpoints, node);
    clusterEndpoints = endpoints.filter((ep) => ep.ready && availableForTopology(ep, topologyMode, node));
    // Hints were already ignored if no ready endpoint matched them, so an empty list here means
    // there is no ready endpoint anywhere: fall back to the terminating ones that still serve.
    if (clusterEndpoints.length === 0) clusterEndpoints = endpoints.filter((ep) => ep.serving && ep.terminating);
    if (clusterEndpoints.length > 0) hasAnyEndpoints = true;
  }

  if (!usesLocalEndpoints(sp)) {
    return { clusterEndpoints, localEndpoints, allReachableEndpoints: clusterEndpoints, hasAnyEndpoints };
  }

  let hasLocalReady = false;
  let hasLocalServingTerminating = false;
  for (const ep of endpoints) {
    if (ep.ready) {
      hasAnyEndpoints = true;
      if (ep.isLocal) hasLocalReady = true;
    } else if (ep.serving && ep.terminating) {
      hasAnyEndpoints = true;
      if (ep.isLocal) hasLocalServingTerminating = true;
    }
  }
  if (hasLocalReady) {
    localEndpoints = endpoints.filter((ep) => ep.isLocal && ep.ready);
  } else if (hasLocalServingTerminating) {
    useServingTerminating = true;
    localEndpoints = endpoints.filter((ep) => ep.isLocal && ep.serving && ep.terminating);
  }

  if (!usesClusterEndpoints(sp)) {
    return { clusterEndpoints, localEndpoints, allReachableEndpoints: localEndpoints, hasAnyEndpoints };
  }
  if (topologyMode === '' && !useServingTerminating) {
    // Every ready endpoint is in clusterEndpoints, and localEndpoints holds only ready ones.
    return { clusterEndpoints, localEndpoints, allReachableEndpoints: clusterEndpoints, hasAnyEndpoints };
  }
  // kube-proxy merges through a Go map here (random order); the order only matters for the
  // per-endpoint chains, which are emitted in sorted order anyway, so we merge in endpoint order.
  const merged = new Map<string, Endpoint>();
  for (const ep of clusterEndpoints) merged.set(ep.endpoint, ep);
  for (const ep of localEndpoints) merged.set(ep.endpoint, ep);
  const allReachableEndpoints = [...merged.values()].sort(compareEndpoints);
  return { clusterEndpoints, localEndpoints, allReachableEndpoints, hasAnyEndpoints };
}

/** Which hints a node's Cluster list follows ('' when none: not every ready endpoint has one, or none matches). */
export function topologyModeFromHints(endpoints: readonly Endpoint[], node: NodeTopology): TopologyMode {
  let hasReady = false;
  let hasForNode = false;
  let allHaveNodeHints = true;
  let hasForZone = false;
  let allHaveZoneHints = true;
  for (const ep of endpoints) {
    if (!ep.ready) continue;
    hasReady = true;
    if (ep.nodeHints.size === 0) allHaveNodeHints = false;
    else if (ep.nodeHints.has(node.nodeName)) hasForNode = true;
    if (ep.zoneHints.size === 0) allHaveZoneHints = false;
    else if (ep.zoneHints.has(node.zone)) hasForZone = true;
  }
  if (!hasReady) return '';
  if ((node.preferSameTrafficDistribution ?? true) && allHaveNodeHints && hasForNode) return 'PreferSameNode';
  if (allHaveZoneHints && hasForZone) return 'PreferSameZone';
  return '';
}

function availableForTopology(ep: Endpoint, mode: TopologyMode, node: NodeTopology): boolean {
  if (mode === '') return true;
  if (mode === 'PreferSameNode') return ep.nodeHints.has(node.nodeName);
  return ep.zoneHints.has(node.zone);
}
