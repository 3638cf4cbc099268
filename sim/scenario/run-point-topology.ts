import { InputError } from '../io/input-error.ts';
import { SECOND } from '../engine/time.ts';
import type { ModelConfig } from '../run/config.ts';
import { clusterZones, type ClusterZones } from '../run/zones.ts';
import { servicePolicies, type PolicyMix, type PolicyShare, type TrafficDistribution } from '../run/service-policy.ts';
import type { ResolvedScenario } from './schema.ts';
import { zoneNodeCounts } from './schema-topology.ts';
import { DEFAULT_REQUEST_BYTES, DEFAULT_RESPONSE_BYTES } from '../run/topology-metrics.ts';

/**
 * The zones and policy mixes of run-point.ts (schema-topology.ts): `cluster.zones` as the run's
 * ClusterZones, the policy fields as each Service's own policy. A study whose Services are alike (one
 * value per field, no topology policy, no zones) keeps the single-valued fields of the config, and so
 * the path runs always took.
 */

type Services = NonNullable<ResolvedScenario['cluster']['services']>;

/** A policy field as shares by value: a single value is the one-entry mix (share 1, or none for the default). */
function sharesOf<V extends string>(field: V | Partial<Record<V, number>>, fallback: V): PolicyShare<V>[] {
  if (typeof field === 'string') return field === fallback ? [] : [{ value: field, share: 1 }];
  return (Object.entries(field) as [V, number][]).filter(([v, share]) => v !== fallback && share > 0).map(([value, share]) => ({ value, share }));
}

export function policyMix(services: Services, affinitySeconds: number): PolicyMix {
  const share = (list: PolicyShare<string>[]) => list.reduce((a, x) => a + x.share, 0);
  return {
    sessionAffinity: sharesOf(services.sessionAffinity, 'None').map((x) => ({ value: affinitySeconds, share: x.share })),
    internalLocal: share(sharesOf(services.trafficPolicy, 'Cluster')),
    topologyModeAuto: share(sharesOf(services.topologyMode, 'none')),
    trafficDistribution: sharesOf<TrafficDistribution | 'none'>(services.trafficDistribution, 'none') as PolicyShare<TrafficDistribution>[],
  };
}

/** Whether the mix is what the single-valued fields say: every Service alike, no topology policy. */
function uniform(m: PolicyMix): boolean {
  const whole = (x: number) => x === 0 || x === 1;
  return m.sessionAffinity.every((x) => x.share === 1) && whole(m.internalLocal) && m.topologyModeAuto === 0 && m.trafficDistribution.length === 0;
}

/** The policy part of a synthetic cluster's config. */
export function topologyCluster(s: ResolvedScenario, services: Services): Pick<ModelConfig['cluster'], 'sessionAffinity' | 'sessionAffinityTimeoutNs' | 'trafficPolicy' | 'zones' | 'policies'> {
  const mix = policyMix(services, Math.round(services.sessionAffinityTimeout / SECOND));
  const zones = s.cluster.zones ? syntheticZones(s) : undefined;
  const base = {
    sessionAffinity: mix.sessionAffinity.length > 0 && uniform(mix) ? ('ClientIP' as const) : ('None' as const),
    sessionAffinityTimeoutNs: services.sessionAffinityTimeout,
    trafficPolicy: mix.internalLocal === 1 && uniform(mix) ? ('Local' as const) : ('Cluster' as const),
  };
  if (uniform(mix) && !zones) return base;
  // With zones each node's lists come from NodeEndpoints, which reads internalTrafficPolicy off each
  // ServicePort: a cluster whose Services are all Local takes the per-Service path, which marks them.
  if (uniform(mix) && mix.internalLocal === 0) return { ...base, zones: zones! };
  return { sessionAffinity: 'None', sessionAffinityTimeoutNs: services.sessionAffinityTimeout, trafficPolicy: 'Cluster', ...(zones ? { zones } : {}), policies: servicePolicies(mix, services.count) };
}

