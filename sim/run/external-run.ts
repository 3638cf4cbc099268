import type { Simulator } from '../engine/simulator.ts';
import type { TimeSeries } from '../engine/stats/time-series.ts';
import type { ControlPlane } from '../k8s/control-plane.ts';
import type { PodIPStates } from '../k8s/pod-network.ts';
import type { PresetName } from '../cloud/presets.ts';
import type { ModeModel } from '../proxy/cost/mode-model.ts';
import type { EndpointTimeline } from '../proxy/sync/endpoint-timeline.ts';
import type { NodeProxy } from '../proxy/sync/node-proxy.ts';
import type { ModelConfig } from './config.ts';
import { NodeHealth } from './external-health.ts';
import { ExternalLoadBalancers } from './external-lb.ts';
import { ExternalMetrics } from './external-metrics.ts';
import { manifestExternalServices, syntheticExternalServices, type ExternalServicePort } from './external-services.ts';
import { ExternalTraffic, type ExternalConnectionRecord } from './external-traffic.ts';

type SyncHook = (node: number, from: number, to: number, now: number, ok: boolean) => void;

/**
 * North-south traffic in one run (config.external): kube-proxy's health state per node, the cloud
 * load balancers, the external clients and their metrics, wired into run-model.ts at four points:
 * the sync hook, the agents (wrapped to see delivered changes), the start, and the figures.
 */
export class ExternalRun {
  readonly health: NodeHealth;
  readonly metrics: ExternalMetrics;
  private traffic: ExternalTraffic | null = null;
  private lbs: ExternalLoadBalancers | null = null;

  constructor(
    private readonly sim: Simulator,
    private readonly config: ModelConfig,
    private readonly nodeNames: readonly string[],
    private readonly controlPlane: ControlPlane | null,
  ) {
    this.health = new NodeHealth(sim, nodeNames, config.proxy.syncPeriodNs, controlPlane);
    this.metrics = new ExternalMetrics(config.timeseriesIntervalNs);
  }

  /** The sync observer to give SyncEffects: kube-proxy's Updated() after each successful sync, then `next`. */
  onSync(next: SyncHook | undefined): SyncHook {
    return (node, from, to, now, ok) => {
      this.health.synced(node, ok);
      next?.(node, from, to, now, ok);
    };
  }

  /** The nodes' proxies as the run should use them (each delivered change is a QueuedUpdate). */
  track(agents: readonly NodeProxy[]): NodeProxy[] {
    return this.health.track(agents);
  }

  /** Builds the load balancers and the clients once the cluster, proxies and pod states exist. */
  attach(timeline: EndpointTimeline, agents: readonly NodeProxy[], mode: ModeModel, pods: PodIPStates, observer?: (r: ExternalConnectionRecord) => void): void {
    const clients = this.config.external!;
    const ports = externalPorts(this.config);
    const c = this.config;
    this.lbs = new ExternalLoadBalancers(ports, timeline, agents, this.nodeNames, this.health, clients.provider as PresetName, clients.healthCheck, this.metrics, c.warmupNs, mode.mode, clients.terminatingFallback, this.sim);
    this.traffic = new ExternalTraffic(this.sim, { clients, ports, timeline, agents, nodeNames: this.nodeNames, pods, mode, health: this.health, lbs: this.lbs, durationNs: c.durationNs, warmupNs: c.warmupNs }, this.metrics);
    if (observer) this.traffic.observer = observer;
    const lbs = this.lbs;
    this.controlPlane?.onNodeDrain((e) => {
      if (e.kind === 'deleted') lbs.removeNode(e.node);
    });
  }

  start(): void {
    this.health.start();
    this.lbs!.start();
    this.traffic!.start();
  }

  get series(): TimeSeries[] {
    return [this.metrics.connectionsSeries, this.metrics.failedSeries];
  }

  figures(): Record<string, number> {
    this.lbs!.finish(this.config.durationNs);
    return this.metrics.figures();
  }
}

/** The run's externally reachable service ports: from the manifests, or the synthetic cluster's Service types. */
export function externalPorts(config: ModelConfig): ExternalServicePort[] {
  const c = config.cluster;
  if (c.manifest) return manifestExternalServices(c.manifest.ports);
  if (!c.serviceTypes) return [];
  return syntheticExternalServices(c.services, c.portsPerService ?? 1, c.serviceTypes);
}
