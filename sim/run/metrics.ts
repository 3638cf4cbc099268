import { Histogram } from '../engine/stats/histogram.ts';
import { TimeSeries } from '../engine/stats/time-series.ts';
import { DROP_TABLE_FULL } from '../conntrack/common.ts';

/** How a connection ended (docs/design.md: every connection ends in exactly one outcome). */
export type Outcome = 'ok' | 'refused' | 'reset' | 'timeout' | 'dropped';
export const OUTCOMES: readonly Outcome[] = ['ok', 'refused', 'reset', 'timeout', 'dropped'];

/** The reasons traffic.ts and client-conntrack.ts give for a failed connection. */
export const KNOWN_REASONS: readonly string[] = [
  'service has no endpoints',
  'no local endpoints',
  'endpoint does not answer',
  'endpoint refused (RST)',
  'endpoint port unreachable (ICMP)',
  DROP_TABLE_FULL,
  'conntrack insert failed',
];

/** The runs.csv column of a drop reason: `nf_conntrack table full` -> `drops.nf_conntrack_table_full`. */
export function dropColumn(reason: string): string {
  return `drops.${reason.replace(/[^A-Za-z0-9]+/g, '_')}`;
}

/** The latency and size histograms of a run; each gives the columns NAME.mean, .p50, .p99, .max. */
export const HISTOGRAMS = [
  'firstPacketLatency',
  'connectLatency',
  'rulesVisited',
  'cpuPerConnection',
  'syncDuration',
  'fullSyncDuration',
  'syncUnits',
  'networkProgrammingLatency',
  'staleEndpointWindow',
] as const;
export const HISTOGRAM_STATS = ['mean', 'p50', 'p99', 'max'] as const;

export interface RunOutput {
  metrics: Record<string, number>;
  timeseries: { t: number; series: string; value: number }[];
}

/**
 * The measurements of one run. Durations are recorded in ns; metric names are the stable column
 * names of runs.csv and summary.json (`firstPacketLatency.p99`, `failedConnections.rate`, ...).
 */
export class RunMetrics {
  readonly outcomes: Record<Outcome, number> = { ok: 0, refused: 0, reset: 0, timeout: 0, dropped: 0 };
  readonly dropReasons = new Map<string, number>();
  readonly firstPacketLatency = new Histogram();
  readonly connectLatency = new Histogram();
  readonly rulesVisited = new Histogram();
  readonly cpuPerConnection = new Histogram();
  readonly syncDuration = new Histogram();
  readonly fullSyncDuration = new Histogram();
  readonly syncUnits = new Histogram();
  readonly networkProgrammingLatency = new Histogram();
  readonly staleEndpointWindow = new Histogram();
  syncs = 0;
  syncFailures = 0;
  /** ClientIP affinity: new connections sent back to a remembered endpoint, and those chosen afresh. */
  affinityHits = 0;
  affinityMisses = 0;
  readonly series: TimeSeries[];
  readonly failedSeries: TimeSeries;
  readonly connectionsSeries: TimeSeries;
  readonly staleNodesSeries: TimeSeries;
  readonly syncsSeries: TimeSeries;

  constructor(readonly intervalNs: number) {
    this.connectionsSeries = new TimeSeries('connections', intervalNs, 'sum');
    this.failedSeries = new TimeSeries('failedConnections', intervalNs, 'sum');
    this.staleNodesSeries = new TimeSeries('nodesBehind', intervalNs, 'last');
    this.syncsSeries = new TimeSeries('syncs', intervalNs, 'sum');
    this.series = [this.connectionsSeries, this.failedSeries, this.staleNodesSeries, this.syncsSeries];
  }

  connection(now: number, outcome: Outcome, reason?: string): void {
    this.outcomes[outcome]++;
    this.connectionsSeries.record(now, 1);
    if (outcome !== 'ok') this.failedSeries.record(now, 1);
    if (reason) this.dropReasons.set(reason, (this.dropReasons.get(reason) ?? 0) + 1);
  }

  output(extra: Record<string, number>, untilNs: number): RunOutput {
    const m: Record<string, number> = {};
    const total = OUTCOMES.reduce((s, o) => s + this.outcomes[o], 0);
    m['connections.total'] = total;
    for (const o of OUTCOMES) m[`connections.${o}`] = this.outcomes[o];
    const failed = total - this.outcomes.ok;
    m['failedConnections.count'] = failed;
    m['failedConnections.rate'] = total ? failed / total : 0;
    // Every reason the model can give has its column, 0 when it did not happen, so runs of one study
    // share columns and a chart of drops by reason has no holes.
    for (const reason of KNOWN_REASONS) if (!this.dropReasons.has(reason)) this.dropReasons.set(reason, 0);
    for (const [reason, n] of [...this.dropReasons].sort()) m[dropColumn(reason)] = n;
    const hist = (name: string, h: Histogram, qs = [0.5, 0.99]) => {
      m[`${name}.mean`] = h.count ? h.mean : NaN;
      for (const q of qs) m[`${name}.p${Math.round(q * 100)}`] = h.percentile(q);
      m[`${name}.max`] = h.count ? h.max : NaN;
    };
    for (const name of HISTOGRAMS) hist(name, this[name]);
    m['syncs.count'] = this.syncs;
    m['syncs.failed'] = this.syncFailures;
    Object.assign(m, extra);
    const timeseries: RunOutput['timeseries'] = [];
    for (const s of this.series)
      for (const p of s.points(untilNs)) timeseries.push({ t: p.t, series: s.name, value: p.value });
    return { metrics: m, timeseries };
  }
}
