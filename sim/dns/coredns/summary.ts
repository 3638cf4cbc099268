import { SECOND, type Nanos } from '../../engine/time.ts';
import type { ServerStats } from './server.ts';

/** One DNS server's figures over a period, in the terms of CoreDNS's own metrics (plugin/metrics, plugin/cache). */
export interface DnsServerSummary {
  /**
   * Requests the process received per second (coredns_dns_requests_total): queries that got past
   * the socket buffer while it ran, whatever their outcome.
   */
  requestsPerSecond: number;
  /** Responses per second, all rcodes (coredns_dns_responses_total). */
  responsesPerSecond: number;
  /** CPU used, in cores on average (container_cpu_usage_seconds_total's rate). */
  cpuCores: number;
  /** cacheHits / (hits + misses) (coredns_cache_hits_total, coredns_cache_misses_total); null with no lookups. */
  cacheHitRatio: number | null;
  /** Queries the kernel dropped (full receive buffer) or that were lost to the process's exit, per second. */
  droppedPerSecond: number;
}

/** The figures of `stats` gathered over `elapsedNs` (> 0). */
export function summariseServer(stats: ServerStats, elapsedNs: Nanos): DnsServerSummary {
  if (!(elapsedNs > 0)) throw new RangeError(`summariseServer: elapsedNs must be > 0, got ${elapsedNs}`);
  const seconds = elapsedNs / SECOND;
  const responses = Object.values(stats.answered).reduce((a, b) => a + b, 0);
  const lookups = stats.cacheHits.success + stats.cacheHits.denial + stats.cacheMisses;
  return {
    requestsPerSecond: (stats.queries - stats.droppedQueueFull - stats.droppedStopped) / seconds,
    responsesPerSecond: responses / seconds,
    cpuCores: stats.cpuBusyNs / elapsedNs,
    cacheHitRatio: lookups > 0 ? (stats.cacheHits.success + stats.cacheHits.denial) / lookups : null,
    droppedPerSecond: (stats.droppedQueueFull + stats.droppedStopped + stats.droppedAtExit) / seconds,
  };
}
