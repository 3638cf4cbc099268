import {
  CONTROLLER_NAME,
  LABEL_HEADLESS,
  LABEL_MANAGED_BY,
  LABEL_SERVICE_NAME,
  ANNOTATION_LAST_CHANGE_TRIGGER_TIME,
  isPodReady,
  type AddressType,
  type Endpoint,
  type EndpointConditions,
  type EndpointPort,
  type EndpointSlice,
  type Node,
  type Pod,
  type Service,
  type ServicePort,
} from './objects.ts';

/**
 * The EndpointSlice reconciler: given a Service, the pods its selector matches and the slices that
 * exist, decide which slices to create, update and delete. It follows the real controller step by step
 * (kubernetes/kubernetes staging/src/k8s.io/endpointslice/reconciler.go: Reconcile,
 * reconcileByAddressType, reconcileByPortMapping, finalize; utils.go: podToEndpoint, getEndpointPorts,
 * FindPort, getSliceToFill, setEndpointSliceLabels), because the number of slices written per change —
 * churn — is what every kube-proxy pays for.
 *
 * Where Go iterates a map (random order), this iterates in insertion order so runs are reproducible:
 * pods in the order given, slices in the order given.
 *
 * Pure: it reads its inputs and returns new slice objects; unchanged endpoints are the same objects as
 * in the existing slices (immutable versions are shared, never copied).
 */

export const DEFAULT_MAX_ENDPOINTS_PER_SLICE = 100; // kube-controller-manager --max-endpoints-per-slice

export interface ReconcileInput {
  service: Service;
  /** Pods in the Service's namespace whose labels match its selector. */
  pods: readonly Pod[];
  /** Slices currently labelled kubernetes.io/service-name=<service> and managed by this controller. */
  existing: readonly EndpointSlice[];
  /** Node lookup for zone and for the "node not found" skip; undefined: nodes are not known (CLI on manifests without Nodes). */
  nodes?: (name: string) => Node | undefined;
  maxEndpointsPerSlice?: number;
  /** RFC 3339 (nano) trigger time for the endpoints.kubernetes.io/last-change-trigger-time annotation. */
  triggerTime?: string;
  /** Name for a slice being created (the API server's generateName). */
  generateName: (prefix: string) => string;
}

export interface SliceChanges {
  create: EndpointSlice[];
  update: EndpointSlice[];
  delete: EndpointSlice[];
  /** Endpoints added to and removed from the service by this sync (metrics EndpointsAddedPerSync/RemovedPerSync). */
  added: number;
  removed: number;
}

// ---------------------------------------------------------------------------------------------------
// Per-pod pieces (utils.go, util/controller_utils.go)

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

function podEntry(pod: Pod, node: Node | undefined, service: Service, addressType: AddressType): PodEntry {
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

function cachedHash(ep: Endpoint): string {
  let h = endpointHashes.get(ep);
  if (h === undefined) endpointHashes.set(ep, (h = endpointHash(ep)));
  return h;
}

// ---------------------------------------------------------------------------------------------------
// Slice-level pieces

/** setEndpointSliceLabels: the Service's labels minus reserved ones, plus service-name, managed-by, headless. */
export function sliceLabelsFor(service: Service, current: Readonly<Record<string, string>> | undefined): { labels: Record<string, string>; changed: boolean } {
  const reserved = (k: string) => k === LABEL_SERVICE_NAME || k === LABEL_MANAGED_BY || k === LABEL_HEADLESS;
  const svcLabels: Record<string, string> = {};
  for (const [k, v] of Object.entries(service.metadata.labels ?? {})) if (!reserved(k)) svcLabels[k] = v;
  let changed = false;
  const cur = Object.entries(current ?? {}).filter(([k]) => !reserved(k));
  if (cur.length !== Object.keys(svcLabels).length) changed = true;
  else for (const [k, v] of cur) if (svcLabels[k] !== v) changed = true;
  const cip = service.spec.clusterIP;
  if (cip === 'None' || !cip) svcLabels[LABEL_HEADLESS] = '';
  svcLabels[LABEL_SERVICE_NAME] = service.metadata.name;
  svcLabels[LABEL_MANAGED_BY] = CONTROLLER_NAME;
  return { labels: svcLabels, changed };
}

/** getEndpointSlicePrefix: `<service>-` (the dash is dropped only when the name is too long). */
export function sliceNamePrefix(serviceName: string): string {
  return serviceName.length + 1 <= 253 ? serviceName + '-' : serviceName;
}

function ownedBy(slice: EndpointSlice, service: Service): boolean {
  for (const o of slice.metadata.ownerReferences ?? []) {
    if (o.kind === 'Service' && o.apiVersion === 'v1' && o.uid === service.metadata.uid) return true;
  }
  return false;
}

function newSlice(service: Service, ports: EndpointPort[], addressType: AddressType): EndpointSlice {
  const owner = {
    apiVersion: 'v1',
    kind: 'Service',
    name: service.metadata.name,
    uid: service.metadata.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: '',
      namespace: service.metadata.namespace,
      generateName: sliceNamePrefix(service.metadata.name),
      labels: sliceLabelsFor(service, undefined).labels,
      ownerReferences: [owner],
    },
    addressType,
    endpoints: [],
    ports,
  };
}

