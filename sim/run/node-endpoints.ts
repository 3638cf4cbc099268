import type { Endpoint } from '../proxy/endpoint.ts';
import { lastAtOrBefore, type EndpointTimeline } from '../proxy/sync/endpoint-timeline.ts';
import type { ServicePort } from '../proxy/service-port.ts';
import { categorizeEndpoints, topologyModeFromHints, type NodeTopology } from '../proxy/topology.ts';

/**
 * Each node's view of each Service in runs where Services differ in policy (the generalisation of
 * LocalEndpoints, which serves runs where every Service is Local): what the node's kube-proxy
 * programs for a pod's ClusterIP traffic is CategorizeEndpoints' list for that Service on that node
 * (kubernetes/kubernetes pkg/proxy/topology.go, sim/proxy/topology.ts): internalTrafficPolicy Local:
 * the node's own endpoints (a Local policy wins over hints); Cluster: the endpoints hinted for the
 * node (hints.forNodes) or its zone (hints.forZones), used only when every ready endpoint has a hint
 * and one matches, else every endpoint.
 *
 * A Service is narrowed when it is Local or some endpoint carries a hint; the others are seen whole
 * on every node (the timeline's list itself). Per node and version it keeps the counts a sync and a
 * first packet depend on (endpoints in the node's rules, Services it rejects or drops) as the
 * cluster-wide counts plus the narrowed Services' difference, brought up to date lazily from the
 * timeline's changes; a change to a narrowed Service touches every node (hints depend on zones), so
 * the work grows with narrowed changes x nodes.
 */
export class NodeEndpoints {
  private readonly topology: NodeTopology[];
  /** Per node: the versions at which its differences changed, and the differences from each on. */
  private readonly versions: number[][];
  private readonly totalDelta: number[][];
  private readonly withoutDelta: number[][];
  /** Endpoints of the ClientIP Services: cluster-wide by version, and each node's difference. */
  private readonly affinityVersions: number[] = [0];
  private readonly affinityTotals: number[];
  private readonly affinityDelta: number[][];
  private processed = 0;
  private readonly cache = new Map<number, { from: readonly Endpoint[]; view: NodeView }>();
  private readonly hintedLists = new WeakMap<readonly Endpoint[], boolean>();

  constructor(
    private readonly timeline: EndpointTimeline,
    nodeNames: readonly string[],
    nodeZones: readonly string[] | null,
  ) {
    if (timeline.version > 0) throw new Error('NodeEndpoints: built after the timeline changed');
    this.topology = nodeNames.map((nodeName, n) => ({ nodeName, zone: nodeZones?.[n] ?? '' }));
    const total = new Array<number>(nodeNames.length).fill(0);
    const without = new Array<number>(nodeNames.length).fill(0);
    const affinity = new Array<number>(nodeNames.length).fill(0);
    let affinityTotal = 0;
    for (let s = 0; s < timeline.services.length; s++) {
      const list = timeline.endpointsAt(s, 0);
      const sticky = hasAffinity(timeline.services[s]!);
      if (sticky) affinityTotal += list.length;
      if (!narrowed(timeline.services[s]!, list)) continue;
      for (let n = 0; n < nodeNames.length; n++) {
        const [dt, dw] = this.delta(n, s, list);
        total[n]! += dt;
        without[n]! += dw;
        if (sticky) affinity[n]! += dt;
      }
    }
    this.versions = nodeNames.map(() => [0]);
    this.totalDelta = total.map((t) => [t]);
    this.withoutDelta = without.map((w) => [w]);
    this.affinityDelta = affinity.map((a) => [a]);
    this.affinityTotals = [affinityTotal];
  }

  /** Endpoints of Services with ClientIP affinity in `node`'s rules at `version` (SyncWork.affinityEndpoints). */
  affinityAt(node: number, version: number): number {
    const i = this.indexAt(node, version);
    return this.affinityTotals[lastAtOrBefore(this.affinityVersions, version)]! + this.affinityDelta[node]![i]!;
  }

  /** Whether service port `service` has ClientIP affinity. */
  affinity(service: number): boolean {
    return hasAffinity(this.timeline.services[service]!);
  }

  /** The endpoints `node`'s rules hold for pods' traffic to `service` at `version`, in kube-proxy's order. */
  at(node: number, service: number, version: number): readonly Endpoint[] {
    return this.viewAt(node, service, version)?.endpoints ?? this.timeline.endpointsAt(service, version);
  }

  /**
   * Whether a Service with a topology policy is routed cluster-wide on `node` at `version`: no hint
   * narrowed its endpoints there (some ready endpoint without a hint, or none for the node or zone).
   */
  clusterWide(node: number, service: number, version: number): boolean {
    return (this.viewAt(node, service, version)?.routing ?? 'cluster') === 'cluster';
  }

  /** Endpoints in `node`'s rules at `version` (what a full sync writes there). */
  totalAt(node: number, version: number): number {
    return this.timeline.totalEndpointsAt(version) + this.totalDelta[node]![this.indexAt(node, version)]!;
  }

