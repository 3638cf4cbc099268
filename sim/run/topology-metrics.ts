import type { Endpoint } from '../proxy/endpoint.ts';
import type { EndpointTimeline } from '../proxy/sync/endpoint-timeline.ts';

/**
 * The figures of runs with zones or per-Service policies (topology.yaml): how much traffic crosses
 * zones, how evenly the endpoints are loaded, how often a topology policy fell back to cluster-wide
 * routing, and what internalTrafficPolicy Local dropped. Counted over measured connections only
 * (after the warm-up); runs without zones or policies write none of these columns.
 */

/**
 * Bytes of one request and one response (payload, both directions) when the study does not give
 * them: assumptions, the order of a small JSON API call and its answer. Headers of TCP/IP and TLS
 * are not counted: the figure is what cloud providers bill as inter-zone data transfer only to the
 * extent the payload dominates.
 */
export const DEFAULT_REQUEST_BYTES = 1024;
export const DEFAULT_RESPONSE_BYTES = 4096;

/**
 * A Service's load imbalance counts only when it had at least this many connections per endpoint
 * (max / mean over endpoints that each expect 20 connections scatters by about 1/sqrt(20) = 22%
 * from chance alone, so fewer would measure the dice, not the policy).
 */
export const MIN_CONNECTIONS_PER_ENDPOINT = 20;

export interface TopologyMetricsOptions {
  nodeNames: readonly string[];
  nodeZones: readonly string[];
  /** Per service port: its Service has a topology policy (Auto or trafficDistribution). */
  topologyPolicy: (service: number) => boolean;
  /** Per service port: internalTrafficPolicy Local. */
  internalLocal: (service: number) => boolean;
  requestsPerConnection: number;
  requestBytes: number;
  responseBytes: number;
  /** Measured time (duration - warm-up), for the per-second rate. */
  measuredNs: number;
}

export class TopologyMetrics {
  private readonly zoneOfNode = new Map<string, string>();
  private ok = 0;
  private crossZone = 0;
  private topologyConnections = 0;
  private fallback = 0;
  private localConnections = 0;
  private localDrops = 0;
  /** Per service port: connections per endpoint (ip:port). */
  private readonly perEndpoint = new Map<number, Map<string, number>>();
  /** Auto Services left without hints by the EndpointSlice controller (static-hints.ts or the control plane). */
  hintFallbackEvents = 0;
  servicesWithHints = 0;

  constructor(private readonly o: TopologyMetricsOptions) {
    o.nodeNames.forEach((n, i) => this.zoneOfNode.set(n, o.nodeZones[i] ?? ''));
  }

  /**
   * A measured connection to `service` met the node's rules: `noLocal` when a Local Service had no
   * endpoint on the client's node (dropped by iptables and nftables, rejected by the other modes),
   * `clusterWide` when a topology Service's hints were not used.
   */
  routed(service: number, noLocal: boolean, clusterWide: boolean): void {
    if (this.o.internalLocal(service)) this.localConnections++;
    if (noLocal) this.localDrops++;
    if (!this.o.topologyPolicy(service)) return;
    this.topologyConnections++;
    if (clusterWide) this.fallback++;
  }

  /** A measured connection from `node` to `ep` of `service` succeeded. */
  success(node: number, service: number, ep: Endpoint): void {
    this.ok++;
    if (this.zoneOfNode.get(ep.nodeName) !== this.o.nodeZones[node]) this.crossZone++;
    let m = this.perEndpoint.get(service);
    if (!m) this.perEndpoint.set(service, (m = new Map()));
    m.set(ep.endpoint, (m.get(ep.endpoint) ?? 0) + 1);
  }

  figures(timeline: EndpointTimeline): Record<string, number> {
    const o = this.o;
    const bytes = this.crossZone * o.requestsPerConnection * (o.requestBytes + o.responseBytes);
    const imbalance = this.imbalance(timeline);
    return {
      'crossZone.connections': this.crossZone,
      'crossZone.rate': this.ok ? this.crossZone / this.ok : NaN,
      'crossZone.bytes': bytes,
      'crossZone.bytesPerSecond': o.measuredNs > 0 ? bytes / (o.measuredNs / 1e9) : NaN,
      'loadImbalance.mean': imbalance.mean,
      'loadImbalance.max': imbalance.max,
      'loadImbalance.services': imbalance.services,
      'topology.fallbackConnections': this.fallback,
      'topology.fallbackRate': this.topologyConnections ? this.fallback / this.topologyConnections : NaN,
      'topology.hintFallbackEvents': this.hintFallbackEvents,
      'topology.servicesWithHints': this.servicesWithHints,
      'localPolicy.drops': this.localDrops,
      'localPolicy.dropRate': this.localConnections ? this.localDrops / this.localConnections : NaN,
    };
  }

  /**
   * Max / mean connections per endpoint of each service port with enough connections (the mean over
   * the port's endpoints at the end of the run, those that got none included), then the mean and the
   * worst of these ratios over the ports that count.
   */
  private imbalance(timeline: EndpointTimeline): { mean: number; max: number; services: number } {
    let sum = 0;
    let worst = NaN;
    let counted = 0;
    for (const [service, per] of [...this.perEndpoint].sort((a, b) => a[0] - b[0])) {
      const endpoints = new Set(timeline.endpointsAt(service, timeline.version).map((e) => e.endpoint));
      for (const k of per.keys()) endpoints.add(k);
      let total = 0;
      let max = 0;
      for (const c of per.values()) {
        total += c;
        if (c > max) max = c;
      }
      if (total < MIN_CONNECTIONS_PER_ENDPOINT * endpoints.size) continue;
      const ratio = max / (total / endpoints.size);
      sum += ratio;
      counted++;
      if (!(ratio <= worst)) worst = ratio;
    }
    return { mean: counted ? sum / counted : NaN, max: worst, services: counted };
  }
}

/** The columns TopologyMetrics.figures writes (metric-names.ts). */
export function topologyMetricNames(): string[] {
  return [
    'crossZone.connections',
    'crossZone.rate',
    'crossZone.bytes',
    'crossZone.bytesPerSecond',
    'loadImbalance.mean',
    'loadImbalance.max',
    'loadImbalance.services',
    'topology.fallbackConnections',
    'topology.fallbackRate',
    'topology.hintFallbackEvents',
    'topology.servicesWithHints',
    'localPolicy.drops',
    'localPolicy.dropRate',
  ];
}
