import type { EndpointTimeline } from '../proxy/sync/endpoint-timeline.ts';
import type { ModeModel } from '../proxy/cost/mode-model.ts';
import type { ModelConfig } from './config.ts';
import type { ControlPlane, ControlPlaneOptions } from '../k8s/control-plane.ts';
import type { SyntheticEndpointsOptions } from './synthetic-endpoints.ts';
import { ServiceAffinities, type AffinityTable } from './service-affinities.ts';
import { TopologyMetrics, DEFAULT_REQUEST_BYTES, DEFAULT_RESPONSE_BYTES } from './topology-metrics.ts';
import { staticHints } from './static-hints.ts';
import type { ServicePolicy } from './service-policy.ts';

/**
 * What a run with zones or per-Service policies adds to run-model.ts: the synthetic cluster's zones,
 * policies and hints, each Service's own affinity, and the topology figures. A run without zones and
 * without per-Service policies gets none of it (topologyParts returns null) and takes the path it
 * always took.
 */
export interface TopologyParts {
  /** The synthetic cluster's zones, per-Service policies and the EndpointSlice controller's hints. */
  syntheticOptions(): Pick<SyntheticEndpointsOptions, 'zones' | 'policies' | 'hint'>;
  /** Once the timeline holds the cluster: the figures' bookkeeping. */
  attach(timeline: EndpointTimeline, nodeNames: readonly string[]): void;
  /** ClientIP affinity for the service ports that have it; null when none does. */
  affinity(mode: ModeModel): AffinityTable | null;
  readonly metrics: TopologyMetrics | null;
  figures(timeline: EndpointTimeline, controlPlane: ControlPlane | null): Record<string, number>;
  /** Some Service has internalTrafficPolicy Local. */
  readonly anyLocal: boolean;
}

export function topologyParts(config: ModelConfig): TopologyParts | null {
  const c = config.cluster;
  if (!c.zones && !c.policies && !c.manifest?.perService) return null;
  return new TopologyRun(config);
}

class TopologyRun implements TopologyParts {
  metrics: TopologyMetrics | null = null;
  private timeline: EndpointTimeline | null = null;
  readonly anyLocal: boolean;
  private hintStats = { fallbackEvents: 0, servicesWithHints: 0 };

  constructor(private readonly config: ModelConfig) {
    const c = config.cluster;
    this.anyLocal = c.policies ? c.policies.some((p) => p.internalLocal) : c.manifest ? c.manifest.ports.some((p) => p.internalPolicyLocal) : c.trafficPolicy === 'Local';
  }

  syntheticOptions(): Pick<SyntheticEndpointsOptions, 'zones' | 'policies' | 'hint'> {
    const c = this.config.cluster;
    const policies = c.policies;
    // Without zones no node has a zone label (and SetNodes gives up before CPU matters).
    const nodeZones = c.zones?.nodeZones ?? Array.from({ length: c.nodes }, () => '');
    const hint = policies ? staticHints(nodeZones, c.zones?.nodeCpuMilli ?? nodeZones.map(() => 0), policies, this.hintStats) : undefined;
    return { ...(c.zones ? { zones: c.zones } : {}), ...(policies ? { policies } : {}), ...(hint ? { hint } : {}) };
  }

  attach(timeline: EndpointTimeline, nodeNames: readonly string[]): void {
    this.timeline = timeline;
    const c = this.config.cluster;
    const t = this.config.traffic;
    const ports = c.portsPerService ?? 1;
    const policyOf = (service: number): ServicePolicy | undefined => c.policies?.[Math.floor(service / ports)];
    this.metrics = new TopologyMetrics({
      nodeNames,
      nodeZones: c.zones?.nodeZones ?? nodeNames.map(() => ''),
      topologyPolicy: (s) => (policyOf(s)?.topology ?? 'none') !== 'none' || (c.manifest?.topology?.[s] ?? 'none') !== 'none',
      internalLocal: (s) => timeline.services[s]?.internalPolicyLocal ?? false,
      requestsPerConnection: t.requestsPerConnection,
      requestBytes: t.requestBytes ?? DEFAULT_REQUEST_BYTES,
      responseBytes: t.responseBytes ?? DEFAULT_RESPONSE_BYTES,
      measuredNs: this.config.durationNs - this.config.warmupNs,
    });
  }

  affinity(mode: ModeModel): AffinityTable | null {
    const a = new ServiceAffinities(mode.affinityStore, this.timeline!.services.map((sp) => sp.stickyMaxAgeSeconds));
    return a.any ? a : null;
  }

  figures(timeline: EndpointTimeline, controlPlane: ControlPlane | null): Record<string, number> {
    const m = this.metrics!;
    // With a control plane its EndpointSlice controller wrote the hints (and counted its fallbacks).
    const stats = controlPlane ? controlPlane.stats().hints : this.hintStats;
    m.hintFallbackEvents = stats.fallbackEvents;
    m.servicesWithHints = stats.servicesWithHints;
    return m.figures(timeline);
  }
}

/**
 * A synthetic cluster with churn: its zones and CPU on the control plane's nodes, and each Service's
 * topology-mode annotation or trafficDistribution, so the EndpointSlice controller writes (and keeps
 * up to date through churn) the hints kube-proxy reads (sim/k8s/control-plane.ts).
 */
export function topologyControlPlaneOptions(config: ModelConfig): Pick<ControlPlaneOptions, 'nodeZones' | 'nodeCpus' | 'serviceTopology'> {
  const c = config.cluster;
  const policies = c.policies;
  return {
    ...(c.zones ? { nodeZones: c.zones.nodeZones, nodeCpus: c.zones.nodeCpuMilli.map((m) => m / 1000) } : {}),
    ...(policies?.some((p) => p.topology !== 'none')
      ? {
          serviceTopology: (s: number) => {
            const t = policies[s]?.topology ?? 'none';
            return t === 'none' ? {} : t === 'Auto' ? { topologyMode: 'Auto' as const } : { trafficDistribution: t };
          },
        }
      : {}),
  };
}