/** A shallow copy whose endpoints array and metadata may be changed (DeepCopy in Go; endpoints stay shared). */
function copySlice(s: EndpointSlice): EndpointSlice {
  return { ...s, metadata: { ...s.metadata }, endpoints: s.endpoints.slice() };
}

/** getSliceToFill: the slice that will be closest to full once `n` endpoints are added. */
function sliceToFill(slices: EndpointSlice[], n: number, max: number): EndpointSlice | undefined {
  let closestDiff = max;
  let closest: EndpointSlice | undefined;
  for (const s of slices) {
    const diff = max - (n + s.endpoints.length);
    if (diff >= 0 && diff < closestDiff) {
      closestDiff = diff;
      closest = s;
      if (diff === 0) return closest;
    }
  }
  return closest;
}

// ---------------------------------------------------------------------------------------------------
// The reconcile

export function reconcileEndpointSlices(input: ReconcileInput): SliceChanges {
  const { service } = input;
  const supported = addressTypesForService(service);
  const out: SliceChanges = { create: [], update: [], delete: [], added: 0, removed: 0 };
  const byType = new Map<AddressType, EndpointSlice[]>();
  for (const s of input.existing) {
    if (!supported.includes(s.addressType)) {
      out.delete.push(s);
      continue;
    }
    let l = byType.get(s.addressType);
    if (!l) byType.set(s.addressType, (l = []));
    l.push(s);
  }
  const deletedForType = out.delete.slice();
  out.delete = [];
  for (const t of supported) {
    const r = reconcileByAddressType(input, byType.get(t) ?? [], t);
    out.create.push(...r.create);
    out.update.push(...r.update);
    out.delete.push(...r.delete);
    out.added += r.added;
    out.removed += r.removed;
  }
  out.delete.push(...deletedForType);
  return out;
}

function reconcileByAddressType(input: ReconcileInput, existing: EndpointSlice[], addressType: AddressType): SliceChanges {
  const { service } = input;
  const max = input.maxEndpointsPerSlice ?? DEFAULT_MAX_ENDPOINTS_PER_SLICE;
  let toCreate: EndpointSlice[] = [];
  let toUpdate: EndpointSlice[] = [];
  let toDelete: EndpointSlice[] = [];

  const existingByPortMap = new Map<string, EndpointSlice[]>();
  for (const s of existing) {
    if (ownedBy(s, service)) {
      const k = portMapKey(s.ports);
      let l = existingByPortMap.get(k);
      if (!l) existingByPortMap.set(k, (l = []));
      l.push(s);
    } else toDelete.push(s);
  }

  let added = 0;
  let removed = 0;
  const desiredByPortMap = new Map<string, { ports: EndpointPort[]; set: Map<string, Endpoint> }>();
  for (const pod of input.pods) {
    if (!shouldPodBeInEndpoints(pod)) continue;
    let node: Node | undefined;
    if (input.nodes && pod.spec.nodeName !== undefined) {
      node = input.nodes(pod.spec.nodeName);
      // A pod on a Node that does not exist is left out (and the Service retried) unless the Service
      // publishes not-ready addresses (reconciler.go reconcileByAddressType).
      if (!node && !service.spec.publishNotReadyAddresses) continue;
    }
    const c = podEntry(pod, node, service, addressType);
    let d = desiredByPortMap.get(c.portKey);
    if (!d) desiredByPortMap.set(c.portKey, (d = { ports: c.ports, set: new Map() }));
    if (c.ep.addresses.length > 0) d.set.set(c.hash, c.ep);
  }

  for (const [k, d] of desiredByPortMap) {
    const r = reconcileByPortMapping(input, existingByPortMap.get(k) ?? [], d.set, d.ports, addressType, max);
    toCreate.push(...r.create);
    toUpdate.push(...r.update);
    toDelete.push(...r.delete);
    added += r.added;
    removed += r.removed;
  }
  for (const [k, l] of existingByPortMap) if (!desiredByPortMap.has(k)) toDelete.push(...l);

  // No slice would remain: keep (or create) the placeholder, a slice with no ports and no endpoints,
  // so consumers can tell "no endpoints" from "not synced yet".
  if (existing.length === toDelete.length && toCreate.length < 1) {
    const placeholder = newSlice(service, [], addressType);
    if (toDelete.length === 1 && isPlaceholderLike(toDelete[0]!, placeholder)) toDelete = [];
    else toCreate.push(placeholder);
  }

  // finalize: turn creates into updates of slices that would be deleted (same address type, owned).
  for (let i = 0; i < toDelete.length && toCreate.length > 0; ) {
    const del = toDelete[i]!;
    const c = toCreate[toCreate.length - 1]!;
    if (del.addressType === c.addressType && ownedBy(del, service)) {
      const reused: EndpointSlice = { ...c, metadata: { ...del.metadata, labels: c.metadata.labels } };
      toCreate.pop();
      toUpdate.push(reused);
      toDelete.splice(i, 1);
    } else i++;
  }
  const svcDeleting = service.metadata.deletionTimestamp !== undefined;
  if (svcDeleting) toCreate = [];
  for (const s of toCreate) {
    s.metadata.name = input.generateName(s.metadata.generateName ?? '');
    setTriggerTime(s, input.triggerTime);
  }
  for (const s of toUpdate) setTriggerTime(s, input.triggerTime);
  return { create: toCreate, update: toUpdate, delete: toDelete, added, removed };
}

