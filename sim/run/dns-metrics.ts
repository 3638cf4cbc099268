import { Histogram } from '../engine/stats/histogram.ts';
import { TimeSeries } from '../engine/stats/time-series.ts';
import { SECOND } from '../engine/time.ts';
import type { LookupOutcome } from '../dns/types.ts';

/**
 * The DNS figures of a run with `dns:` (docs/metrics.md, "DNS"): lookups as the application sees
 * them (getaddrinfo's latency and result), the queries each took, CoreDNS's load, the caches, and
 * the conntrack race counters as `conntrack -S` prints them. Runs without DNS write none of these.
 */
export const LOOKUP_OUTCOMES: readonly LookupOutcome[] = ['ok', 'nxdomain', 'nodata', 'servfail', 'refused', 'timeout'];
/** A lookup this slow is `slow` (dns.slowLookups.rate); 5 s is glibc's timeout, the symptom of a lost query. */
export const SLOW_LOOKUP_NS = SECOND;
export const VERY_SLOW_LOOKUP_NS = 5 * SECOND;

/** The metric columns a run with DNS writes, in the order of `figures`. */
export function dnsMetricNames(): string[] {
  return [
    'dns.lookups.total',
    ...LOOKUP_OUTCOMES.map((o) => `dns.lookups.${o}`),
    'dns.failedLookups.rate',
    'dns.lookupLatency.mean',
    'dns.lookupLatency.p50',
    'dns.lookupLatency.p99',
    'dns.lookupLatency.p999',
    'dns.lookupLatency.max',
    'dns.queriesPerLookup.mean',
    'dns.queriesPerLookup.p99',
    'dns.queriesPerLookup.max',
    'dns.queries.lost',
    'dns.slowLookups.rate',
    'dns.slowLookups.count',
    'dns.lookupsOver5s.rate',
    'dns.cacheHitRatio',
    'coredns.replicas',
    'coredns.qps',
    'coredns.cpu.mean',
    'coredns.cpu.max',
    'coredns.refused',
    'conntrack.clashResolve',
    'conntrack.dnsEntries',
  ];
}

/** The time series of a run with DNS (lookups counted in the interval they started in). */
export const DNS_SERIES: readonly string[] = ['dns.lookups', 'dns.failedLookups', 'dns.slowLookups'];

export class DnsMetrics {
  readonly latency = new Histogram();
  readonly queriesPerLookup = new Histogram();
  readonly outcomes: Record<LookupOutcome, number> = { ok: 0, nxdomain: 0, nodata: 0, servfail: 0, refused: 0, timeout: 0 };
  /** Queries that never reached a server or whose answer never came back (race drop, stale rules, loss). */
  lostQueries = 0;
  slow = 0;
  verySlow = 0;
  readonly lookupsSeries: TimeSeries;
  readonly failedSeries: TimeSeries;
  readonly slowSeries: TimeSeries;

  constructor(intervalNs: number) {
    this.lookupsSeries = new TimeSeries('dns.lookups', intervalNs, 'sum');
    this.failedSeries = new TimeSeries('dns.failedLookups', intervalNs, 'sum');
    this.slowSeries = new TimeSeries('dns.slowLookups', intervalNs, 'sum');
  }

  get series(): TimeSeries[] {
    return [this.lookupsSeries, this.failedSeries, this.slowSeries];
  }

  /** A lookup that started at `t0` ended now after `tookNs` with `outcome` after `queries` queries. */
  lookup(t0: number, tookNs: number, outcome: LookupOutcome, queries: number): void {
    this.outcomes[outcome]++;
    this.latency.record(tookNs);
    this.queriesPerLookup.record(queries);
    this.lookupsSeries.record(t0, 1);
    if (outcome !== 'ok' && outcome !== 'nxdomain' && outcome !== 'nodata') this.failedSeries.record(t0, 1);
    if (tookNs >= SLOW_LOOKUP_NS) {
      this.slow++;
      this.slowSeries.record(t0, 1);
    }
    if (tookNs >= VERY_SLOW_LOOKUP_NS) this.verySlow++;
  }

  figures(server: { replicas: number; queries: number; busyNs: number; maxBusyNs: number; refused: number; cacheHits: number; cacheLookups: number; measuredNs: number; dnsEntries: number; clashResolve: number }): Record<string, number> {
    const total = LOOKUP_OUTCOMES.reduce((s, o) => s + this.outcomes[o], 0);
    const failed = this.outcomes.servfail + this.outcomes.refused + this.outcomes.timeout;
    const m: Record<string, number> = { 'dns.lookups.total': total };
    for (const o of LOOKUP_OUTCOMES) m[`dns.lookups.${o}`] = this.outcomes[o];
    const seconds = server.measuredNs / SECOND;
    Object.assign(m, {
      'dns.failedLookups.rate': total ? failed / total : NaN,
      'dns.lookupLatency.mean': this.latency.count ? this.latency.mean : NaN,
      'dns.lookupLatency.p50': this.latency.percentile(0.5),
      'dns.lookupLatency.p99': this.latency.percentile(0.99),
      'dns.lookupLatency.p999': this.latency.percentile(0.999),
      'dns.lookupLatency.max': this.latency.count ? this.latency.max : NaN,
      'dns.queriesPerLookup.mean': this.queriesPerLookup.count ? this.queriesPerLookup.mean : NaN,
      'dns.queriesPerLookup.p99': this.queriesPerLookup.percentile(0.99),
      'dns.queriesPerLookup.max': this.queriesPerLookup.count ? this.queriesPerLookup.max : NaN,
      'dns.queries.lost': this.lostQueries,
      'dns.slowLookups.rate': total ? this.slow / total : NaN,
      'dns.slowLookups.count': this.slow,
      'dns.lookupsOver5s.rate': total ? this.verySlow / total : NaN,
      'dns.cacheHitRatio': server.cacheLookups ? server.cacheHits / server.cacheLookups : NaN,
      'coredns.replicas': server.replicas,
      'coredns.qps': seconds > 0 ? server.queries / seconds : NaN,
      // CPU in cores: CPU seconds per second of the measured period, averaged over the replicas and of the busiest.
      'coredns.cpu.mean': seconds > 0 && server.replicas > 0 ? server.busyNs / SECOND / seconds / server.replicas : NaN,
      'coredns.cpu.max': seconds > 0 ? server.maxBusyNs / SECOND / seconds : NaN,
      'coredns.refused': server.refused,
      'conntrack.clashResolve': server.clashResolve,
      'conntrack.dnsEntries': server.dnsEntries,
    });
    return m;
  }
}
