import { Histogram } from '../engine/stats/histogram.ts';
import { TimeSeries } from '../engine/stats/time-series.ts';
import { OUTCOMES, dropColumn, type Outcome } from './metrics.ts';

/** Why an external connection failed (external-traffic.ts, from the cost tier's verdicts: sim/proxy/cost/external-path.ts); each has its `external.drops.*` column. */
export const EXTERNAL_REASONS = {
  /** eTP Local, no local endpoint on the node: kube-proxy's DROP "has no local endpoints". */
  noLocal: 'no local endpoints',
  /** No usable endpoint anywhere: kube-proxy's REJECT "has no endpoints". */
  noEndpoints: 'service has no endpoints',
  /** The client is outside loadBalancerSourceRanges: KUBE-PROXY-FIREWALL / firewall-ips drop. */
  sourceRange: 'outside loadBalancerSourceRanges',
  endpointGone: 'endpoint does not answer',
  endpointRefused: 'endpoint refused (RST)',
  /** The node is down or deleted: nothing answers at its address. */
  nodeGone: 'node does not answer',
  /** ipvs, eTP Local, no local endpoint: forwarded to a remote endpoint without SNAT; the reply bypasses the node and is lost. */
  replyLost: 'reply lost (ipvs without SNAT)',
  /** Every node failed the load balancer's health checks and the provider sends new flows nowhere (whenAllUnhealthy none). */
  noBackend: 'load balancer has no healthy backend',
} as const;

export const EXTERNAL_REASON_LIST: readonly string[] = Object.values(EXTERNAL_REASONS);

/** The runs.csv column of an external failure reason: `external.drops.no_local_endpoints`. */
export function externalDropColumn(reason: string): string {
  return `external.${dropColumn(reason)}`;
}

/** Column names of a run with external clients (metric-names.ts lists them before any run). */
export function externalMetricNames(): string[] {
  return [
    'external.connections.total',
    ...OUTCOMES.map((o) => `external.connections.${o}`),
    'external.failedConnections.rate',
    ...EXTERNAL_REASON_LIST.map(externalDropColumn),
    'external.clientIPPreserved.rate',
    ...['mean', 'p50', 'p99', 'max'].map((s) => `external.firstPacketLatency.${s}`),
    'external.extraHops.mean',
    'lb.lastConnectionAfterEndpointGone.p50',
    'lb.lastConnectionAfterEndpointGone.p99',
    'lb.lastConnectionAfterEndpointGone.max',
    'lb.lastConnectionAfterEndpointGone.count',
  ];
}

/** Series of timeseries.csv in a run with external clients. */
export const EXTERNAL_SERIES: readonly string[] = ['externalConnections', 'externalFailedConnections'];

/**
 * The measurements of external traffic in one run (only connections that start after the warm-up).
 * `clientIPPreserved.rate` and `extraHops.mean` are over the connections a node forwarded to an
 * endpoint (DNAT done), whatever their end.
 */
export class ExternalMetrics {
  readonly outcomes: Record<Outcome, number> = { ok: 0, refused: 0, reset: 0, timeout: 0, dropped: 0 };
  readonly reasons = new Map<string, number>(EXTERNAL_REASON_LIST.map((r) => [r, 0]));
  forwarded = 0;
  preserved = 0;
  extraHops = 0;
  /** Per node that lost its last local Ready endpoint: from then to the load balancer's last new connection to it. */
  readonly lastConnectionAfterGone = new Histogram();
  /** CPU time of each external first packet on the node it entered (the cost tier's walk of its entry). */
  readonly firstPacketLatency = new Histogram();
  readonly connectionsSeries: TimeSeries;
  readonly failedSeries: TimeSeries;

  constructor(intervalNs: number) {
    this.connectionsSeries = new TimeSeries('externalConnections', intervalNs, 'sum');
    this.failedSeries = new TimeSeries('externalFailedConnections', intervalNs, 'sum');
  }

  connection(now: number, outcome: Outcome, reason?: string): void {
    this.outcomes[outcome]++;
    this.connectionsSeries.record(now, 1);
    if (outcome !== 'ok') this.failedSeries.record(now, 1);
    if (reason) this.reasons.set(reason, (this.reasons.get(reason) ?? 0) + 1);
  }

  forward(clientPreserved: boolean, hops: number): void {
    this.forwarded++;
    if (clientPreserved) this.preserved++;
    this.extraHops += hops;
  }

  figures(): Record<string, number> {
    const m: Record<string, number> = {};
    const total = OUTCOMES.reduce((s, o) => s + this.outcomes[o], 0);
    m['external.connections.total'] = total;
    for (const o of OUTCOMES) m[`external.connections.${o}`] = this.outcomes[o];
    m['external.failedConnections.rate'] = total ? (total - this.outcomes.ok) / total : 0;
    for (const [reason, n] of this.reasons) m[externalDropColumn(reason)] = n;
    m['external.clientIPPreserved.rate'] = this.forwarded ? this.preserved / this.forwarded : NaN;
    m['external.extraHops.mean'] = this.forwarded ? this.extraHops / this.forwarded : NaN;
    const fp = this.firstPacketLatency;
    m['external.firstPacketLatency.mean'] = fp.mean;
    m['external.firstPacketLatency.p50'] = fp.percentile(0.5);
    m['external.firstPacketLatency.p99'] = fp.percentile(0.99);
    m['external.firstPacketLatency.max'] = fp.count ? fp.max : NaN;
    const h = this.lastConnectionAfterGone;
    m['lb.lastConnectionAfterEndpointGone.p50'] = h.percentile(0.5);
    m['lb.lastConnectionAfterEndpointGone.p99'] = h.percentile(0.99);
    m['lb.lastConnectionAfterEndpointGone.max'] = h.count ? h.max : NaN;
    m['lb.lastConnectionAfterEndpointGone.count'] = h.count;
    return m;
  }
}
