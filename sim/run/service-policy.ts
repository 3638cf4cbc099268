/**
 * Each synthetic Service's own policies, for runs in which Services differ (ModelConfig.cluster
 * .policies). A study gives each policy a share of the Services; Services take the values in index
 * order, as they take their types (schema-external.ts): the first share of the indexes get the first
 * value named, the next share the next, the rest keep the default. Each policy is dealt out from
 * index 0 on its own, so Services low in the index carry several policies at once.
 */
export type TrafficDistribution = 'PreferClose' | 'PreferSameZone' | 'PreferSameNode';
export type TopologyPolicy = 'none' | 'Auto' | TrafficDistribution;

export interface ServicePolicy {
  /** spec.sessionAffinityConfig.clientIP.timeoutSeconds with sessionAffinity ClientIP; 0: None. */
  affinitySeconds: number;
  /** spec.internalTrafficPolicy Local. */
  internalLocal: boolean;
  /**
   * How the EndpointSlice controller hints this Service's endpoints: the annotation
   * service.kubernetes.io/topology-mode: Auto, spec.trafficDistribution, or none. With both set the
   * annotation wins: the reconciler uses trafficDistribution only when hints are not enabled by the
   * annotation (kubernetes/endpointslice reconciler.go: canUseTrafficDistribution :=
   * ... && !hintsEnabled(service.Annotations)).
   */
  topology: TopologyPolicy;
}

/** One policy value and the share of the Services that have it. */
export interface PolicyShare<T> {
  value: T;
  share: number;
}

/** The mixes of a run, each a list of values by share (the rest of the Services: the default). */
export interface PolicyMix {
  /** ClientIP shares, one per timeout (whole seconds). */
  sessionAffinity: readonly PolicyShare<number>[];
  /** Share of the Services with internalTrafficPolicy Local. */
  internalLocal: number;
  /** Share of the Services with the topology-mode: Auto annotation. */
  topologyModeAuto: number;
  trafficDistribution: readonly PolicyShare<TrafficDistribution>[];
}

/** The value Service `s` of `services` gets from `shares` (index order, counts rounded to whole Services), or `fallback`. */
export function valueByShare<T>(shares: readonly PolicyShare<T>[], s: number, services: number, fallback: T): T {
  let acc = 0;
  for (const { value, share } of shares) {
    acc += share;
    if (s < Math.round(acc * services)) return value;
  }
  return fallback;
}

/** Every Service's policy under `m`. */
export function servicePolicies(m: PolicyMix, services: number): ServicePolicy[] {
  const out: ServicePolicy[] = [];
  for (let s = 0; s < services; s++) {
    const auto = valueByShare([{ value: true, share: m.topologyModeAuto }], s, services, false);
    const td = valueByShare<TopologyPolicy>(m.trafficDistribution, s, services, 'none');
    out.push({
      affinitySeconds: valueByShare(m.sessionAffinity, s, services, 0),
      internalLocal: valueByShare([{ value: true, share: m.internalLocal }], s, services, false),
      topology: auto ? 'Auto' : td,
    });
  }
  return out;
}
