import {
  CONTROLLER_NAME,
  LABEL_HEADLESS,
  LABEL_MANAGED_BY,
  LABEL_SERVICE_NAME,
  ANNOTATION_LAST_CHANGE_TRIGGER_TIME,
  type AddressType,
  type Endpoint,
  type EndpointPort,
  type EndpointSlice,
  type Node,
  type Pod,
  type Service,
} from './objects.ts';
import { addressTypesForService, cachedHash, endpointsEqualBeyondHash, podEntry, portMapKey, shouldPodBeInEndpoints } from './pod-endpoint.ts';
import type { HintsEvent } from './topology-cache.ts';
import { reconcileHints, type HintsContext } from './topology-hints-reconcile.ts';

/**
 * The EndpointSlice reconciler: given a Service, the pods its selector matches and the slices that
 * exist, decide which slices to create, update and delete. It follows the real controller step by step
 * (kubernetes/kubernetes staging/src/k8s.io/endpointslice/reconciler.go: Reconcile,
 * reconcileByAddressType, reconcileByPortMapping, finalize; utils.go: getSliceToFill,
 * setEndpointSliceLabels; the per-pod pieces of utils.go are pod-endpoint.ts), because the number of slices written per change —
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
  /**
   * The controller's TopologyCache: topology-mode Auto and trafficDistribution hints are written
   * (topology-hints-reconcile.ts). Undefined: slices are written without touching hints.
   */
  hints?: HintsContext;
}

export interface SliceChanges {
  create: EndpointSlice[];
  update: EndpointSlice[];
  delete: EndpointSlice[];
  /** Endpoints added to and removed from the service by this sync (metrics EndpointsAddedPerSync/RemovedPerSync). */
  added: number;
  removed: number;
  /** With `hints`: the events recorded on the Service, and whether it asks for Auto / got trafficDistribution hints. */
  hints?: { events: HintsEvent[]; auto: boolean; trafficDistribution: boolean };
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
      input.hints?.cache.removeHints(`${service.metadata.namespace ?? ''}/${service.metadata.name}`, s.addressType);
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
    if (r.hints) {
      const h = (out.hints ??= { events: [], auto: false, trafficDistribution: false });
      h.events.push(...r.hints.events);
      h.auto ||= r.hints.auto;
      h.trafficDistribution ||= r.hints.trafficDistribution;
    }
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

  // Hints are decided on the slices as they will be written, before finalize turns creates into updates.
  let hints: SliceChanges['hints'];
  if (input.hints) {
    const h = reconcileHints(input.hints, service, addressType, existing, toCreate, toUpdate, toDelete);
    toCreate = h.toCreate;
    toUpdate = h.toUpdate;
    hints = { events: h.events, auto: h.auto, trafficDistribution: h.trafficDistribution };
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
  return { create: toCreate, update: toUpdate, delete: toDelete, added, removed, ...(hints ? { hints } : {}) };
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
  const kept = keepDesired(input.service, existing, desired);
  const added = desired.size;
  const create = placeRemaining(input.service, ports, addressType, max, desired, kept);
  return {
    create,
    update: kept.toUpdateNames.map((n) => kept.byName.get(n)!),
    delete: kept.toDeleteNames.map((n) => kept.byName.get(n)!),
    added,
    removed: kept.removed,
  };
}

/** The existing slices of one port mapping after step 1, by name, and what becomes of each. */
interface KeptSlices {
  /** The current version of each slice: the existing one, or its copy when it changes. */
  byName: Map<string, EndpointSlice>;
  unchanged: string[];
  toUpdateNames: string[];
  toDeleteNames: string[];
  /** Endpoints dropped from the slices. */
  removed: number;
}

/**
 * Step 1: drop endpoints no longer desired; refresh those that changed in place. What is left in
 * `desired` afterwards is what no slice holds yet.
 */
function keepDesired(service: Service, existing: EndpointSlice[], desired: Map<string, Endpoint>): KeptSlices {
  const byName = new Map<string, EndpointSlice>();
  const unchanged: string[] = [];
  const toUpdateNames: string[] = [];
  const toDeleteNames: string[] = [];
  let removed = 0;
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
      // Its own endpoints array: step 2 may append to it, and hints replace entries in it.
      const c: EndpointSlice = { ...s, metadata: { ...s.metadata, labels }, endpoints: s.endpoints.slice() };
      byName.set(s.metadata.name, c);
      toUpdateNames.push(s.metadata.name);
    } else unchanged.push(s.metadata.name);
  }
  return { byName, unchanged, toUpdateNames, toDeleteNames, removed };
}

/**
 * Steps 2 and 3: the endpoints no slice holds go first into the slices already being updated, then
 * into the one unchanged slice that fits best, else into new slices (returned). Updates `kept`.
 */
function placeRemaining(service: Service, ports: EndpointPort[], addressType: AddressType, max: number, desired: Map<string, Endpoint>, kept: KeptSlices): EndpointSlice[] {
  const { byName, unchanged, toUpdateNames } = kept;
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
  return create;
}
