/**
 * Hints for spec.trafficDistribution as the EndpointSlice controller writes them (kubernetes/kubernetes
 * staging/src/k8s.io/endpointslice/trafficdist/trafficdist.go, preferCloseHeuristic):
 *
 * - PreferClose and PreferSameZone (its v1.33 alias): every ready endpoint is hinted for its own zone;
 *   PreferSameNode also for its own node (forNodes). No overload protection, no minimum of endpoints.
 * - An endpoint without a zone gets no zone hint (with PreferSameNode, its node hint only); one
 *   without a nodeName gets no node hint. kube-proxy then uses no zone hints for the Service at all,
 *   since not every ready endpoint has one (pkg/proxy/topology.go, topologyModeFromHints).
 * - Not-ready endpoints are left as they are (a fresh one has no hints).
 * - Slices the sync leaves unchanged are rewritten only when a ready endpoint's hints are missing or
 *   wrong (needsUpdate).
 *
 * Which Services get them (staging/src/k8s.io/endpointslice/reconciler.go): a valid trafficDistribution
 * (PreferSameZone and PreferSameNode need the PreferSameTrafficDistribution gate, beta and on by
 * default since v1.34) and no topology-mode annotation asking for Auto, which wins.
 */
import type { Endpoint, EndpointHints as ApiEndpointHints, EndpointSlice } from './objects.ts';
import type { EndpointHints, HintTarget } from './topology-cache.ts';
import { copySliceForUpdate, endpointReady, withHints } from './topology-slice-hints.ts';

export type TrafficDistribution = 'PreferClose' | 'PreferSameZone' | 'PreferSameNode';

/** core/v1 ServiceTrafficDistribution* values the API accepts (validation.go supportedTrafficDistribution). */
export const TRAFFIC_DISTRIBUTIONS: readonly TrafficDistribution[] = ['PreferClose', 'PreferSameNode', 'PreferSameZone'];

export function isTrafficDistribution(v: unknown): v is TrafficDistribution {
  return typeof v === 'string' && (TRAFFIC_DISTRIBUTIONS as readonly string[]).includes(v);
}

/** The trafficDistribution hints of one Service's endpoints in a static cluster; `hints[i]` is endpoint i's. */
export function trafficDistributionHints(endpoints: readonly HintTarget[], td: TrafficDistribution): EndpointHints[] {
  const nodeHints = td === 'PreferSameNode';
  return endpoints.map((t) => ({
    forZones: t.ready && t.zone !== '' ? [t.zone] : [],
    forNodes: t.ready && nodeHints && t.nodeName !== '' ? [t.nodeName] : [],
  }));
}

/** The hints preferCloseHeuristic.update gives a ready endpoint (undefined: none). */
function closeHints(ep: Endpoint, nodeHints: boolean): ApiEndpointHints | undefined {
  const h: ApiEndpointHints = {};
  if (ep.zone !== undefined) h.forZones = [{ name: ep.zone }];
  if (ep.nodeName !== undefined && nodeHints) h.forNodes = [{ name: ep.nodeName }];
  return h.forZones || h.forNodes ? h : undefined;
}

/** preferCloseHeuristic.needsUpdate: a ready endpoint's hints are missing or stale. */
function needsUpdate(slice: EndpointSlice, nodeHints: boolean): boolean {
  for (const ep of slice.endpoints) {
    if (!endpointReady(ep)) continue;
    const zones = ep.hints?.forZones ?? [];
    if (ep.zone !== undefined ? zones.length !== 1 || zones[0]!.name !== ep.zone : zones.length > 0) return true;
    const nodes = ep.hints?.forNodes ?? [];
    if (ep.nodeName !== undefined && nodeHints ? nodes.length !== 1 || nodes[0]!.name !== ep.nodeName : nodes.length > 0) return true;
  }
  return false;
}

/**
 * ReconcileHints for a close trafficDistribution: unchanged slices with wrong hints join the updates
 * (as copies), then every slice to create or update gets its hints. Returns the lists.
 */
export function reconcileTrafficDistributionHints(
  td: TrafficDistribution,
  toCreate: EndpointSlice[],
  toUpdate: EndpointSlice[],
  unchanged: readonly EndpointSlice[],
): { toCreate: EndpointSlice[]; toUpdate: EndpointSlice[]; unchanged: EndpointSlice[] } {
  const nodeHints = td === 'PreferSameNode';
  const still: EndpointSlice[] = [];
  const update = toUpdate.slice();
  for (const s of unchanged) {
    if (needsUpdate(s, nodeHints)) update.push(copySliceForUpdate(s));
    else still.push(s);
  }
  for (const s of [...toCreate, ...update]) {
    const eps = s.endpoints;
    for (let i = 0; i < eps.length; i++) if (endpointReady(eps[i]!)) eps[i] = withHints(eps[i]!, closeHints(eps[i]!, nodeHints));
  }
  return { toCreate, toUpdate: update, unchanged: still };
}