/** Whether some Service of the study has ClientIP affinity / Local policy (for the checks of run-point.ts). */
export function someService(services: Services): { affinity: boolean; local: boolean } {
  const m = policyMix(services, 1);
  return { affinity: m.sessionAffinity.length > 0, local: m.internalLocal > 0 };
}

function syntheticZones(s: ResolvedScenario): ClusterZones {
  const zones = s.cluster.zones!;
  // With churn the scheduler places the pods (sim/k8s/scheduler.ts), not the study.
  const placed = zones.findIndex((z) => z.endpoints !== undefined);
  if (placed >= 0 && s.churn.length > 0) throw new InputError(`cluster.zones[${placed}].endpoints`, 'no endpoint shares with churn (the scheduler places the pods of a cluster with churn)', String(zones[placed]!.endpoints));
  const sourcing = zones.findIndex((z) => z.clients !== undefined);
  if (sourcing >= 0 && s.traffic.sourceNodes !== 'all')
    throw new InputError(`cluster.zones[${sourcing}].clients`, 'either zones\' client shares or traffic.sourceNodes, not both (both say where clients are)', String(zones[sourcing]!.clients));
  const counts = zoneNodeCounts(s.cluster.nodes, zones);
  return clusterZones(
    zones.map((z, i) => ({
      name: z.name,
      nodes: counts[i]!,
      cpusPerNode: z.cpusPerNode ?? s.cluster.cpusPerNode,
      ...(z.clients !== undefined ? { clients: z.clients } : {}),
      ...(z.endpoints !== undefined ? { endpoints: z.endpoints } : {}),
    })),
  );
}

/**
 * connectSetup's zones are the cluster's when it has any: `connectSetup.zones` (round robin by node
 * index) must then be left at 1 or equal their number, else the study contradicts itself.
 */
export function connectSetupZones(s: ResolvedScenario, nodeZones: readonly string[] | undefined): { nodeZones?: readonly string[] } {
  if (!nodeZones) return {};
  const zones = new Set(nodeZones).size;
  const given = s.connectSetup?.zones ?? 1;
  if (given !== 1 && given !== zones) throw new InputError('connectSetup.zones', `1 or the number of zones the cluster's nodes are in (${zones}): its round trips use the cluster's zones`, String(given));
  return { nodeZones };
}

/** traffic.requestBytes / responseBytes, only in runs with zones or policies (the others have no crossZone figures). */
export function trafficBytes(s: ResolvedScenario): Pick<ModelConfig['traffic'], 'requestBytes' | 'responseBytes'> {
  return {
    ...(s.traffic.requestBytes !== undefined ? { requestBytes: s.traffic.requestBytes } : {}),
    ...(s.traffic.responseBytes !== undefined ? { responseBytes: s.traffic.responseBytes } : {}),
  };
}

/**
 * The report's assumption for the bytes model of crossZone.bytes, when some point writes it and
 * does not give traffic.requestBytes / responseBytes (topology-metrics.ts's defaults).
 */
export function topologyAssumptions(points: readonly { scenario: ResolvedScenario }[]): string[] {
  const defaulted = points.some(({ scenario: s }) => mayHaveTopology(s) && (s.traffic.requestBytes === undefined || s.traffic.responseBytes === undefined));
  if (!defaulted) return [];
  return [
    `crossZone.bytes counts payload only, ${DEFAULT_REQUEST_BYTES} bytes per request and ${DEFAULT_RESPONSE_BYTES} per response where traffic.requestBytes and responseBytes are not set (an assumption: a small API call and its answer; TCP/IP and TLS headers not counted).`,
  ];
}

/**
 * Whether a point's runs write the topology figures (precheck.ts): it has zones, Services that differ
 * in policy or a topology policy, or manifests (whose nodes' zone labels and Services decide).
 */
export function mayHaveTopology(s: ResolvedScenario): boolean {
  if (s.cluster.zones || s.cluster.manifests !== undefined) return true;
  const services = s.cluster.services;
  return services !== undefined && !uniform(policyMix(services, 1));
}
