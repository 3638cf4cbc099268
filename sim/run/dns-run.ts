import type { Simulator } from '../engine/simulator.ts';
import type { EndpointTimeline } from '../proxy/sync/endpoint-timeline.ts';
import type { NodeProxy } from '../proxy/sync/node-proxy.ts';
import type { ModeModel } from '../proxy/cost/mode-model.ts';
import type { PodIPStates } from '../k8s/pod-network.ts';
import type { TimeSeries } from '../engine/stats/time-series.ts';
import type { ServerStats } from '../dns/coredns/server.ts';
import type { CoreDnsReplica } from '../dns/coredns/replica.ts';
import type { NodeLocalDnsCache } from '../dns/node-local-cache.ts';
import type { ModelConfig } from './config.ts';
import type { DnsRunConfig } from './dns-config.ts';
import type { ClientConntrack } from './client-conntrack.ts';
import type { DnsServicePorts } from './dns-cluster.ts';
import { DnsMetrics } from './dns-metrics.ts';
import { DnsTraffic } from './dns-traffic.ts';
import { RunNames } from './dns-names.ts';
import { lookupSessions } from './dns-sessions.ts';

type Server = CoreDnsReplica | NodeLocalDnsCache;

/**
 * The DNS part of one run (run-model.ts builds it only when the config has `dns`): the lookups, the
 * servers they reach and their figures. Server counters are taken from the end of the warm-up: each
 * server's stats are kept then, and a server started later counts from zero.
 */
export class DnsRun {
  readonly metrics: DnsMetrics;
  readonly traffic: DnsTraffic;
  private readonly atWarmup = new Map<Server, ServerStats>();

  constructor(
    private readonly sim: Simulator,
    private readonly config: ModelConfig & { dns: DnsRunConfig },
    timeline: EndpointTimeline,
    agents: readonly NodeProxy[],
    mode: ModeModel,
    private readonly conntrack: ClientConntrack,
    pods: PodIPStates,
    services: DnsServicePorts,
  ) {
    this.metrics = new DnsMetrics(config.timeseriesIntervalNs);
    const names = new RunNames(timeline.services.map((sp) => [`${sp.portName.namespace}/${sp.portName.name}`, sp.clusterIP] as [string, string]));
    const t = config.traffic;
    this.traffic = new DnsTraffic(
      sim,
      { dns: config.dns, durationNs: config.durationNs, warmupNs: config.warmupNs, rttNs: t.rttNs, sourceNodes: t.sourceNodes, clientPodsPerNode: t.clientPodsPerNode, services: config.cluster.services },
      timeline,
      agents,
      mode,
      conntrack,
      pods,
      services,
      names,
      lookupSessions(config.dns, services.clusterIP),
      this.metrics,
      config.costs,
    );
  }

  start(): void {
    this.traffic.start();
    if (this.config.warmupNs > 0) this.sim.scheduleAt(this.config.warmupNs, snapshot, this);
  }

  /** @internal The end of the warm-up: every server's counters so far. */
  snapshot(): void {
    const { replicas, nodeCaches } = this.traffic.servers();
    for (const s of [...replicas, ...nodeCaches]) this.atWarmup.set(s, s.stats);
  }

  get series(): TimeSeries[] {
    return this.metrics.series;
  }

  figures(): Record<string, number> {
    const { replicas, nodeCaches } = this.traffic.servers();
    const c = this.config;
    let queries = 0;
    let busy = 0;
    let maxBusy = 0;
    let refused = 0;
    for (const r of replicas) {
      const d = this.measured(r);
      queries += d.queries;
      busy += d.cpuBusyNs;
      maxBusy = Math.max(maxBusy, d.cpuBusyNs);
      refused += d.refusedMaxConcurrent;
    }
    // The hit ratio of the first cache a query meets: node-cache's with NodeLocal DNSCache, else CoreDNS's.
    let hits = 0;
    let lookups = 0;
    for (const s of c.dns.nodeLocalCache ? nodeCaches : replicas) {
      const d = this.measured(s);
      hits += d.cacheHits;
      lookups += d.queries;
    }
    return this.metrics.figures({
      replicas: c.dns.coredns.replicas,
      queries,
      busyNs: busy,
      maxBusyNs: maxBusy,
      refused,
      cacheHits: hits,
      cacheLookups: lookups,
      measuredNs: c.durationNs - c.warmupNs,
      dnsEntries: this.traffic.entriesCreated,
      clashResolve: this.clashResolve(),
    });
  }

  /** conntrack -S clash_resolve summed over the client nodes (a kernel before 5.10 never moves it). */
  private clashResolve(): number {
    let n = 0;
    for (const [, t] of this.conntrack.nodes) n += t.stats.clashResolve;
    return n;
  }

  /** A server's counters since the warm-up. */
  private measured(s: Server): { queries: number; cpuBusyNs: number; refusedMaxConcurrent: number; cacheHits: number } {
    const now = s.stats;
    const then = this.atWarmup.get(s);
    const hits = (x: ServerStats) => x.cacheHits.success + x.cacheHits.denial;
    if (!then) return { queries: now.queries, cpuBusyNs: now.cpuBusyNs, refusedMaxConcurrent: now.refusedMaxConcurrent, cacheHits: hits(now) };
    return { queries: now.queries - then.queries, cpuBusyNs: now.cpuBusyNs - then.cpuBusyNs, refusedMaxConcurrent: now.refusedMaxConcurrent - then.refusedMaxConcurrent, cacheHits: hits(now) - hits(then) };
  }
}

const snapshot = (r: DnsRun) => r.snapshot();