  /** Services `node` drops or rejects at `version` (no endpoint in its view). */
  withoutAt(node: number, version: number): number {
    return this.timeline.servicesWithoutEndpointsAt(version) + this.withoutDelta[node]![this.indexAt(node, version)]!;
  }

  /** The node's view, or null for a Service seen whole there (no entry per node, and no object per connection). */
  private viewAt(node: number, service: number, version: number): NodeView | null {
    const list = this.timeline.endpointsAt(service, version);
    if (!this.isNarrowed(service, list)) return null;
    const key = node * this.timeline.services.length + service;
    const hit = this.cache.get(key);
    if (hit && hit.from === list) return hit.view;
    const view = nodeView(list, this.timeline.services[service]!, this.topology[node]!);
    this.cache.set(key, { from: list, view });
    return view;
  }

  /** narrowed(), with whether a list has hints remembered per list (the timeline keeps a list from version to version until it changes). */
  private isNarrowed(service: number, list: readonly Endpoint[]): boolean {
    if (this.timeline.services[service]!.internalPolicyLocal) return true;
    let h = this.hintedLists.get(list);
    if (h === undefined) this.hintedLists.set(list, (h = hasHints(list)));
    return h;
  }

  /** Node `n`'s difference from the cluster-wide counts for Service `s` holding `list`. */
  private delta(n: number, s: number, list: readonly Endpoint[]): [number, number] {
    const view = nodeView(list, this.timeline.services[s]!, this.topology[n]!).endpoints;
    return [view.length - list.length, (view.length === 0 ? 1 : 0) - (list.length === 0 ? 1 : 0)];
  }

  private indexAt(node: number, version: number): number {
    this.catchUp();
    return lastAtOrBefore(this.versions[node]!, version);
  }

  private catchUp(): void {
    const t = this.timeline;
    for (let v = this.processed + 1; v <= t.version; v++) {
      const s = t.change(v).service;
      const sp = t.services[s]!;
      const before = t.endpointsAt(s, v - 1);
      const after = t.endpointsAt(s, v);
      const sticky = hasAffinity(sp);
      if (sticky && after.length !== before.length) {
        this.affinityVersions.push(v);
        this.affinityTotals.push(this.affinityTotals[this.affinityTotals.length - 1]! + after.length - before.length);
      }
      if (!narrowed(sp, before) && !narrowed(sp, after)) continue;
      for (let n = 0; n < this.topology.length; n++) {
        const [bt, bw] = narrowed(sp, before) ? this.delta(n, s, before) : [0, 0];
        const [at, aw] = narrowed(sp, after) ? this.delta(n, s, after) : [0, 0];
        if (at === bt && aw === bw) continue;
        const vs = this.versions[n]!;
        const last = vs.length - 1;
        const total = this.totalDelta[n]![last]! + at - bt;
        const without = this.withoutDelta[n]![last]! + aw - bw;
        const affinity = this.affinityDelta[n]![last]! + (sticky ? at - bt : 0);
        if (vs[last] === v) {
          this.totalDelta[n]![last] = total;
          this.withoutDelta[n]![last] = without;
          this.affinityDelta[n]![last] = affinity;
        } else {
          vs.push(v);
          this.totalDelta[n]!.push(total);
          this.withoutDelta[n]!.push(without);
          this.affinityDelta[n]!.push(affinity);
        }
      }
    }
    this.processed = t.version;
  }
}

/** One node's list for one Service, and how it was chosen: the node's own (Local), by hints, or every endpoint. */
export interface NodeView {
  endpoints: readonly Endpoint[];
  routing: 'local' | 'hinted' | 'cluster';
}

function hasAffinity(sp: ServicePort): boolean {
  return sp.sessionAffinity === 'ClientIP' && sp.stickyMaxAgeSeconds > 0;
}

/** Whether nodes see `list` of `sp` other than whole: Local policy, or some endpoint with a hint. */
export function narrowed(sp: ServicePort, list: readonly Endpoint[]): boolean {
  return sp.internalPolicyLocal || hasHints(list);
}

function hasHints(list: readonly Endpoint[]): boolean {
  return list.some((e) => e.zoneHints.size > 0 || e.nodeHints.size > 0);
}

/**
 * CategorizeEndpoints for a pod's ClusterIP traffic on `node`: its Local list with internalTrafficPolicy
 * Local, else its Cluster list. The timeline's endpoints are shared by all nodes, so each is marked
 * local here for the node that runs it (endpoint.go IsLocal: nodeName == the proxier's hostname).
 */
export function nodeView(list: readonly Endpoint[], sp: ServicePort, node: NodeTopology): NodeView {
  if (!narrowed(sp, list)) return { endpoints: list, routing: 'cluster' };
  const marked = sp.internalPolicyLocal ? list.map((e) => (e.nodeName === node.nodeName ? { ...e, isLocal: true } : e)) : list;
  const c = categorizeEndpoints(marked, sp, node);
  if (sp.internalPolicyLocal) return { endpoints: c.localEndpoints, routing: 'local' };
  return { endpoints: c.clusterEndpoints, routing: topologyModeFromHints(list, node) === '' ? 'cluster' : 'hinted' };
}
