import type { EndpointSlice } from '../k8s/objects.ts';
import { compareEndpoints, type Endpoint } from '../proxy/endpoint.ts';
import type { ServicePort } from '../proxy/service-port.ts';
import { categorizeEndpoints } from '../proxy/topology.ts';

/**
 * What the feeds (control-plane-feed.ts, manifest-feed.ts) read from a Service's EndpointSlices:
 * which Service a slice belongs to, and what kube-proxy programs from its endpoints.
 */

/** `namespace/name` of the Service a slice belongs to (its kubernetes.io/service-name label). */
export function sliceServiceKey(slice: EndpointSlice): string {
  return `${slice.metadata.namespace ?? 'default'}/${slice.metadata.labels?.['kubernetes.io/service-name'] ?? ''}`;
}

/**
 * What kube-proxy programs for one port (Cluster: ready, else serving-terminating,
 * pkg/proxy/topology.go; Local: every endpoint either could use, since each node narrows it to its
 * own with LocalEndpoints) and every serving endpoint (what its UDP conntrack cleanup keeps).
 */
export function programmedEndpoints(all: readonly Endpoint[], sp: ServicePort, internalLocal: boolean): { programmed: Endpoint[]; serving: Endpoint[] } {
  const serving = all.filter((e) => e.serving).sort(compareEndpoints);
  if (internalLocal) return { programmed: all.filter((e) => e.ready || (e.serving && e.terminating)), serving };
  return { programmed: [...categorizeEndpoints(all, sp, { nodeName: '', zone: '' }).clusterEndpoints], serving };
}

/**
 * Same endpoints; with `conditions`, also the same ready and terminating state (which Local lists
 * depend on); with `hints`, also the same topology hints (which each node's list depends on).
 */
export function sameEndpoints(a: readonly Endpoint[], b: readonly Endpoint[], conditions: boolean, hints = false): boolean {
  if (a.length !== b.length) return false;
  for (let k = 0; k < a.length; k++) {
    const x = a[k]!;
    const y = b[k]!;
    if (x.endpoint !== y.endpoint) return false;
    if (conditions && (x.ready !== y.ready || x.terminating !== y.terminating || x.nodeName !== y.nodeName)) return false;
    if (hints && !(sameSet(x.zoneHints, y.zoneHints) && sameSet(x.nodeHints, y.nodeHints))) return false;
  }
  return true;
}

function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a.size !== b.size) return false;
  for (const x of a) if (!b.has(x)) return false;
  return true;
}