function isPlaceholderLike(a: EndpointSlice, b: EndpointSlice): boolean {
  if (a.metadata.namespace !== b.metadata.namespace) return false;
  if ((a.ports?.length ?? 0) !== 0 || a.endpoints.length !== 0) return false;
  const la = a.metadata.labels ?? {};
  const lb = b.metadata.labels ?? {};
  const ka = Object.keys(la);
  if (ka.length !== Object.keys(lb).length) return false;
  for (const k of ka) if (la[k] !== lb[k]) return false;
  return true;
}

function setTriggerTime(s: EndpointSlice, t: string | undefined): void {
  const ann = { ...(s.metadata.annotations ?? {}) };
  if (t) ann[ANNOTATION_LAST_CHANGE_TRIGGER_TIME] = t;
  else delete ann[ANNOTATION_LAST_CHANGE_TRIGGER_TIME];
  if (Object.keys(ann).length > 0) s.metadata.annotations = ann;
  else delete s.metadata.annotations;
}

function reconcileByPortMapping(
  input: ReconcileInput,
  existing: EndpointSlice[],
  desired: Map<string, Endpoint>,
  ports: EndpointPort[],
  addressType: AddressType,
  max: number,
): SliceChanges {
  const { service } = input;
  const byName = new Map<string, EndpointSlice>();
  const unchanged: string[] = [];
  const toUpdateNames: string[] = [];
  const toDeleteNames: string[] = [];
  let removed = 0;

  // 1. Drop endpoints no longer desired; refresh those that changed in place.
  for (const s of existing) {
    byName.set(s.metadata.name, s);
    const kept: Endpoint[] = [];
    let updated = false;
    for (const ep of s.endpoints) {
      const h = cachedHash(ep);
      const got = desired.get(h);
      if (got) {
        if (endpointsEqualBeyondHash(got, ep)) kept.push(ep); // share the existing version
        else {
          kept.push(got);
          updated = true;
        }
        desired.delete(h);
      }
    }
    const { labels, changed: labelsChanged } = sliceLabelsFor(service, s.metadata.labels);
    if (updated || kept.length !== s.endpoints.length) {
      if (s.endpoints.length > kept.length) removed += s.endpoints.length - kept.length;
      if (kept.length === 0) toDeleteNames.push(s.metadata.name);
      else {
        const c: EndpointSlice = { ...s, metadata: { ...s.metadata, labels }, endpoints: kept };
        byName.set(s.metadata.name, c);
        toUpdateNames.push(s.metadata.name);
      }
    } else if (labelsChanged) {
      const c: EndpointSlice = { ...s, metadata: { ...s.metadata, labels } };
      byName.set(s.metadata.name, c);
      toUpdateNames.push(s.metadata.name);
    } else unchanged.push(s.metadata.name);
  }

  const added = desired.size;
  // PopAny takes the first remaining entry: insertion order instead of Go's random map order.
  const it = desired.entries();
  const popAny = (): Endpoint => {
    const [h, ep] = it.next().value as [string, Endpoint];
    desired.delete(h);
    return ep;
  };

  // 2. Fill the slices already being updated, fullest first.
  if (desired.size > 0 && toUpdateNames.length > 0) {
    const slices = toUpdateNames.map((n) => byName.get(n)!);
    slices.sort((a, b) => b.endpoints.length - a.endpoints.length);
    for (const s of slices) {
      while (desired.size > 0 && s.endpoints.length < max) s.endpoints.push(popAny());
    }
  }

  // 3. The rest: into the one unchanged slice that fits best, else into new slices.
  const create: EndpointSlice[] = [];
  while (desired.size > 0) {
    let fill: EndpointSlice | undefined;
    if (desired.size < max && unchanged.length > 0) {
      fill = sliceToFill(unchanged.map((n) => byName.get(n)!), desired.size, max);
    }
    if (!fill) fill = newSlice(service, ports, addressType);
    else {
      fill = copySlice(fill);
      byName.set(fill.metadata.name, fill);
    }
    while (desired.size > 0 && fill.endpoints.length < max) fill.endpoints.push(popAny());
    if (fill.metadata.name !== '') {
      if (!toUpdateNames.includes(fill.metadata.name)) toUpdateNames.push(fill.metadata.name);
      const i = unchanged.indexOf(fill.metadata.name);
      if (i >= 0) unchanged.splice(i, 1);
    } else create.push(fill);
  }

  return {
    create,
    update: toUpdateNames.map((n) => byName.get(n)!),
    delete: toDeleteNames.map((n) => byName.get(n)!),
    added,
    removed,
  };
}
