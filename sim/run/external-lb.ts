import type { Simulator } from '../engine/simulator.ts';
import { CloudLoadBalancer, type ProbeResult } from '../cloud/load-balancer.ts';
import { HealthChecker } from '../cloud/health-checker.ts';
import { PRESETS, healthCheckFor, type HealthCheckSpec, type PresetName } from '../cloud/presets.ts';
import type { EndpointTimeline } from '../proxy/sync/endpoint-timeline.ts';
import type { NodeProxy } from '../proxy/sync/node-proxy.ts';
import type { HealthCheckOverrides } from './external-config.ts';
import { answerProbe, type TrafficPortAnswer } from '../proxy/health/probe.ts';
import { ipvsExternalDecision, ruleModeExternalDecision } from '../proxy/cost/external-path.ts';
import type { ProxyMode } from '../proxy/mode.ts';
import { externalEndpoints, localReadyEndpoints } from './external-endpoints.ts';
import type { NodeHealth } from './external-health.ts';
import type { ExternalMetrics } from './external-metrics.ts';
import type { ExternalServicePort } from './external-services.ts';

/** One cloud load balancer of the run and what the gone-endpoint metric keeps for it. */
interface Balancer {
  lb: CloudLoadBalancer;
  /** The timeline index of the Service's first port (its endpoints stand for the Service's). */
  service: number;
  /** Per node: local Ready endpoint IPs now, and when the last one left (undefined: it has some). */
  ready: number[];
  goneSince: (number | undefined)[];
}

/**
 * The run's cloud load balancers (sim/cloud/load-balancer.ts), one per LoadBalancer Service (its
 * ports share the address and the balancer), every node in the backend pool, each node probed with
 * the provider preset's health check for the Service's externalTrafficPolicy (sim/cloud/presets.ts),
 * fields of `external.healthCheck` overriding it. A probe is answered from the node's state at its
 * instant (NodeHealth): kube-proxy's /healthz, the Service's healthCheckNodePort (its local Ready
 * endpoints at the node's active rules), or a TCP connect to the node port (the node's rules have
 * an endpoint for it). A node that is down or deleted does not answer.
 *
 * It also measures `lb.lastConnectionAfterEndpointGone`: for each node and balancer, from the moment
 * the node's last local Ready endpoint left (the trigger time of the endpoint change: the pod event)
 * to the balancer's last new connection to that node before the node had one again (or the run
 * ended); 0 when the balancer sent it nothing after. Episodes that start in the warm-up are left out.
 */
export class ExternalLoadBalancers {
  private readonly byAddress = new Map<string, Balancer>();
  private readonly nodeIndex = new Map<string, number>();
  private processed = 0;
  /** The node-level health check the balancers share, if any uses one. */
  private shared: HealthChecker | undefined;

  constructor(
    ports: readonly ExternalServicePort[],
    private readonly timeline: EndpointTimeline,
    private readonly agents: readonly NodeProxy[],
    private readonly nodeNames: readonly string[],
    private readonly health: NodeHealth,
    provider: PresetName,
    overrides: HealthCheckOverrides,
    private readonly metrics: ExternalMetrics,
    private readonly warmupNs: number,
    private readonly mode: ProxyMode,
    private readonly terminatingFallback: boolean,
    private readonly sim: Simulator,
  ) {
    nodeNames.forEach((n, i) => this.nodeIndex.set(n, i));
    const preset = PRESETS[provider];
    for (const port of ports) {
      if (port.kind !== 'LoadBalancer' || port.address === null || this.byAddress.has(port.address)) continue;
      const spec = withOverrides(healthCheckFor(preset, port.local ? 'Local' : 'Cluster'), overrides);
      const sp = timeline.services[port.service]!;
      const name = `${sp.portName.namespace}/${sp.portName.name}`;
      const probe = (node: string) => this.probe(spec, port, node);
      // A node-level check (kube-proxy's /healthz) is one check shared by every Service that uses it:
      // GKE's L4 controller creates one node health check for all eTP Cluster Services
      // (kubernetes/ingress-gce pkg/healthchecksl4 healthchecksl4.go, the shared HC), as the
      // providers' "shared" probe modes do; its answer does not depend on the Service.
      const lb =
        spec.target === 'kube-proxy-healthz'
          ? new CloudLoadBalancer(sim, { name, whenAllUnhealthy: preset.whenAllUnhealthy, checker: (this.shared ??= new HealthChecker(sim, { name: 'nodes/kube-proxy-healthz', nodes: nodeNames, healthCheck: spec, probe })) })
          : new CloudLoadBalancer(sim, { name, nodes: nodeNames, healthCheck: spec, whenAllUnhealthy: preset.whenAllUnhealthy, probe });
      const serving = timeline.servingAt(port.service, timeline.version);
      this.byAddress.set(port.address, { lb, service: port.service, ready: nodeNames.map((n) => localReadyEndpoints(serving, n)), goneSince: nodeNames.map(() => undefined) });
    }
  }

