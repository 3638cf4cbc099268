import type { Endpoint } from '../endpoint.ts';
import { categorizeEndpoints } from '../topology.ts';
import type { FirstPacketAt } from './first-packet-plane.ts';
import type { NodeGroups } from './node-groups.ts';
import type { VersionStates } from './version-state.ts';

/** The run's own list of a Service's endpoints on a node (run/node-endpoints.ts NodeEndpoints.at), in kube-proxy's order. */
export type RunEndpoints = (node: number, service: number, version: number) => readonly Endpoint[];

/**
 * Checks that the endpoints a node's walked rules balance a pod's ClusterIP traffic over are the
 * run's list for that node: what the node's proxier was given (its group's state, name and zone)
 * put through CategorizeEndpoints as the proxiers do (the internal traffic chain holds the Local
 * list under internalTrafficPolicy Local, else the Cluster list: pkg/proxy/iptables/proxier.go
 * internalTrafficChain, pkg/proxy/nftables/proxier.go likewise). The walk resolves its random
 * matches to the run's index into its list, so a different list would send the packet to an
 * endpoint the run did not choose; a mismatch is a bug in the grouping of nodes or the run's view,
 * and throws. Each (node, port) is checked again only when either list changed.
 */
export class EndpointListCheck {
  private readonly seen = new Map<number, { run: readonly Endpoint[]; given: readonly Endpoint[] }>();

  constructor(
    private readonly runEndpoints: RunEndpoints,
    private readonly states: VersionStates,
    private readonly groups: NodeGroups,
    private readonly ports: number,
  ) {}

  check(at: FirstPacketAt): void {
    const run = this.runEndpoints(at.node, at.service, at.version);
    const g = this.groups.group(at.node);
    const given = this.states.endpointsOf(at.service, at.version, this.groups.localName(g));
    const key = at.node * this.ports + at.service;
    const hit = this.seen.get(key);
    if (hit && hit.run === run && hit.given === given) return;
    const sp = this.states.port(at.service);
    const cat = categorizeEndpoints(given, sp, this.groups.topology(g));
    const walked = sp.internalPolicyLocal ? cat.localEndpoints : cat.clusterEndpoints;
    if (!sameEndpoints(walked, run)) {
      const names = (l: readonly Endpoint[]) => `[${l.map((e) => e.endpoint).join(' ')}]`;
      throw new Error(`dataPlane rules: node ${at.node}'s rules for service port ${at.service} at version ${at.version} hold ${names(walked)}, the run's list is ${names(run)}`);
    }
    this.seen.set(key, { run, given });
  }
}

function sameEndpoints(a: readonly Endpoint[], b: readonly Endpoint[]): boolean {
  return a.length === b.length && a.every((e, i) => e.endpoint === b[i]!.endpoint);
}
