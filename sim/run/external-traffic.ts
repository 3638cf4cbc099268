import type { Simulator } from '../engine/simulator.ts';
import type { RandomStream } from '../engine/random.ts';
import type { PodIPStates } from '../k8s/pod-network.ts';
import type { ModeModel } from '../proxy/cost/mode-model.ts';
import type { EndpointTimeline } from '../proxy/sync/endpoint-timeline.ts';
import type { NodeProxy } from '../proxy/sync/node-proxy.ts';
import type { ExternalClients } from './external-config.ts';
import { externalEndpoints } from './external-endpoints.ts';
import type { NodeHealth } from './external-health.ts';
import type { ExternalLoadBalancers } from './external-lb.ts';
import { EXTERNAL_REASONS, type ExternalMetrics } from './external-metrics.ts';
import type { ExternalServicePort } from './external-services.ts';
import { ipvsExternalDecision, ruleModeExternalDecision } from '../proxy/cost/external-path.ts';
import type { FirstPacketInput } from '../proxy/cost/mode-model.ts';
import type { Outcome } from './metrics.ts';

/** How an external connection reaches the cluster. */
export type ExternalEntry = 'loadBalancer' | 'nodePort' | 'externalIP';

/** One external connection's course, for tests: where it entered, the node, the endpoint (null: none), its end. */
export interface ExternalConnectionRecord {
  port: ExternalServicePort;
  entry: ExternalEntry;
  node: number | null;
  endpoint: string | null;
  endpointNode: string | null;
  masqueraded: boolean;
  outcome: Outcome;
  reason?: string;
  now: number;
}

export interface ExternalTrafficParts {
  clients: ExternalClients;
  ports: readonly ExternalServicePort[];
  timeline: EndpointTimeline;
  agents: readonly NodeProxy[];
  nodeNames: readonly string[];
  pods: PodIPStates;
  mode: ModeModel;
  health: NodeHealth;
  lbs: ExternalLoadBalancers;
  durationNs: number;
  warmupNs: number;
}

/**
 * Clients outside the cluster: new connections arrive as one Poisson process (stream
 * `external/arrivals`), each to an externally reachable service port chosen uniformly. A connection
 * to a LoadBalancer Service goes through its cloud load balancer, which picks a node among the ones
 * its health checks find healthy (sim/cloud/load-balancer.ts), unless it is one of the
 * `nodePortShare` sent to NodeIP:nodePort of a node chosen uniformly; a NodePort Service is reached
 * at a node port, an external IP at a node chosen uniformly (the route to it is outside Kubernetes).
 *
 * At the node the first packet meets the node's *active* rules (the version of its last successful
 * sync; the cost tier says what they do, sim/proxy/cost/external-path.ts, and external-endpoints.ts
 * which endpoints they hold): a
 * drop leaves the client waiting its connect timeout, a reject answers at once. A forwarded packet
 * may go to an endpoint on another node (an extra hop) and is masqueraded under eTP Cluster. The
 * endpoint's pod may be gone while the rules still hold it, as for ClusterIP traffic (traffic.ts):
 * an address that does not answer times out, a pod without a listener resets. A node that is down or
 * deleted answers nothing. The client side's conntrack is not modelled (the node's entry for the
 * external connection is not counted in conntrack figures).
 */
export class ExternalTraffic {
  private readonly arrivals: RandomStream;
  private readonly pick: RandomStream;
  private readonly meanGapNs: number;
  private readonly sim: Simulator;
  private readonly hasRanges: boolean;
  observer: ((r: ExternalConnectionRecord) => void) | null = null;

  constructor(
    sim: Simulator,
    private readonly p: ExternalTrafficParts,
    private readonly metrics: ExternalMetrics,
  ) {
    this.sim = sim;
    this.arrivals = sim.rng('external/arrivals');
    this.pick = sim.rng('external/destinations');
    this.meanGapNs = 1e9 / p.clients.connectionsPerSecond;
    this.hasRanges = p.ports.some((x) => x.sourceRanges.length > 0);
  }

  start(): void {
    if (this.p.ports.length > 0) this.sim.schedule(this.gap(), onArrival, this);
  }

  private gap(): number {
    return Math.max(1, Math.round(this.arrivals.exponential(this.meanGapNs)));
  }

  /** @internal An arrival: the next is scheduled, then this one connects. */
  arrive(): void {
    const sim = this.sim;
    if (sim.now < this.p.durationNs) sim.schedule(this.gap(), onArrival, this);
    const port = this.p.ports[this.pick.integer(0, this.p.ports.length - 1)]!;
    const entry = this.entryOf(port);
    // Draws only in runs with source ranges, so a study without them keeps its numbers.
    const outside = this.hasRanges && this.p.clients.outsideSourceRanges > 0 && port.sourceRanges.length > 0 && this.pick.random() < this.p.clients.outsideSourceRanges;
    let node: number | null;
    if (entry === 'loadBalancer') node = this.p.lbs.pick(port);
    else node = this.pick.integer(0, this.p.nodeNames.length - 1);
    this.connect(port, entry, node, outside);
  }

