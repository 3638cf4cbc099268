import type { Endpoint } from '../endpoint.ts';
import type { ProxyState } from '../proxy-state.ts';
import type { ServicePort } from '../service-port.ts';
import type { EndpointTimeline } from '../sync/endpoint-timeline.ts';

/**
 * What a node's kube-proxy knew at its last successful sync, as the rule generators take it: every
 * service port of the timeline and, per port, its endpoints at the node's active version.
 *
 * The timeline's lists are shared by every node and carry no `isLocal` (they are nobody's own
 * view). A node's proxier marks the endpoints whose nodeName is its own as local
 * (pkg/proxy/endpointslicecache.go: isLocal = endpoint.NodeName == this node's name), which is what
 * internalTrafficPolicy Local narrows the rules to (pkg/proxy/topology.go CategorizeEndpoints), so
 * with `node` given the lists are copied with that flag set (once per list and node).
 */
export class VersionStates {
  private readonly ids: string[];
  private readonly ports: readonly ServicePort[];
  private readonly localCopies = new WeakMap<readonly Endpoint[], Map<string, readonly Endpoint[]>>();
  /** Whether some port has internalTrafficPolicy Local: then each node's rules are its own (at() with its name). */
  readonly anyLocal: boolean;

  /**
   * `internalLocal`: every Service has internalTrafficPolicy Local. The run keeps that policy beside
   * the timeline (run/local-endpoints.ts narrows the lists itself), so the ports are marked here for
   * the generators.
   */
  constructor(
    private readonly timeline: EndpointTimeline,
    internalLocal = false,
  ) {
    this.ids = timeline.services.map((sp) => sp.id);
    this.ports = internalLocal ? timeline.services.map((sp) => ({ ...sp, internalPolicyLocal: true })) : timeline.services;
    this.anyLocal = this.ports.some((sp) => sp.internalPolicyLocal);
  }

  /** Service port `s` as the generators are given it. */
  port(s: number): ServicePort {
    return this.ports[s]!;
  }

  /** Port `s`'s endpoints at `version`, marked local for `node` when given (the same list at() puts in the state). */
  endpointsOf(s: number, version: number, node: string | null): readonly Endpoint[] {
    const list = this.timeline.endpointsAt(s, version);
    return node === null || list.length === 0 ? list : this.marked(list, node);
  }

  /** The state at `version`; `node`: the node's name, when its rules depend on which endpoints are its own. */
  at(version: number, node: string | null = null): ProxyState {
    const services = new Map(this.ports.map((sp, i) => [this.ids[i]!, sp] as const));
    const endpoints = new Map<string, readonly Endpoint[]>();
    for (let s = 0; s < this.ids.length; s++) {
      const list = this.endpointsOf(s, version, node);
      if (list.length > 0) endpoints.set(this.ids[s]!, list);
    }
    return { services, endpoints };
  }

  private marked(list: readonly Endpoint[], node: string): readonly Endpoint[] {
    let byNode = this.localCopies.get(list);
    if (!byNode) this.localCopies.set(list, (byNode = new Map()));
    let copy = byNode.get(node);
    if (!copy) byNode.set(node, (copy = list.map((e) => (e.nodeName === node ? { ...e, isLocal: true } : e.isLocal ? { ...e, isLocal: false } : e))));
    return copy;
  }
}
