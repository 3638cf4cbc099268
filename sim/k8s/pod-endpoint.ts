import { isPodReady, type AddressType, type Endpoint, type EndpointConditions, type EndpointPort, type Node, type Pod, type Service, type ServicePort } from './objects.ts';

/**
 * A pod as an endpoint of a Service, the per-pod half of the EndpointSlice controller
 * (staging/src/k8s.io/endpointslice utils.go, util/controller_utils.go): whether the pod belongs in the
 * slices, which ports it serves, the endpoint it gives and that endpoint's identity. The reconciler
 * (endpointslice-reconciler.ts) places these endpoints into slices; `svcsim endpoints --explain`
 * (explain.ts) names which of these checks kept a pod out.
 */

/** util.ShouldPodBeInEndpoints(pod, includeTerminating=true): not terminal and has an IP. */
export function shouldPodBeInEndpoints(pod: Pod): boolean {
  const phase = pod.status?.phase;
  if (phase === 'Failed' || phase === 'Succeeded') return false;
  return podHasIP(pod);
}

export function podHasIP(pod: Pod): boolean {
  return !!pod.status?.podIP || (pod.status?.podIPs?.length ?? 0) > 0;
}

/**
 * FindPort: a numeric targetPort is used as is; a named one is looked up among the containers' ports
 * with the same name AND protocol (then among restartable init containers, i.e. sidecars).
 * targetPort absent means "same as port" (the API server defaults it).
 */
export function findPort(pod: Pod, sp: ServicePort): number | undefined {
  const tp = sp.targetPort ?? sp.port;
  if (typeof tp === 'number') return tp;
  if (/^\d+$/.test(tp)) return Number(tp);
  const proto = sp.protocol ?? 'TCP';
  for (const c of pod.spec.containers) {
    for (const p of c.ports ?? []) if (p.name === tp && (p.protocol ?? 'TCP') === proto) return p.containerPort;
  }
  for (const c of pod.spec.initContainers ?? []) {
    if ((c as { restartPolicy?: string }).restartPolicy !== 'Always') continue;
    for (const p of c.ports ?? []) if (p.name === tp && (p.protocol ?? 'TCP') === proto) return p.containerPort;
  }
  return undefined;
}

/** getEndpointPorts: one EndpointPort per Service port the pod can serve; ports it lacks are skipped. */
export function endpointPortsFor(service: Service, pod: Pod): EndpointPort[] {
  const ports = service.spec.ports ?? [];
  const out: EndpointPort[] = [];
  for (const sp of ports) {
    const n = findPort(pod, sp);
    if (n === undefined) continue;
    const ep: EndpointPort = { name: sp.name ?? '', port: n, protocol: sp.protocol ?? 'TCP' };
    if (sp.appProtocol !== undefined) ep.appProtocol = sp.appProtocol;
    out.push(ep);
  }
  return out;
}

/** NewPortMapKey: slices are grouped by their exact (sorted) port list. */
export function portMapKey(ports: readonly EndpointPort[] | undefined): string {
  if (!ports || ports.length === 0) return '';
  if (ports.length === 1) {
    const p = ports[0]!;
    return `${p.name ?? ''}/${p.protocol ?? 'TCP'}/${p.port ?? ''}/${p.appProtocol ?? ''}`;
  }
  const parts = ports.map((p) => `${p.name ?? ''}/${p.protocol ?? 'TCP'}/${p.port ?? ''}/${p.appProtocol ?? ''}`);
  parts.sort();
  return parts.join(',');
}

function isIPv6(ip: string): boolean {
  return ip.includes(':');
}

/** getAddressTypesForService: from ipFamilies, else the ClusterIP's family, else (headless) both. */
export function addressTypesForService(service: Service): AddressType[] {
  const fams = service.spec.ipFamilies;
  if (fams && fams.length > 0) {
    const out: AddressType[] = [];
    if (fams.includes('IPv4')) out.push('IPv4');
    if (fams.includes('IPv6')) out.push('IPv6');
    return out;
  }
  const cip = service.spec.clusterIP;
  if (cip && cip !== 'None') return [isIPv6(cip) ? 'IPv6' : 'IPv4'];
  return ['IPv4', 'IPv6'];
}

function podAddresses(pod: Pod, addressType: AddressType): string[] {
  const ips = pod.status?.podIPs?.length ? pod.status.podIPs.map((p) => p.ip) : pod.status?.podIP ? [pod.status.podIP] : [];
  const out: string[] = [];
  for (const ip of ips) if (isIPv6(ip) === (addressType === 'IPv6')) out.push(ip);
  return out;
}

export const LABEL_TOPOLOGY_ZONE = 'topology.kubernetes.io/zone';

/**
 * podToEndpoint: serving = pod Ready; terminating = deletionTimestamp set; ready = serving and not
 * terminating, or always true with publishNotReadyAddresses.
 */
