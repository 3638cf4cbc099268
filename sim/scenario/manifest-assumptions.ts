import { basename } from 'node:path';
import { liveClusterDefaults } from '../k8s/manifest-live.ts';
import { loadManifests } from '../k8s/manifests.ts';
import type { LoadedScenario } from './load.ts';

/**
 * What a study on manifests took for granted, for the report's assumptions: with churn (a live
 * cluster, manifest-live.ts) every default used where the dump lacks a value; always the objects of
 * kinds a run has no use for, listed as ignored. Once per distinct file and setting of the points.
 */
export function manifestAssumptions(loaded: LoadedScenario): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const { scenario: s } of loaded.points) {
    const file = s.cluster.manifests;
    if (file === undefined) continue;
    const live = s.churn.length > 0;
    const options = { nodes: s.cluster.nodes, clusterCIDR: s.cluster.clusterCIDR, nodeCIDRMaskSize: s.cluster.nodeCIDRMaskSize, maxEndpointsPerSlice: s.controlPlane.maxEndpointsPerSlice, file };
    const key = JSON.stringify([live, options]);
    if (seen.has(key)) continue;
    seen.add(key);
    const m = loadManifests(file);
    const name = basename(file);
    if (live) {
      out.push(`${name} runs live: its Deployments, ReplicaSets, pods, kubelets on its Nodes and its EndpointSlices in the simulated control plane, each pod with its template's readiness probe and grace period.`);
      for (const d of liveClusterDefaults(m, options)) out.push(`${name}: ${d}.`);
    } else if (m.ignored && m.ignored.length > 0) out.push(`${name}: ignored (kinds a run has no use for): ${m.ignored.join(', ')}.`);
  }
  return out;
}
