import type { Endpoint } from '../proxy/endpoint.ts';
import { lastAtOrBefore, type EndpointTimeline } from '../proxy/sync/endpoint-timeline.ts';

/**
 * internalTrafficPolicy Local: what each node's kube-proxy programs for ClusterIP traffic is the
 * Service's endpoints on that node only (pkg/proxy/topology.go CategorizeEndpoints: the node's ready
 * endpoints, or if it has none its serving-terminating ones); a node with none of them drops the
 * traffic while the Service has endpoints elsewhere, rejects it when it has none at all.
 *
 * The shared EndpointTimeline then holds, per Service, every endpoint usable under some policy (ready
 * or serving-terminating, with its nodeName); this view narrows it per node, and keeps per node, per
 * timeline version, the counts a sync and a first packet depend on: endpoints in the node's rules,
 * and Services this node rejects or drops (their rule is in filter KUBE-SERVICES, not in nat). The
 * counts are brought up to date lazily from the timeline's changes, each touching only the nodes its
 * endpoints run on, so memory grows with changes, not with nodes x Services.
 */
export class LocalEndpoints {
  private readonly nodeIndex = new Map<string, number>();
  /** Per node: the versions at which its counts changed, and the counts from each on. */
  private readonly versions: number[][];
  private readonly totals: number[][];
  private readonly without: number[][];
  private processed = 0;
  /** Per (node, service): the timeline list last narrowed and its local part. */
  private readonly cache = new Map<number, { from: readonly Endpoint[]; local: readonly Endpoint[] }>();

  constructor(
    private readonly timeline: EndpointTimeline,
    private readonly nodeNames: readonly string[],
  ) {
    nodeNames.forEach((n, i) => this.nodeIndex.set(n, i));
    const services = timeline.services.length;
    const totals = new Array<number>(nodeNames.length).fill(0);
    const withLocal = new Array<number>(nodeNames.length).fill(0);
    for (let s = 0; s < services; s++) {
      const list = timeline.endpointsAt(s, 0);
      for (const n of this.nodesOf(list)) {
        const k = localOf(list, nodeNames[n]!).length;
        totals[n]! += k;
        if (k > 0) withLocal[n]!++;
      }
    }
    this.versions = nodeNames.map(() => [0]);
    this.totals = totals.map((t) => [t]);
    this.without = withLocal.map((w) => [services - w]);
    if (timeline.version > 0) throw new Error('LocalEndpoints: built after the timeline changed');
  }

  /** The endpoints `node`'s rules hold for `service` at `version`, in kube-proxy's order. */
  at(node: number, service: number, version: number): readonly Endpoint[] {
    const list = this.timeline.endpointsAt(service, version);
    const key = node * this.timeline.services.length + service;
    const hit = this.cache.get(key);
    if (hit && hit.from === list) return hit.local;
    const local = localOf(list, this.nodeNames[node]!);
    this.cache.set(key, { from: list, local });
    return local;
  }

  /** Endpoints in `node`'s rules at `version` (what a full sync writes there). */
  totalAt(node: number, version: number): number {
    return this.totals[node]![this.indexAt(node, version)]!;
  }

  /** Services `node` drops or rejects at `version` (no local endpoint). */
  withoutAt(node: number, version: number): number {
    return this.without[node]![this.indexAt(node, version)]!;
  }

  private indexAt(node: number, version: number): number {
    this.catchUp();
    return lastAtOrBefore(this.versions[node]!, version);
  }

  private catchUp(): void {
    const t = this.timeline;
    for (let v = this.processed + 1; v <= t.version; v++) {
      const s = t.change(v).service;
      const before = t.endpointsAt(s, v - 1);
      const after = t.endpointsAt(s, v);
      for (const n of new Set([...this.nodesOf(before), ...this.nodesOf(after)])) {
        const name = this.nodeNames[n]!;
        const b = localOf(before, name).length;
        const a = localOf(after, name).length;
        if (a === b) continue;
        const vs = this.versions[n]!;
        const last = vs.length - 1;
        const total = this.totals[n]![last]! + a - b;
        const without = this.without[n]![last]! + (a === 0 ? 1 : 0) - (b === 0 ? 1 : 0);
        if (vs[last] === v) {
          this.totals[n]![last] = total;
          this.without[n]![last] = without;
        } else {
          vs.push(v);
          this.totals[n]!.push(total);
          this.without[n]!.push(without);
        }
      }
    }
    this.processed = t.version;
  }

  private nodesOf(list: readonly Endpoint[]): Set<number> {
    const nodes = new Set<number>();
    for (const e of list) {
      const n = this.nodeIndex.get(e.nodeName);
      if (n !== undefined) nodes.add(n);
    }
    return nodes;
  }
}

/** CategorizeEndpoints' Local list for the node named `node`: its ready endpoints, else its serving-terminating ones. */
export function localOf(list: readonly Endpoint[], node: string): readonly Endpoint[] {
  const ready = list.filter((e) => e.nodeName === node && e.ready);
  return ready.length > 0 ? ready : list.filter((e) => e.nodeName === node && e.serving && e.terminating);
}