export function podToEndpoint(pod: Pod, node: Node | undefined, service: Service, addressType: AddressType): Endpoint {
  const serving = isPodReady(pod);
  const terminating = pod.metadata.deletionTimestamp !== undefined;
  const ready = service.spec.publishNotReadyAddresses === true || (serving && !terminating);
  const ep: Endpoint = {
    addresses: podAddresses(pod, addressType),
    conditions: sharedConditions(ready, serving, terminating),
    targetRef: { kind: 'Pod', namespace: pod.metadata.namespace, name: pod.metadata.name, uid: pod.metadata.uid },
  };
  if (pod.spec.nodeName) ep.nodeName = pod.spec.nodeName;
  const zone = node?.metadata.labels?.[LABEL_TOPOLOGY_ZONE];
  if (zone) ep.zone = zone;
  if (pod.spec.hostname && pod.spec.subdomain === service.metadata.name && pod.metadata.namespace === service.metadata.namespace) {
    ep.hostname = pod.spec.hostname;
  }
  return ep;
}

/**
 * The eight possible condition triples as shared immutable objects: slices hold one per endpoint, and
 * at 150,000 endpoints a copy each is 7 MB the garbage collector walks for nothing.
 */
const CONDITIONS: readonly EndpointConditions[] = Array.from({ length: 8 }, (_, i) => Object.freeze({ ready: (i & 4) !== 0, serving: (i & 2) !== 0, terminating: (i & 1) !== 0 }));
function sharedConditions(ready: boolean, serving: boolean, terminating: boolean): EndpointConditions {
  return CONDITIONS[(ready ? 4 : 0) | (serving ? 2 : 0) | (terminating ? 1 : 0)]!;
}

/** hashEndpoint: identity is addresses + hostname + target namespace/name; the rest may change in place. */
export function endpointHash(ep: Endpoint): string {
  const known = endpointHashes.get(ep);
  if (known !== undefined) return known;
  const addrs = ep.addresses.length > 1 ? [...ep.addresses].sort() : ep.addresses;
  return `${addrs.join(',')}|${ep.hostname ?? ''}|${ep.targetRef?.namespace ?? ''}/${ep.targetRef?.name ?? ''}`;
}

/** EndpointsEqualBeyondHash: nodeName, zone, the three conditions and targetRef (minus resourceVersion). */
export function endpointsEqualBeyondHash(a: Endpoint, b: Endpoint): boolean {
  if (a === b) return true;
  if (a.nodeName !== b.nodeName || a.zone !== b.zone) return false;
  const ca = a.conditions ?? {};
  const cb = b.conditions ?? {};
  if (ca.ready !== cb.ready || ca.serving !== cb.serving || ca.terminating !== cb.terminating) return false;
  const ta = a.targetRef;
  const tb = b.targetRef;
  if (!ta || !tb) return ta === tb;
  return ta.kind === tb.kind && ta.namespace === tb.namespace && ta.name === tb.name && ta.uid === tb.uid;
}

/**
 * What one pod version contributes to one Service version: its ports, their port-map key, its endpoint
 * and the endpoint's hash. Objects are immutable versions, so the entry stays valid while the pod, the
 * Service and the node are the same objects; a sync of a large Service then rebuilds only the entries
 * of the pods that changed, and an unchanged endpoint is the same object as before (compared by
 * identity first). The real controller recomputes them (it is Go and its pods are few per Service).
 */
interface PodEntry {
  service: Service;
  node: Node | undefined;
  addressType: AddressType;
  ports: EndpointPort[];
  portKey: string;
  ep: Endpoint;
  hash: string;
}
const podEntries = new WeakMap<Pod, PodEntry>();
const endpointHashes = new WeakMap<Endpoint, string>();

/**
 * A Service's endpoint ports depend on the pod only through its containers' declared ports, and the
 * pods of one template share their containers array: one ports list (and key) per (Service version,
 * containers) instead of one per pod.
 */
const portsByContainers = new WeakMap<Service, WeakMap<object, { ports: EndpointPort[]; portKey: string }>>();
function podPorts(service: Service, pod: Pod): { ports: EndpointPort[]; portKey: string } {
  if (pod.spec.initContainers !== undefined) {
    const ports = endpointPortsFor(service, pod);
    return { ports, portKey: portMapKey(ports) };
  }
  let bySpec = portsByContainers.get(service);
  if (!bySpec) portsByContainers.set(service, (bySpec = new WeakMap()));
  let p = bySpec.get(pod.spec.containers);
  if (!p) {
    const ports = endpointPortsFor(service, pod);
    bySpec.set(pod.spec.containers, (p = { ports, portKey: portMapKey(ports) }));
  }
  return p;
}

export function podEntry(pod: Pod, node: Node | undefined, service: Service, addressType: AddressType): PodEntry {
  const c = podEntries.get(pod);
  if (c && c.service === service && c.node === node && c.addressType === addressType) return c;
  const { ports, portKey } = podPorts(service, pod);
  const ep = podToEndpoint(pod, node, service, addressType);
  const hash = endpointHash(ep);
  endpointHashes.set(ep, hash);
  const e: PodEntry = { service, node, addressType, ports, portKey, ep, hash };
  podEntries.set(pod, e);
  return e;
}

export function cachedHash(ep: Endpoint): string {
  let h = endpointHashes.get(ep);
  if (h === undefined) endpointHashes.set(ep, (h = endpointHash(ep)));
  return h;
}

