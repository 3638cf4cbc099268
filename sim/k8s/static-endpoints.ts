import { RandomStream } from '../engine/random.ts';
import type { ClusterManifests } from './manifests.ts';
import { NameGenerator } from './names.ts';
import { CONTROLLER_NAME, LABEL_MANAGED_BY, LABEL_SERVICE_NAME, type EndpointSlice, type Node, type Pod, type Service } from './objects.ts';
import { DEFAULT_MAX_ENDPOINTS_PER_SLICE, reconcileEndpointSlices } from './endpointslice-reconciler.ts';
import { hasSelector, selectorMatches } from './selector.ts';
import { TopologyCache, topologyNodeOf } from './topology-cache.ts';
import { asksForHints } from './topology-hints-reconcile.ts';

/**
 * One pass of the EndpointSlice controller over a static set of manifests: for every Service with a
 * selector, the slices the controller would leave in the API after reconciling the pods it selects
 * against the slices the manifests already hold for it, topology hints included (docs/topology.md). This is what `svcsim endpoints` prints and
 * what `svcsim render` can feed to kube-proxy when the manifests carry Services and Pods but no slices.
 */
export interface StaticEndpointsOptions {
  maxEndpointsPerSlice?: number;
  /** Seeds slice name generation (names are `<service>-xxxxx`, as generateName gives). */
  seed?: string | number;
}

export function podsSelectedBy(service: Service, pods: readonly Pod[]): Pod[] {
  const sel = service.spec.selector;
  if (!hasSelector(sel)) return [];
  return pods.filter((p) => p.metadata.namespace === service.metadata.namespace && selectorMatches(sel, p.metadata.labels));
}

export function nodeLookup(nodes: readonly Node[]): ((name: string) => Node | undefined) | undefined {
  if (nodes.length === 0) return undefined; // nodes unknown: do not drop pods for "node not found"
  const m = new Map(nodes.map((n) => [n.metadata.name, n]));
  return (name) => m.get(name);
}

/** The slices for one Service (existing ones from the manifests are reconciled, not ignored). */
export function endpointSlicesForService(m: ClusterManifests, service: Service, options: StaticEndpointsOptions = {}, names?: NameGenerator): EndpointSlice[] {
  if (!hasSelector(service.spec.selector) || service.spec.type === 'ExternalName') {
    // Not managed by the controller: whatever slices exist are the user's own.
    return m.endpointSlices.filter((s) => isSliceOf(s, service) && s.metadata.labels?.[LABEL_MANAGED_BY] !== CONTROLLER_NAME);
  }
  const gen = names ?? new NameGenerator(new RandomStream(options.seed ?? 1, `k8s/apiserver/generate-name/${service.metadata.namespace}/${service.metadata.name}`));
  const existing = m.endpointSlices.filter((s) => isSliceOf(s, service) && s.metadata.labels?.[LABEL_MANAGED_BY] === CONTROLLER_NAME);
  const changes = reconcileEndpointSlices({
    service,
    pods: podsSelectedBy(service, m.pods),
    existing,
    nodes: nodeLookup(m.nodes),
    maxEndpointsPerSlice: options.maxEndpointsPerSlice ?? DEFAULT_MAX_ENDPOINTS_PER_SLICE,
    generateName: (p) => gen.generate(p),
    ...hintsFor(m, service, existing),
  });
  const gone = new Set([...changes.delete, ...changes.update].map((s) => s.metadata.name));
  const result = existing.filter((s) => !gone.has(s.metadata.name));
  result.push(...changes.update, ...changes.create);
  return result;
}

/**
 * The controller's hints step, for a Service that asks for hints or whose slices carry some (the
 * controller would remove them): a TopologyCache fed the manifests' nodes (none: Auto falls back).
 * Other Services are reconciled without it, which leaves their slices exactly as before.
 */
function hintsFor(m: ClusterManifests, service: Service, existing: readonly EndpointSlice[]): { hints?: { cache: TopologyCache } } {
  if (!asksForHints(service) && !existing.some((s) => s.endpoints.some((e) => e.hints !== undefined))) return {};
  const cache = new TopologyCache();
  cache.setNodes(m.nodes.map(topologyNodeOf));
  return { hints: { cache } };
}

function isSliceOf(s: EndpointSlice, service: Service): boolean {
  return s.metadata.namespace === service.metadata.namespace && s.metadata.labels?.[LABEL_SERVICE_NAME] === service.metadata.name;
}

/** Every Service's slices, sorted by namespace then name (the order kubectl lists them in). */
export function computeEndpointSlices(m: ClusterManifests, options: StaticEndpointsOptions = {}): EndpointSlice[] {
  const out: EndpointSlice[] = [];
  for (const svc of m.services) out.push(...endpointSlicesForService(m, svc, options));
  out.sort((a, b) => cmp(a.metadata.namespace ?? '', b.metadata.namespace ?? '') || cmp(a.metadata.name, b.metadata.name));
  return out;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