  private entryOf(port: ExternalServicePort): ExternalEntry {
    if (port.kind === 'NodePort') return 'nodePort';
    if (port.kind === 'ExternalIP') return 'externalIP';
    const share = this.p.clients.nodePortShare;
    return share > 0 && this.pick.random() < share ? 'nodePort' : 'loadBalancer';
  }

  /** One connection to `port` through `entry`, arriving at `node` (null: the load balancer had no backend). */
  connect(port: ExternalServicePort, entry: ExternalEntry, node: number | null, outside: boolean): void {
    const rec: ExternalConnectionRecord = { port, entry, node, endpoint: null, endpointNode: null, masqueraded: false, outcome: 'ok', now: this.sim.now };
    if (node === null) return this.end(rec, 'dropped', EXTERNAL_REASONS.noBackend);
    if (!this.p.health.up(node)) return this.end(rec, 'timeout', EXTERNAL_REASONS.nodeGone);
    const nodeName = this.p.nodeNames[node]!;
    const serving = this.p.timeline.servingAt(port.service, this.p.agents[node]!.active);
    const fallback = this.p.clients.terminatingFallback;
    const cluster = externalEndpoints(serving, false, nodeName, fallback);
    const local = externalEndpoints(serving, true, nodeName, fallback);
    const input = this.firstPacket(port, entry, cluster.length, local.length, outside);
    const d = this.p.mode.mode === 'ipvs' ? ipvsExternalDecision(input) : ruleModeExternalDecision(input);
    const v = d.verdict;
    // A drop: the SYN is lost and the client retries until its connect timeout; a reject: ICMP port unreachable at once.
    if (v.kind === 'reject') return this.end(rec, 'refused', EXTERNAL_REASONS.noEndpoints);
    if (v.kind === 'drop') return this.end(rec, 'dropped', v.reason === 'source-range' ? EXTERNAL_REASONS.sourceRange : EXTERNAL_REASONS.noLocal);
    const list = d.list === 'local' ? local : cluster;
    input.chosen = this.choose(list.length);
    if (this.measured()) this.metrics.firstPacketLatency.record(this.p.mode.firstPacket(input).costNs);
    const ep = list[input.chosen]!;
    rec.endpoint = ep.endpoint;
    rec.endpointNode = ep.nodeName;
    rec.masqueraded = v.masquerade;
    if (this.measured()) this.metrics.forward(!v.masquerade, ep.nodeName === nodeName ? 0 : 1);
    if (v.replyLost) return this.end(rec, 'timeout', EXTERNAL_REASONS.replyLost);
    const answer = this.p.pods.state(ep.ip);
    if (answer === 'unreachable') return this.end(rec, 'timeout', EXTERNAL_REASONS.endpointGone);
    if (answer === 'refusing') return this.end(rec, 'reset', EXTERNAL_REASONS.endpointRefused);
    this.end(rec, 'ok');
  }

  /**
   * The first packet as the cost tier takes it: what the node's rules do with an external client's
   * packet (sim/proxy/cost/external-path.ts, kube-proxy's iptables / nftables rules or ipvs) and
   * what walking them costs (ModeModel.firstPacket), from the sizes of the Cluster and Local lists.
   * A client inside the source ranges is taken as held by the first range (which one changes only
   * the rule count, not the verdict). The other external Services' rules the walk passes are left
   * out (FirstPacketInput.node absent), as is the position of the Service's rules in the chains.
   */
  private firstPacket(port: ExternalServicePort, entry: ExternalEntry, cluster: number, local: number, outside: boolean): FirstPacketInput {
    return {
      services: this.p.timeline.services.length,
      servicesWithoutEndpoints: 0,
      position: 0,
      endpoints: cluster,
      chosen: 0,
      entry,
      source: 'external',
      externalTrafficPolicy: port.local ? 'Local' : 'Cluster',
      localEndpoints: local,
      ...(entry === 'loadBalancer' && port.sourceRanges.length > 0 ? { sourceRange: { ranges: port.sourceRanges.length, allowedBy: outside ? -1 : 0 } } : {}),
    };
  }

  /** ipvs picks round robin in kube-proxy's default; the statistic / numgen modes at random: both are uniform over the list here. */
  private choose(n: number): number {
    return n > 1 ? this.pick.integer(0, n - 1) : 0;
  }

  private measured(): boolean {
    return this.sim.now >= this.p.warmupNs;
  }

  private end(rec: ExternalConnectionRecord, outcome: Outcome, reason?: string): void {
    rec.outcome = outcome;
    if (reason !== undefined) rec.reason = reason;
    if (this.measured()) this.metrics.connection(this.sim.now, outcome, reason);
    this.observer?.(rec);
  }
}

const onArrival = (t: ExternalTraffic) => t.arrive();
