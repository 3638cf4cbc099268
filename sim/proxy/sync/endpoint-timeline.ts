import type { Endpoint } from '../endpoint.ts';
import type { ServicePort } from '../service-port.ts';

/**
 * Every endpoint change kube-proxy can hear, numbered in the API server's order, shared by all nodes.
 *
 * All watchers receive the same events in the same order (only later or sooner), so what a node's
 * kube-proxy knows is fully described by how many of these changes it has heard, and what its kernel
 * does by how many were included in its last successful sync: two integers per node. A node's
 * endpoints for a service are looked up at its version in that service's history (binary search), so
 * memory grows with the number of changes, not with nodes x services (docs/design.md: "memory grows with
 * distinct versions, not with nodes").
 *
 * Version 0 is the initial state; version k is the state after the k-th change.
 */
export interface EndpointChange {
  version: number;
  service: number;
  /** When the change was triggered (the pod event), as the EndpointSlice's last-change-trigger-time. */
  triggerTime: number;
  /** Endpoints (ip:port) usable before the change but not after: removals, for the stale window. */
  removed: readonly string[];
  /** When the removed endpoints stopped answering (a crash or node failure before the Ready write); triggerTime otherwise. The stale window's start. */
  removedSince: number;
  /**
   * The service's history around this change, so a sync that covers a range of versions finds each
   * changed service once and its lists without a search (changedBetween, servicesChangedBetween):
   * `previous` is the version of the service's change before this one (0: its initial list),
   * `next` the version of its change after this one (Infinity until there is one), `index` this
   * change's place in the service's history (its list is history index `index`, the one before it
   * `index - 1`).
   */
  readonly previous: number;
  next: number;
  readonly index: number;
}

interface History {
  versions: number[];
  /** The endpoints kube-proxy uses for Cluster-policy traffic (ready, else serving-terminating). */
  lists: (readonly Endpoint[])[];
  /**
   * Every serving endpoint of the service port (ready or not, terminating or not), which is what
   * kube-proxy's UDP conntrack cleanup keeps (pkg/proxy/conntrack/cleanup.go: endpoint.IsServing(),
   * whatever the traffic policy or topology). The same array as `lists` when they do not differ.
   */
  serving: (readonly Endpoint[])[];
}

export class EndpointTimeline {
  readonly services: ServicePort[] = [];
  private readonly histories: History[] = [];
  readonly changes: EndpointChange[] = [];
  /** Sum over services of their endpoint counts, per version (what a full sync writes). */
  private readonly totals: number[] = [0];
  /** Service ports with no usable endpoint, per version (each gets a REJECT rule). */
  private readonly empty: number[] = [0];
  /**
   * Per change (index version - 1), the numbers a sync's description reads, in flat arrays: on
   * 5,000 nodes each sync walks hundreds of changes, and objects scattered over the heap cost a cache
   * miss each. The service's previous and next change (as EndpointChange has them), and its endpoint
   * counts before and after the change and kept through it.
   */
  private readonly previousOf: number[] = [];
  private readonly nextOf: number[] = [];
  private readonly countBefore: number[] = [];
  private readonly countAfter: number[] = [];
  private readonly countKept: number[] = [];

  get version(): number {
    return this.changes.length;
  }

  /** Registers a service port with its initial endpoints (version 0); returns its index. */
  addService(port: ServicePort, endpoints: readonly Endpoint[], serving: readonly Endpoint[] = endpoints): number {
    if (this.changes.length > 0) throw new Error('EndpointTimeline: services are registered before the first change');
    const i = this.services.length;
    this.services.push(port);
    this.histories.push({ versions: [0], lists: [endpoints], serving: [serving] });
    this.totals[0]! += endpoints.length;
    if (endpoints.length === 0) this.empty[0]!++;
    return i;
  }