  start(): void {
    this.shared?.start();
    for (const b of this.byAddress.values()) b.lb.start();
  }

  /** The node the port's load balancer sends a new connection to now (null: none). */
  pick(port: ExternalServicePort): number | null {
    this.catchUp();
    const b = this.byAddress.get(port.address!)!;
    const name = b.lb.pickNode();
    return name === undefined ? null : this.nodeIndex.get(name)!;
  }

  /**
   * The Node was deleted: the cloud provider's service controller takes it out of every load
   * balancer's backend pool (k8s.io/cloud-provider controllers/service: nodes are synced to the load
   * balancers when the node set changes; since KEP-3458 readiness and taints no longer remove a node,
   * only its deletion or exclusion does). The controller's own delay is left out.
   */
  removeNode(name: string): void {
    this.shared?.removeNode(name);
    for (const b of this.byAddress.values()) b.lb.removeNode(name);
  }

  /** Closes the episodes still open when the run ends at `end`. */
  finish(end: number): void {
    this.catchUp();
    for (const b of this.byAddress.values()) b.goneSince.forEach((_, n) => this.closeEpisode(b, n, end));
  }

  private probe(spec: HealthCheckSpec, port: ExternalServicePort, nodeName: string): ProbeResult {
    const n = this.nodeIndex.get(nodeName)!;
    const serving = this.timeline.servingAt(port.service, this.agents[n]!.active);
    const trafficPort = spec.target === 'traffic-port' ? this.trafficPort(port, serving, nodeName) : 'accepts';
    const sp = this.timeline.services[port.service]!.portName;
    return answerProbe(spec.target, this.health.probeState(n, localReadyEndpoints(serving, nodeName), trafficPort), { namespace: sp.namespace, name: sp.name }, this.sim.now);
  }

  /**
   * A TCP probe of NodeIP:nodePort, from outside, meets the node's rules as a client's SYN does
   * (sim/proxy/cost/external-path.ts): forwarded to an endpoint it is answered (the endpoint's own
   * state is left out), rejected it fails at once, dropped it times out.
   */
  private trafficPort(port: ExternalServicePort, serving: Parameters<typeof externalEndpoints>[0], nodeName: string): TrafficPortAnswer {
    const fallback = this.terminatingFallback;
    const p = {
      services: 1,
      servicesWithoutEndpoints: 0,
      position: 0,
      endpoints: externalEndpoints(serving, false, nodeName, fallback).length,
      chosen: 0,
      entry: 'nodePort' as const,
      source: 'external' as const,
      externalTrafficPolicy: port.local ? ('Local' as const) : ('Cluster' as const),
      localEndpoints: externalEndpoints(serving, true, nodeName, fallback).length,
    };
    const v = (this.mode === 'ipvs' ? ipvsExternalDecision(p) : ruleModeExternalDecision(p)).verdict;
    if (v.kind === 'reject') return 'refuses';
    return v.kind === 'drop' || v.replyLost ? 'drops' : 'accepts';
  }

  /** Follows the timeline's changes to the balanced Services: per node, its local Ready endpoints. */
  private catchUp(): void {
    const t = this.timeline;
    for (let v = this.processed + 1; v <= t.version; v++) {
      const c = t.change(v);
      for (const b of this.byAddress.values()) {
        if (b.service !== c.service) continue;
        const serving = t.servingAt(c.service, v);
        this.nodeNames.forEach((name, n) => {
          const after = localReadyEndpoints(serving, name);
          const before = b.ready[n]!;
          b.ready[n] = after;
          if (before > 0 && after === 0) b.goneSince[n] = c.triggerTime;
          else if (before === 0 && after > 0) this.closeEpisode(b, n, c.triggerTime);
        });
      }
    }
    this.processed = t.version;
  }

  private closeEpisode(b: Balancer, n: number, end: number): void {
    const since = b.goneSince[n];
    if (since === undefined) return;
    b.goneSince[n] = undefined;
    if (since < this.warmupNs) return;
    const last = b.lb.lastNewConnection(this.nodeNames[n]!);
    this.metrics.lastConnectionAfterGone.record(last !== undefined && last > since ? Math.min(last, end) - since : 0);
  }
}

function withOverrides(spec: HealthCheckSpec, o: HealthCheckOverrides): HealthCheckSpec {
  return {
    ...spec,
    ...(o.intervalNs !== undefined ? { interval: o.intervalNs } : {}),
    ...(o.timeoutNs !== undefined ? { timeout: o.timeoutNs } : {}),
    ...(o.healthyThreshold !== undefined ? { healthyThreshold: o.healthyThreshold } : {}),
    ...(o.unhealthyThreshold !== undefined ? { unhealthyThreshold: o.unhealthyThreshold } : {}),
  };
}
