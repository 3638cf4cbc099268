import type { ControlPlane, SliceCommit } from '../k8s/control-plane.ts';
import { Histogram } from '../engine/stats/histogram.ts';
import type { EndpointSlice } from '../k8s/objects.ts';
import type { Endpoint } from '../proxy/endpoint.ts';
import { endpointsFromSlices } from '../proxy/from-api.ts';
import type { EndpointTimeline } from '../proxy/sync/endpoint-timeline.ts';
import type { NodeProxy } from '../proxy/sync/node-proxy.ts';
import type { ServicePort } from '../proxy/service-port.ts';
import { programmedEndpoints, sameEndpoints, sliceServiceKey } from './slice-endpoints.ts';

/**
 * The feed of a live cluster read from manifests (manifest-live.ts): as ControlPlaneFeed does for the
 * synthetic cluster, every EndpointSlice commit that changes what kube-proxy programs becomes a
 * timeline version, heard by each node's kube-proxy through its own watch. The difference is the
 * service ports: they are the manifests' own (every port of every Service, named or not, as
 * pkg/proxy/serviceport.go builds them, in the static manifest cluster's order), and each port's
 * endpoints come from the slices' entry for that port (pkg/proxy EndpointSliceCache), not from the
 * synthetic Services' one-port shape.
 */
export class ManifestFeed {
  /** Timeline indexes of each Service's ports, by `namespace/name`. */
  private readonly byService = new Map<string, number[]>();
  private readonly slices = new Map<string, Map<string, EndpointSlice>>();
  private readonly rvs: number[] = [];
  private readonly versions: number[] = [];
  /** As ControlPlaneFeed: slice commit to delivery per node, and pod-side trigger to a node hearing it. */
  readonly watchDelivery = new Histogram();
  readonly heardLatency = new Histogram();
  recordFrom = 0;

  constructor(
    private readonly cp: ControlPlane,
    private readonly timeline: EndpointTimeline,
    private readonly ports: readonly ServicePort[],
    private readonly internalLocal: boolean,
    /** Services differ in policy or have topology policies (ManifestCluster.perService): each port's own Local, and hints changes count. */
    private readonly perService = false,
  ) {
    ports.forEach((sp, i) => {
      const key = `${sp.portName.namespace}/${sp.portName.name}`;
      let list = this.byService.get(key);
      if (!list) {
        this.byService.set(key, (list = []));
        this.slices.set(key, new Map());
      }
      list.push(i);
    });
    for (const slice of cp.endpointSlices()) this.slices.get(sliceServiceKey(slice))?.set(slice.metadata.name, slice);
    const lists = new Map<number, { programmed: Endpoint[]; serving: Endpoint[] }>();
    for (const key of this.byService.keys()) for (const [i, l] of this.programmed(key)) lists.set(i, l);
    ports.forEach((sp, i) => timeline.addService(sp, lists.get(i)!.programmed, lists.get(i)!.serving));
    cp.onEndpointSliceCommit((c) => this.commit(c));
  }

  /** One watch per node's kube-proxy, as ControlPlaneFeed.attach. */
  attach(agents: readonly NodeProxy[]): void {
    const nodes = this.cp.nodes();
    const heard: number[] = agents.map(() => this.timeline.version);
    agents.forEach((agent, n) => {
      this.cp.watchEndpointSlices(
        `kube-proxy/${nodes[n]!.name}`,
        (e) => {
          const now = this.cp.sim.now;
          const v = this.versionAt(e.resourceVersion);
          if (e.committedAt >= this.recordFrom) this.watchDelivery.record(now - e.committedAt);
          for (let x = heard[n]! + 1; x <= v; x++) {
            const t = this.timeline.change(x).triggerTime;
            if (t >= this.recordFrom) this.heardLatency.record(now - t);
          }
          if (v > heard[n]!) heard[n] = v;
          agent.heardUpTo(v);
        },
        { sendInitialEvents: false },
      );
    });
  }

  /**
   * Nothing to catch up: here every watch delivery is its own event (ControlPlaneFeed's on-demand
   * reading, kube-proxy-watches.ts, is not wired for manifest clusters), so whatever was due by the
   * run's end has been delivered.
   */
  deliverDue(): void {}

  private commit(c: SliceCommit): void {
    const byName = this.slices.get(c.service);
    if (byName) {
      if (c.type === 'DELETED') byName.delete(c.slice.metadata.name);
      else byName.set(c.slice.metadata.name, c.slice);
      for (const [i, { programmed, serving }] of this.programmed(c.service)) {
        const v = this.timeline.version;
        if (!sameEndpoints(this.timeline.endpointsAt(i, v), programmed, this.localAt(i), this.perService) || !sameEndpoints(this.timeline.servingAt(i, v), serving, false))
          this.timeline.apply(i, programmed, c.triggerTime, c.stoppedAt, serving);
      }
    }
    this.rvs.push(this.cp.api.resourceVersion);
    this.versions.push(this.timeline.version);
  }

  private versionAt(rv: number): number {
    let lo = 0;
    let hi = this.rvs.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.rvs[mid]! <= rv) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found < 0 ? 0 : this.versions[found]!;
  }

  /**
   * Per port of the Service: what kube-proxy programs (Cluster: ready, else serving-terminating,
   * pkg/proxy/topology.go; Local: every endpoint either could use, narrowed per node by
   * LocalEndpoints) and every serving endpoint (what its UDP conntrack cleanup keeps).
   */
  private programmed(key: string): [number, { programmed: Endpoint[]; serving: Endpoint[] }][] {
    const merged = endpointsFromSlices([...this.slices.get(key)!.values()], '');
    return this.byService.get(key)!.map((i) => {
      const sp = this.ports[i]!;
      const all = merged.get(sp.id) ?? [];
      return [i, programmedEndpoints(all, sp, this.localAt(i))];
    });
  }

  /** Port `i` has internalTrafficPolicy Local: every port's (a run of one policy), or its own. */
  private localAt(i: number): boolean {
    return this.internalLocal || (this.perService && this.ports[i]!.internalPolicyLocal);
  }
}


