import { HISTOGRAMS, HISTOGRAM_STATS, KNOWN_REASONS, OUTCOMES, dropColumn } from './metrics.ts';
import { NETWORK_PROGRAMMING_BUCKETS_S } from './programming-latency.ts';
import { DNS_SERIES, dnsMetricNames } from './dns-metrics.ts';
import { EXTERNAL_SERIES, externalMetricNames } from './external-metrics.ts';
import { connectSetupMetricNames } from './connect-setup.ts';
import { topologyMetricNames } from './topology-metrics.ts';

/**
 * The names a run of the model writes, known before any run: the metric columns of runs.csv and the
 * series of timeseries.csv. The study's `charts:` and `expect:` are checked against them before the
 * first run (precheck.ts), so a misspelt metric costs nothing. metric-names.test.ts runs the model and
 * checks that these lists are exactly what it writes, so the two cannot drift apart.
 */
export interface MetricNameOptions {
  /** Whether some point of the study has churn: only then does the control plane run and report. */
  churn: boolean;
  /** Whether some point of the study has `dns:`: only then are the DNS columns written (dns-metrics.ts). */
  dns?: boolean;
  /** Whether some point of the study has external clients (external-metrics.ts). */
  external?: boolean;
  /** Whether some point of the study has `dataPlane: rules` (data-plane.ts: dataPlane.walked). */
  rules?: boolean;
  /** Whether some point of the study has zones or Services that differ in policy (topology-metrics.ts). */
  topology?: boolean;
}

/** Columns every run writes (NaN where a figure does not apply, e.g. affinity without ClientIP). */
function alwaysWritten(): string[] {
  return [
    'connections.total',
    ...OUTCOMES.map((o) => `connections.${o}`),
    'failedConnections.count',
    'failedConnections.rate',
    ...KNOWN_REASONS.map(dropColumn),
    ...HISTOGRAMS.flatMap((h) => HISTOGRAM_STATS.map((s) => `${h}.${s}`)),
    'syncs.count',
    'syncs.failed',
    // run-model.ts: one node's kernel objects
    'kernel.rules',
    'kernel.setElements',
    'kernel.ipvsServers',
    'kernel.memoryBytes',
    // conntrack-metrics.ts
    'conntrack.max',
    'conntrack.entries.peak',
    'conntrack.entries.mean',
    'conntrack.occupancy.peak',
    'conntrack.entries.end',
    'conntrack.occupancy.end',
    'conntrack.drops',
    'conntrack.earlyDrops',
    'conntrack.insertFailed',
    // programming-latency.ts
    'networkProgrammingLatency.nodeP99.max',
    'networkProgrammingLatency.nodeP99.p50',
    ...NETWORK_PROGRAMMING_BUCKETS_S.map((b) => `networkProgrammingLatency.bucket.le_${b}`),
    'networkProgrammingLatency.bucket.le_+Inf',
    'affinity.hits',
    'affinity.misses',
    'sim.events',
    ...connectSetupMetricNames(),
  ];
}

/** Columns of a run with churn: what the control plane did (run-model.ts controlPlaneFigures). */
function controlPlaneWritten(): string[] {
  return [
    ...['watchDelivery', 'endpointHeardLatency'].flatMap((n) => ['count', 'p50', 'p99', 'max'].map((s) => `${n}.${s}`)),
    'churn.rollouts',
    'churn.podKills',
    'churn.scaleEvents',
    'churn.nodeFailures',
    'churn.containerCrashes',
    'k8s.podsCreated',
    'k8s.podsDeleted',
    'k8s.apiWrites',
    'k8s.endpointSliceWrites',
    'endpointChanges.count',
    'endpointSliceLatency.p50',
    'endpointSliceLatency.p99',
  ];
}

/** The metric columns of runs.csv a study with these options can have, sorted. */
export function modelMetricNames(opts: MetricNameOptions): string[] {
  return [...alwaysWritten(), ...(opts.churn ? controlPlaneWritten() : []), ...(opts.dns ? dnsMetricNames() : []), ...(opts.external ? externalMetricNames() : []), ...(opts.topology ? topologyMetricNames() : []), ...(opts.rules ? ['dataPlane.walked'] : [])].sort();
}

/**
 * The series of timeseries.csv (what a chart with `x: time` draws): metrics.ts's four, and
 * conntrack.entries in the modes whose NAT goes through conntrack (iptables, nftables, ipvs; not the
 * ebpf and userspace comparison models: run-model.ts adds it when the mode says natInConntrack).
 */
export const MODEL_SERIES: readonly string[] = ['connections', 'failedConnections', 'nodesBehind', 'syncs', 'conntrack.entries'];

/** The series a study's runs can write: MODEL_SERIES, and the DNS and external series when some point has `dns:` or external clients. */
export function modelSeries(opts: Partial<MetricNameOptions>): readonly string[] {
  return [...MODEL_SERIES, ...(opts.dns ? DNS_SERIES : []), ...(opts.external ? EXTERNAL_SERIES : [])];
}
