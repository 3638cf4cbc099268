import { parseIPv4 } from '../net/ipv4.ts';
import type { ModeModel } from '../proxy/cost/index.ts';
import type { AffinityTable } from './service-affinities.ts';
import { ActiveVersions } from '../proxy/sync/active-versions.ts';
import type { EndpointTimeline } from '../proxy/sync/endpoint-timeline.ts';
import type { SyncObserver } from '../proxy/sync/proxy-agent.ts';
import type { ModelConfig } from './config.ts';
import type { RunMetrics } from './metrics.ts';
import { ProgrammingLatency } from './programming-latency.ts';
import type { TrafficModel } from './traffic.ts';

/**
 * What the end of a node's sync does to the rest of a run: the sync and programming-latency metrics,
 * how far behind the nodes are, and the state kube-proxy drops along with the rules it replaced (UDP
 * conntrack entries to endpoints that stopped serving, affinity to endpoints removed).
 */
export class SyncEffects implements SyncObserver {
  readonly programming: ProgrammingLatency;
  /** The run's traffic, once built: its client conntrack is what the UDP cleanup reconciles. */
  traffic: TrafficModel | null = null;
  private readonly active: ActiveVersions;
  private readonly udp: boolean;
  /** Every change up to this version is active on all nodes. */
  private everywhere = 0;
  /** UDP service ports by frontend (frontendKey), built at the first cleanup. */
  private frontends: Map<number, number> | null = null;
  /** Serving endpoint IPs per UDP service port as of `servingVersion`. */
  private readonly servingSets = new Map<number, ReadonlySet<number>>();
  private servingVersion = -1;

  constructor(
    config: ModelConfig,
    private readonly timeline: EndpointTimeline,
    private readonly mode: ModeModel,
    private readonly metrics: RunMetrics,
    private readonly affinity: AffinityTable | null,
    private readonly observe: ((node: number, from: number, to: number, now: number, ok: boolean) => void) | undefined,
  ) {
    this.programming = new ProgrammingLatency(config.cluster.nodes);
    this.active = new ActiveVersions(config.cluster.nodes);
    // kube-dns's 53/UDP makes every run with DNS one with UDP Services to reconcile.
    this.udp = config.traffic.protocol === 'udp' || config.dns !== undefined;
  }

  onSyncEnd(node: number, from: number, to: number, now: number, ok: boolean, durationNs: number, full: boolean, units: number): void {
    const { metrics, timeline } = this;
    this.observe?.(node, from, to, now, ok);
    metrics.syncs++;
    metrics.syncsSeries.record(now, 1);
    metrics.syncDuration.record(durationNs);
    metrics.syncUnits.record(units);
    if (full) metrics.fullSyncDuration.record(durationNs);
    if (!ok) {
      metrics.syncFailures++;
      return;
    }
    // kubeproxy_network_programming_duration_seconds: for each change this sync included, the
    // time from its trigger to now (pkg/proxy/metrics, observed at the end of syncProxyRules).
    for (let v = from + 1; v <= to; v++) {
      const latency = now - timeline.change(v).triggerTime;
      metrics.networkProgrammingLatency.record(latency);
      this.programming.record(node, latency);
    }
    if (from !== to) this.active.move(from, to);
    if (this.udp && this.mode.natInConntrack) this.cleanStaleUdp(node, to, now);
    if (this.affinity) this.forgetRemoved(this.affinity, node, from, to);
    metrics.staleNodesSeries.record(now, this.active.behind(timeline.version));
    // Stale-endpoint window: from when a removed endpoint stopped answering (its crash or node
    // failure, else the change's trigger) until the last node's rules stopped sending new
    // connections to it.
    const oldest = this.active.oldest;
    for (; this.everywhere < oldest; this.everywhere++) {
      const c = timeline.change(this.everywhere + 1);
      if (c.removed.length > 0) metrics.staleEndpointWindow.record(now - c.removedSince);
    }
  }

  /**
   * kube-proxy's conntrack reconciliation at the end of every successful sync (CleanStaleEntries):
   * against the serving endpoints of each UDP service port as of the version the node now runs. The
   * frontends are looked up lazily, per entry met, which gives the same result as building the map of
   * every UDP Service first.
   */
  private cleanStaleUdp(node: number, version: number, now: number): void {
    const traffic = this.traffic;
    const ct = traffic?.conntrack;
    if (!ct) return;
    const timeline = this.timeline;
    if (!this.frontends) {
      const frontends = (this.frontends = new Map());
      timeline.services.forEach((sp, i) => {
        if (sp.protocol === 'UDP') frontends.set(frontendKey(traffic!.vip(i), sp.port), i);
      });
    }
    const frontends = this.frontends;
    const servingSets = this.servingSets;
    // A version's serving sets are the same for every node that syncs to it: kept until the next version.
    if (version !== this.servingVersion) {
      servingSets.clear();
      this.servingVersion = version;
    }
    ct.udpReconcile(
      node,
      (ip, port) => {
        const s = frontends.get(frontendKey(ip, port));
        if (s === undefined) return null;
        let set = servingSets.get(s);
        if (!set) servingSets.set(s, (set = new Set(timeline.servingAt(s, version).map((e) => parseIPv4(e.ip)))));
        return set;
      },
      now,
    );
  }

  /**
   * The sync that removed an endpoint from a node's rules also removed what pinned clients to it:
   * its KUBE-SEP chain and with it the xt_recent list, its nft affinity set, its IPVS real server
   * (templates to it are no longer used), its Cilium backend. An endpoint removed and back within
   * the synced changes keeps its state.
   */
  private forgetRemoved(a: AffinityTable, node: number, from: number, to: number): void {
    for (let v = from + 1; v <= to; v++) {
      const c = this.timeline.change(v);
      if (c.removed.length === 0) continue;
      const current = this.timeline.endpointsAt(c.service, to);
      for (const ep of c.removed) if (!current.some((e) => e.endpoint === ep)) a.forget(node, c.service, ep);
    }
  }
}

/** A frontend address and port as one number (exact: below 2^48). */
function frontendKey(ip: number, port: number): number {
  return ip * 65536 + port;
}