  /** Records a new endpoint list for a service (and its serving endpoints, by default the same); returns the new version. */
  apply(service: number, endpoints: readonly Endpoint[], triggerTime: number, removedSince: number = triggerTime, serving: readonly Endpoint[] = endpoints): number {
    const h = this.histories[service]!;
    const before = h.lists[h.lists.length - 1]!;
    const version = this.changes.length + 1;
    const after = new Set(endpoints.map((e) => e.endpoint));
    const removed = before.filter((e) => !after.has(e.endpoint)).map((e) => e.endpoint);
    const previous = h.versions[h.versions.length - 1]!;
    if (previous > 0) {
      this.changes[previous - 1]!.next = version;
      this.nextOf[previous - 1] = version;
    }
    this.previousOf.push(previous);
    this.nextOf.push(Infinity);
    this.countBefore.push(before.length);
    this.countAfter.push(endpoints.length);
    this.countKept.push(before.length - removed.length);
    h.versions.push(version);
    h.lists.push(endpoints);
    h.serving.push(serving);
    this.totals.push(this.totals[version - 1]! - before.length + endpoints.length);
    this.empty.push(this.empty[version - 1]! + (endpoints.length === 0 ? 1 : 0) - (before.length === 0 ? 1 : 0));
    this.changes.push({ version, service, triggerTime, removed, removedSince: Math.min(removedSince, triggerTime), previous, next: Infinity, index: h.versions.length - 1 });
    return version;
  }

  /** The service's endpoints as of `version`. */
  endpointsAt(service: number, version: number): readonly Endpoint[] {
    const h = this.histories[service]!;
    return h.lists[this.indexAt(h, version)]!;
  }

  /** The service's serving endpoints as of `version` (kube-proxy's conntrack cleanup keeps entries to these). */
  servingAt(service: number, version: number): readonly Endpoint[] {
    const h = this.histories[service]!;
    return h.serving[this.indexAt(h, version)]!;
  }

  private indexAt(h: History, version: number): number {
    return lastAtOrBefore(h.versions, version);
  }

  /** Total endpoints over all services at `version`. */
  totalEndpointsAt(version: number): number {
    return this.totals[version]!;
  }

  /** Service ports without usable endpoints at `version`. */
  servicesWithoutEndpointsAt(version: number): number {
    return this.empty[version]!;
  }

  /** The change that produced `version` (1-based). */
  change(version: number): EndpointChange {
    return this.changes[version - 1]!;
  }

  /**
   * Distinct services changed by the changes in (from, to], in the order of their first change there
   * (a change is its service's first in the range when the service's previous change is at or before
   * `from`: no set needed, which matters when 5,000 nodes each sync over hundreds of changes).
   */
  servicesChangedBetween(from: number, to: number): number[] {
    const out: number[] = [];
    for (let v = from + 1; v <= to; v++) {
      const c = this.changes[v - 1]!;
      if (c.previous <= from) out.push(c.service);
    }
    return out;
  }

  /**
   * Per service changed in (from, to], in the order of servicesChangedBetween: its endpoint count at
   * `from` and at `to` and how many of the first it keeps (endpoints compared by their `endpoint`
   * key, as kube-proxy's sync compares them). A service changed once in the range is read from the
   * flat per-change counts; one changed more than once compares its two lists.
   */
  changedBetween(from: number, to: number): { before: number; after: number; kept: number }[] {
    const out: { before: number; after: number; kept: number }[] = [];
    const previousOf = this.previousOf;
    const nextOf = this.nextOf;
    for (let v = from + 1; v <= to; v++) {
      if (previousOf[v - 1]! > from) continue;
      let last = v;
      while (nextOf[last - 1]! <= to) last = nextOf[last - 1]!;
      if (last === v) out.push({ before: this.countBefore[v - 1]!, after: this.countAfter[v - 1]!, kept: this.countKept[v - 1]! });
      else {
        const c = this.changes[v - 1]!;
        const lists = this.histories[c.service]!.lists;
        const before = lists[c.index - 1]!;
        const after = lists[this.changes[last - 1]!.index]!;
        const now = new Set(after.map((e) => e.endpoint));
        out.push({ before: before.length, after: after.length, kept: before.filter((e) => now.has(e.endpoint)).length });
      }
    }
    return out;
  }
}

/** The index of the last of the increasing versions `vs` at or before `version` (vs[0] is the first version kept). */
export function lastAtOrBefore(vs: readonly number[], version: number): number {
  let lo = 0;
  let hi = vs.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (vs[mid]! <= version) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}
