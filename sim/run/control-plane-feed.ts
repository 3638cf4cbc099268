import type { ServicePolicy } from './service-policy.ts';
import type { ControlPlane, SliceCommit } from '../k8s/control-plane.ts';
import { Histogram } from '../engine/stats/histogram.ts';
import type { EndpointSlice } from '../k8s/objects.ts';
import type { Endpoint } from '../proxy/endpoint.ts';
import { endpointsFromSlices } from '../proxy/from-api.ts';
import type { EndpointTimeline } from '../proxy/sync/endpoint-timeline.ts';
import type { NodeProxy } from '../proxy/sync/node-proxy.ts';
import type { ServicePort } from '../proxy/service-port.ts';
import { endpointsOnPort, servicePortsOf } from './synthetic-endpoints.ts';
import { programmedEndpoints, sameEndpoints, sliceServiceKey } from './slice-endpoints.ts';
import { KubeProxyWatches, type SliceDeliverySink } from './kube-proxy-watches.ts';

/**
 * The bridge from the control plane (sim/k8s) to the kube-proxy model: every EndpointSlice the
 * controller commits becomes, when it changes what kube-proxy would program, a new version of the
 * shared EndpointTimeline; every node's kube-proxy has its own watch (its own delivery delays) and
 * hears a version when the event that produced it reaches that node.
 *
 * What kube-proxy programs for a service port is what pkg/proxy's EndpointSliceCache merges over the
 * Service's slices, narrowed by CategorizeEndpoints to the Cluster-policy list: ready endpoints, or,
 * when none is ready, the serving-terminating ones (pkg/proxy/topology.go). A slice write that leaves
 * that list as it was is no change for kube-proxy (EndpointSliceUpdate reports no change, no sync).
 */
export class ControlPlaneFeed implements SliceDeliverySink {
  readonly ports: ServicePort[] = [];
  private readonly index = new Map<string, number>();
  /** Current slices per service key, by slice name. */
  private readonly slices = new Map<string, Map<string, EndpointSlice>>();
  /** (resourceVersion, timeline version) after each commit, in commit order (increasing rv). */
  private readonly rvs: number[] = [];
  private readonly versions: number[] = [];

  private readonly internalLocal: boolean;
  /** Runs with per-Service policies: a change of hints alone is a change (topology-mode, trafficDistribution). */
  private readonly hints: boolean;
  private readonly perService: number;
  /**
   * When each watcher heard of each change (the third instant), per delivered event and node:
   * `watchDelivery` from the slice's commit to its delivery to that node's kube-proxy watch, and
   * `heardLatency` from each endpoint change's trigger (the pod-side instant) to that node hearing it.
   * Only events committed from `recordFrom` on (the warm-up excluded).
   */
  readonly watchDelivery = new Histogram();
  readonly heardLatency = new Histogram();
  recordFrom = 0;
  /**
   * Slices of a Service the feed does not own, which another part of the run maps onto its own
   * service ports (the kube-dns Service of a run with DNS: dns-wiring.ts). The commit still counts
   * for the watches, so a change it makes to the timeline is heard with the event that made it.
   */
  other: ((c: SliceCommit) => void) | null = null;
  /** Per node: the newest version its watch delivered, and the index in `rvs` of that delivery's commit. */
  private heard: number[] = [];
  private at = new Int32Array(0);
  private watches: KubeProxyWatches | null = null;

  /**
   * `affinitySeconds`: the Services' ClientIP affinity timeout (0: none); `internalLocal`: their
   * internalTrafficPolicy is Local; `portsPerService`: each Service has that many ports. The control
   * plane's own Service objects carry none of these (they have one port): the feed gives every
   * Service its ports (servicePortsOf: port k is the Service's port + k, its pods' port + k), each
   * with the pods the Service's slices list. kube-proxy would read the same from a multi-port
   * Service's slices, which list every port for the same endpoints; a slice write changes all of a
   * Service's ports at once.
   */
  constructor(
    private readonly cp: ControlPlane,
    private readonly timeline: EndpointTimeline,
    { affinitySeconds = 0, internalLocal = false, portsPerService = 1, policies }: { affinitySeconds?: number; internalLocal?: boolean; portsPerService?: number; policies?: readonly ServicePolicy[] } = {},
  ) {
    this.internalLocal = internalLocal;
    this.perService = portsPerService;
    this.hints = policies !== undefined;
    cp.services().forEach((s, j) => {
      this.index.set(s.key, this.ports.length);
      this.slices.set(s.key, new Map());
      // Runs where Services differ: each Service's own affinity and internalTrafficPolicy (service-policy.ts).
      const policy = policies?.[j];
      const ports = servicePortsOf(s.namespace, s.name, s.clusterIP, s.port, s.protocol, portsPerService, policy ? policy.affinitySeconds : affinitySeconds);
      this.ports.push(...(policy?.internalLocal ? ports.map((sp) => ({ ...sp, internalPolicyLocal: true })) : ports));
    });
    for (const slice of cp.endpointSlices()) {
      const key = sliceServiceKey(slice);
      this.slices.get(key)?.set(slice.metadata.name!, slice);
    }
    for (let i = 0; i < this.ports.length; i += portsPerService) {
      const { programmed, serving } = this.programmed(i);
      for (let k = 0; k < portsPerService; k++) timeline.addService(this.ports[i + k]!, endpointsOnPort(programmed, k), endpointsOnPort(serving, k));
    }
    cp.onEndpointSliceCommit((c) => this.commit(c));
  }

