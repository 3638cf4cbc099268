/**
 * What one node's kube-proxy knows at a sync: every service port and, per service port, its
 * endpoints in kube-proxy's order. The equivalent of the ServicePortMap and EndpointsMap that
 * pkg/proxy/servicechangetracker.go and endpointschangetracker.go maintain.
 *
 * A ProxyState is an immutable value; the sync loop builds a new one per change and hands old and
 * new to the backends, which is how they know what changed (see changedServices).
 */
import type { Endpoint } from './endpoint.ts';
import type { ServicePort } from './service-port.ts';
import { namespacedName } from './service-port.ts';

export interface ProxyState {
  /** By ServicePort.id ("ns/name:port/TCP"). */
  readonly services: ReadonlyMap<string, ServicePort>;
  /** By ServicePort.id; endpoints sorted with compareEndpoints. Ports without endpoints are absent. */
  readonly endpoints: ReadonlyMap<string, readonly Endpoint[]>;
}

export const EMPTY_PROXY_STATE: ProxyState = { services: new Map(), endpoints: new Map() };

/**
 * The namespaced names ("ns/name") of Services whose service ports or endpoints differ between two
 * states: what kube-proxy's change trackers report as UpdatedServices after a checkout, and what a
 * partial sync rewrites.
 */
export function changedServices(prev: ProxyState, cur: ProxyState): Set<string> {
  const changed = new Set<string>();
  for (const [id, sp] of cur.services) {
    const old = prev.services.get(id);
    if (!old || !servicePortsEqual(old, sp)) changed.add(namespacedName(sp.portName));
  }
  for (const [id, sp] of prev.services) {
    if (!cur.services.has(id)) changed.add(namespacedName(sp.portName));
  }
  const ids = new Set<string>([...prev.endpoints.keys(), ...cur.endpoints.keys()]);
  for (const id of ids) {
    const a = prev.endpoints.get(id);
    const b = cur.endpoints.get(id);
    if (a === b) continue;
    if (!a || !b || !endpointListsEqual(a, b)) changed.add(namespaceOfId(id));
  }
  return changed;
}

function namespaceOfId(id: string): string {
  // "ns/name:port/TCP" or "ns/name/TCP" -> "ns/name"
  const slash = id.indexOf('/');
  const rest = id.slice(slash + 1);
  const end = rest.search(/[:/]/);
  return id.slice(0, slash + 1) + rest.slice(0, end);
}

export function servicePortsEqual(a: ServicePort, b: ServicePort): boolean {
  return (
    a === b ||
    (a.id === b.id &&
      a.clusterIP === b.clusterIP &&
      a.port === b.port &&
      a.nodePort === b.nodePort &&
      a.healthCheckNodePort === b.healthCheckNodePort &&
      a.sessionAffinity === b.sessionAffinity &&
      a.stickyMaxAgeSeconds === b.stickyMaxAgeSeconds &&
      a.externalPolicyLocal === b.externalPolicyLocal &&
      a.internalPolicyLocal === b.internalPolicyLocal &&
      sameStrings(a.externalIPs, b.externalIPs) &&
      sameStrings(a.loadBalancerVIPs, b.loadBalancerVIPs) &&
      sameStrings(a.loadBalancerSourceRanges, b.loadBalancerSourceRanges))
  );
}

export function endpointsEqual(a: Endpoint, b: Endpoint): boolean {
  return (
    a === b ||
    (a.endpoint === b.endpoint &&
      a.isLocal === b.isLocal &&
      a.ready === b.ready &&
      a.serving === b.serving &&
      a.terminating === b.terminating &&
      a.nodeName === b.nodeName &&
      a.zone === b.zone &&
      sameSet(a.zoneHints, b.zoneHints) &&
      sameSet(a.nodeHints, b.nodeHints))
  );
}

function endpointListsEqual(a: readonly Endpoint[], b: readonly Endpoint[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!endpointsEqual(a[i]!, b[i]!)) return false;
  return true;
}

function sameStrings(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a.size !== b.size) return false;
  for (const x of a) if (!b.has(x)) return false;
  return true;
}