  /**
   * One watch per node's kube-proxy: hearing an event means hearing every change up to it.
   * kube-proxy also watches Services (a ClusterIP, port or affinity change triggers a sync:
   * pkg/proxy/config ServiceConfig), but nothing in a run changes a Service: the synthetic cluster
   * creates every Service before the run starts (sim/k8s/synthetic-cluster.ts) and no churn kind
   * (pod-kill, rolling-update, scale, node-failure) writes one, so only EndpointSlices are watched.
   * A churn kind that creates or edits Services must add that watch here.
   */
  attach(agents: readonly NodeProxy[]): void {
    const nodes = this.cp.nodes();
    const names = agents.map((_, n) => `kube-proxy/${nodes[n]!.name}`);
    this.heard = agents.map(() => this.timeline.version);
    this.at = new Int32Array(agents.length).fill(this.rvs.length - 1);
    // Proxies that read their watch on demand share one KubeProxyWatches (no event per delivery).
    if (agents.every((a) => a.pullFrom)) {
      const watches = new KubeProxyWatches(this.cp.sim, this.cp.api, this.cp.api.watchLatency, names, agents, this, this.timeline.version);
      for (const a of agents) a.pullFrom!(watches);
      this.watches = watches;
      return;
    }
    agents.forEach((agent, n) => {
      this.cp.watchEndpointSlices(names[n]!, (e) => agent.heardUpTo(this.delivered(n, e.committedAt, e.resourceVersion, this.cp.sim.now)), { sendInitialEvents: false });
    });
  }

  /**
   * Records the deliveries due by now that no node has read yet (a node reads its watch when its
   * sync loop looks): call before reading watchDelivery and heardLatency at the end of a run.
   */
  deliverDue(): void {
    this.watches?.deliverDue();
  }

  /**
   * SliceDeliverySink: node `n`'s watch delivered the event committed at `committedAt` with
   * `resourceVersion`, at `at`. Hearing an event means hearing every change up to it; returns the
   * timeline version that is.
   */
  delivered(n: number, committedAt: number, resourceVersion: number, at: number): number {
    const v = this.versionFrom(n, resourceVersion);
    if (committedAt >= this.recordFrom) this.watchDelivery.record(at - committedAt);
    const heard = this.heard;
    for (let x = heard[n]! + 1; x <= v; x++) {
      const t = this.timeline.change(x).triggerTime;
      if (t >= this.recordFrom) this.heardLatency.record(at - t);
    }
    if (v > heard[n]!) heard[n] = v;
    return v;
  }

  private commit(c: SliceCommit): void {
    const i = this.index.get(c.service);
    if (i === undefined) {
      if (this.other) {
        this.other(c);
        this.rvs.push(this.cp.api.resourceVersion);
        this.versions.push(this.timeline.version);
      }
      return;
    }
    const byName = this.slices.get(c.service)!;
    if (c.type === 'DELETED') byName.delete(c.slice.metadata.name!);
    else byName.set(c.slice.metadata.name!, c.slice);
    const { programmed, serving } = this.programmed(i);
    for (let k = 0; k < this.perService; k++) {
      const v = this.timeline.version;
      const after = endpointsOnPort(programmed, k);
      const servingAfter = endpointsOnPort(serving, k);
      // A serving endpoint that stops serving while ready ones remain leaves the rules as they were
      // but is a change for kube-proxy all the same (its conditions changed): it syncs, and that
      // sync's conntrack cleanup drops UDP entries to it.
      if (!sameEndpoints(this.timeline.endpointsAt(i + k, v), after, this.internalLocal || this.ports[i + k]!.internalPolicyLocal, this.hints) || !sameEndpoints(this.timeline.servingAt(i + k, v), servingAfter, false))
        this.timeline.apply(i + k, after, c.triggerTime, c.stoppedAt, servingAfter);
    }
    // The callback runs at the commit, so the API server's last resourceVersion is this write's
    // (for a DELETED slice the object still carries its previous version).
    this.rvs.push(this.cp.api.resourceVersion);
    this.versions.push(this.timeline.version);
  }

  /**
   * The timeline version that includes every commit up to resourceVersion `rv`, for a watcher whose
   * previous event was the commit at index at[n] of `rvs`: a watch delivers in commit order, so this
   * walks forward from there instead of searching every time.
   */
  private versionFrom(n: number, rv: number): number {
    const rvs = this.rvs;
    const at = this.at;
    let i = at[n]!;
    while (i + 1 < rvs.length && rvs[i + 1]! <= rv) i++;
    at[n] = i;
    return i < 0 ? 0 : this.versions[i]!;
  }

  /**
   * What kube-proxy programs for the Service whose first service port is `i`, on its first port, and
   * every serving endpoint it knows of there (what its UDP conntrack cleanup keeps).
   */
  private programmed(i: number): { programmed: Endpoint[]; serving: Endpoint[] } {
    const sp = this.ports[i]!;
    const merged = endpointsFromSlices([...this.slices.get(sp.portName.namespace + '/' + sp.portName.name)!.values()], '');
    const all: Endpoint[] = [];
    for (const list of merged.values()) all.push(...list);
    return programmedEndpoints(all, sp, this.internalLocal || sp.internalPolicyLocal);
  }
}


