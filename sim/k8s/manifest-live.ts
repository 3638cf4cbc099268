import type { Simulator } from '../engine/simulator.ts';
import { SECOND } from '../engine/time.ts';
import { InputError } from '../io/input-error.ts';
import { formatCidr, formatIPv4, type Cidr } from '../net/ipv4.ts';
import type { ApiServer } from './apiserver.ts';
import { adoptTemplateHash, LABEL_POD_TEMPLATE_HASH } from './deployment-controller.ts';
import { reconcileEndpointSlices } from './endpointslice-reconciler.ts';
import { NodeCidrAllocator, parseNetworkCidr } from './ipam.ts';
import { LABEL_TOPOLOGY_ZONE } from './pod-endpoint.ts';
import type { ProbeSpec } from './kubelet.ts';
import type { ClusterManifests } from './manifests.ts';
import { objectKey, type Deployment, type EndpointSlice, type Node, type Pod, type ReplicaSet, type Service } from './objects.ts';
import { selectorMatches } from './selector.ts';
import { condition } from './sim-times.ts';
import { DEFAULT_NODE_CPUS, type SyntheticCluster } from './synthetic-cluster.ts';
import { topologyNodeOf, type TopologyCache } from './topology-cache.ts';
import { asksForHints, hintsEnabled } from './topology-hints-reconcile.ts';

/**
 * A cluster read from `kubectl get nodes,deployments,replicasets,pods,services,endpointslices -A -o yaml`
 * made live: its objects are written into the API server as they stand, so the same controllers and
 * kubelets that run a synthetic cluster run this one (control-plane.ts): Deployments with their own
 * strategy, maxSurge, maxUnavailable and pod template (grace period, readiness probe), their
 * ReplicaSets and pods, kubelets on the listed Nodes (zones from their topology labels, read by the
 * EndpointSlice controller), and the EndpointSlice controller starting from the listed slices.
 *
 * What the dump lacks gets the synthetic cluster's defaults, and each default used is listed
 * (`LiveCluster.defaults`) for the report. What cannot be run is refused naming the object
 * (`checkRunnable`): a Deployment without its ReplicaSet or pods, and pods behind a Service whose
 * controller (StatefulSet, DaemonSet, Job...) runs do not simulate.
 */
export interface LiveClusterOptions {
  /** Nodes to make up (node-0...) when the dump has no Node objects. */
  nodes: number;
  clusterCIDR?: string;
  nodeCIDRMaskSize?: number;
  /** Where made-up node addresses come from (the synthetic cluster's 172.18.0.0/16). */
  nodeCIDR?: string;
  maxEndpointsPerSlice?: number;
  /** The manifest file, for messages. */
  file: string;
}

export interface LiveCluster extends SyntheticCluster {
  /** The defaults used where the dump lacked a value, one line each. */
  defaults: string[];
}

/** The annotation the Deployment controller numbers its ReplicaSets with (deployment_util.go RevisionAnnotation). */
const REVISION = 'deployment.kubernetes.io/revision';

/** Refuses manifests a live run cannot reproduce, naming the object (exit 2). */
export function checkRunnable(m: ClusterManifests, file: string): void {
  for (const d of m.deployments) {
    const key = objectKey(d.metadata);
    const sets = replicaSetsOf(m, d);
    const replicas = d.spec.replicas ?? 1;
    if (replicas === 0) continue;
    if (sets.length === 0)
      throw new InputError(`cluster.manifests (${file}: Deployment ${key})`, 'its ReplicaSet (ownerReferences to the Deployment) in the manifests, as `kubectl get deployments,replicasets,pods -A -o yaml` prints them', 'none');
    if (!m.pods.some((p) => sets.some((rs) => ownedBy(p, 'ReplicaSet', rs))))
      throw new InputError(`cluster.manifests (${file}: Deployment ${key})`, `pods of its ReplicaSet${sets.length > 1 ? 's' : ''} (${sets.map((rs) => rs.metadata.name).join(', ')}) in the manifests`, 'none');
  }
  for (const p of m.pods) {
    const owner = p.metadata.ownerReferences?.find((o) => o.controller);
    if (!owner || owner.kind === 'ReplicaSet') continue;
    const svc = m.services.find((s) => s.metadata.namespace === p.metadata.namespace && s.spec.selector && Object.keys(s.spec.selector).length > 0 && selectorMatches(s.spec.selector, p.metadata.labels));
    if (svc)
      throw new InputError(
        `cluster.manifests (${file}: Pod ${objectKey(p.metadata)}, behind Service ${objectKey(svc.metadata)})`,
        'pods of Deployments or ReplicaSets (the controllers a run simulates)',
        `a pod of ${owner.kind} ${p.metadata.namespace}/${owner.name}`,
      );
  }
}

/** The defaults a live run of `m` would use, without running it (for the report). */
export function liveClusterDefaults(m: ClusterManifests, o: LiveClusterOptions): string[] {
  return plan(m, o).defaults;
}

/** The nodes of a live run of `m`, in the order the kubelets and kube-proxies are numbered. */
export function liveNodeNames(m: ClusterManifests, o: LiveClusterOptions): string[] {
  return plan(m, o).nodes.map((n) => n.name);
}

/**
 * Writes the manifests' objects into `api` at sim.now, filling what they lack; see the file comment.
 * With `topologyCache` and a Service asking for hints, the cache gets the nodes and the slices written
 * here carry the hints the EndpointSlice controller would write.
 */
export function putManifestCluster(sim: Simulator, api: ApiServer, m: ClusterManifests, o: LiveClusterOptions, topologyCache?: TopologyCache): LiveCluster {
  checkRunnable(m, o.file);
  const p = plan(m, o);
  const hints = topologyCache && m.services.some(asksForHints) ? { cache: topologyCache } : undefined;
  hints?.cache.setNodes(p.nodeObjects.map(topologyNodeOf));
  const put = <T extends Node | Service | Deployment | ReplicaSet | Pod | EndpointSlice>(obj: T): T =>
    api.commit({ kind: obj.kind, key: objectKey(obj.metadata), client: 'manifests', mutate: () => obj })!.object as T;
  for (const n of p.nodeObjects) put(n);
  const services = m.services.map((s) => put(s));
  for (const d of m.deployments) {
    const stored = put(d);
    const hash = p.currentHash.get(objectKey(d.metadata));
    if (hash !== undefined) adoptTemplateHash(stored.spec.template, hash);
  }
  const pods = p.pods.map((pod) => put(pod));
  for (const rs of m.replicaSets) put(withStatus(rs, pods));
  let slices = 0;
  for (const s of m.endpointSlices) {
    put(s);
    slices++;
  }
  for (const svc of services) {
    if (!svc.spec.selector || Object.keys(svc.spec.selector).length === 0 || p.slicedServices.has(objectKey(svc.metadata))) continue;
    const ch = reconcileEndpointSlices({
      service: svc,
      pods: pods.filter((pod) => pod.metadata.namespace === svc.metadata.namespace),
      existing: [],
      nodes: (n) => api.get<Node>('Node', n),
      maxEndpointsPerSlice: o.maxEndpointsPerSlice,
      generateName: (prefix) => api.generateName('EndpointSlice', svc.metadata.namespace, prefix),
      ...(hints ? { hints } : {}),
    });
    for (const slice of ch.create) {
      put(slice);
      slices++;
    }
  }
  return {
    nodes: p.nodes,
    services: services.map((s) => ({ key: objectKey(s.metadata), clusterIP: s.spec.clusterIP ?? '', port: s.spec.ports?.[0]?.port ?? 0, protocol: s.spec.ports?.[0]?.protocol ?? 'TCP' })),
    deployments: m.deployments.map((d) => objectKey(d.metadata)),
    pods: pods.length,
    slices,
    defaults: p.defaults,
  };
}

/**
 * The readiness probe of a pod's first container that has one, in ns with the core/v1 defaults
 * (pkg/apis/core/v1/defaults.go SetDefaults_Probe: period 10 s, timeout 1 s, thresholds 1 and 3);
 * undefined without one (the kubelet then counts the pod Ready as soon as it runs).
 */
export function templateProbe(pod: Pod): ProbeSpec | undefined {
  const known = probes.get(pod.spec);
  if (known !== undefined) return known ?? undefined;
  const p = pod.spec.containers.find((c) => c.readinessProbe)?.readinessProbe;
  const spec = p
    ? {
        initialDelay: (p.initialDelaySeconds ?? 0) * SECOND,
        period: (p.periodSeconds ?? 10) * SECOND,
        timeout: (p.timeoutSeconds ?? 1) * SECOND,
        successThreshold: p.successThreshold ?? 1,
        failureThreshold: p.failureThreshold ?? 3,
      }
    : null;
  probes.set(pod.spec, spec);
  return spec ?? undefined;
}
const probes = new WeakMap<object, ProbeSpec | null>();

// ---------------------------------------------------------------------------------------------------

interface Plan {
  nodes: SyntheticCluster['nodes'];
  nodeObjects: Node[];
  pods: Pod[];
  /** Deployment key -> the pod-template-hash of its current ReplicaSet. */
  currentHash: Map<string, string>;
  /** Services the dump has EndpointSlices for. */
  slicedServices: Set<string>;
  defaults: string[];
}

function plan(m: ClusterManifests, o: LiveClusterOptions): Plan {
  const defaults: string[] = [];
  const { nodes, nodeObjects } = planNodes(m, o, defaults);
  const pods = planPods(m, nodes, defaults);
  const currentHash = new Map<string, string>();
  for (const d of m.deployments) planDeployment(m, d, currentHash, defaults);
  const slicedServices = new Set<string>();
  for (const s of m.endpointSlices) slicedServices.add(`${s.metadata.namespace ?? 'default'}/${s.metadata.labels?.['kubernetes.io/service-name'] ?? ''}`);
  const unsliced = m.services.filter((s) => s.spec.selector && Object.keys(s.spec.selector).length > 0 && !slicedServices.has(objectKey(s.metadata)));
  if (unsliced.length > 0) defaults.push(`${count(unsliced.length, 'Service')} without EndpointSlices: slices computed from the pods, as the EndpointSlice controller writes them`);
  if (m.ignored && m.ignored.length > 0) defaults.push(`ignored (kinds a run has no use for): ${m.ignored.join(', ')}`);
  return { nodes, nodeObjects, pods, currentHash, slicedServices, defaults };
}

function count(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`;
}

/** The Nodes as the kubelets and the scheduler need them: an InternalIP, a pod CIDR, Ready. */
function planNodes(m: ClusterManifests, o: LiveClusterOptions, defaults: string[]): { nodes: SyntheticCluster['nodes']; nodeObjects: Node[] } {
  const nodeNet = parseNetworkCidr(o.nodeCIDR ?? '172.18.0.0/16', 'nodeCIDR');
  const cidrs = new NodeCidrAllocator(parseNetworkCidr(o.clusterCIDR ?? '10.244.0.0/16', 'cluster.clusterCIDR'), o.nodeCIDRMaskSize ?? 24);
  let listed = m.nodes;
  if (listed.length === 0) {
    const named = new Set<string>();
    for (const p of m.pods) if (p.spec.nodeName) named.add(p.spec.nodeName);
    for (const s of m.endpointSlices) for (const e of s.endpoints) if (e.nodeName) named.add(e.nodeName);
    const names = [...named].sort();
    for (let i = 0; names.length < o.nodes; i++) if (!named.has(`node-${i}`)) names.push(`node-${i}`);
    listed = names.map((name) => ({ apiVersion: 'v1', kind: 'Node', metadata: { name, labels: { 'kubernetes.io/hostname': name } }, spec: {} }));
    defaults.push(`no Node objects: ${count(names.length, 'node')} named by the pods and slices, made up to cluster.nodes (${o.nodes})`);
  }
  const taken = new Set(listed.map((n) => n.spec?.podCIDR).filter((c): c is string => c !== undefined));
  let noIP = 0;
  let noCidr = 0;
  let noReady = 0;
  // Topology-mode Auto shares endpoints by allocatable CPU (topology-cache.ts): a dump without it gets
  // the synthetic cluster's cores, only when some Service asks for Auto.
  const wantsCpu = m.services.some((s) => hintsEnabled(s.metadata.annotations));
  let noCpu = 0;
  const nodes: SyntheticCluster['nodes'] = [];
  const nodeObjects = listed.map((n, i) => {
    let ip = n.status?.addresses?.find((a) => a.type === 'InternalIP' && !a.address.includes(':'))?.address;
    if (!ip) {
      ip = formatIPv4(nodeNet.addr + 2 + i);
      noIP++;
    }
    let cidrText = n.spec?.podCIDR;
    if (!cidrText || cidrText.includes(':')) {
      let c: Cidr;
      do c = cidrs.allocate();
      while (taken.has(formatCidr(c)));
      cidrText = formatCidr(c);
      noCidr++;
    }
    const conditions = n.status?.conditions ?? [];
    if (!conditions.some((c) => c.type === 'Ready')) noReady++;
    const ready = conditions.find((c) => c.type === 'Ready') ?? { type: 'Ready', status: 'True' as const, reason: 'KubeletReady' };
    const node: Node = {
      ...n,
      spec: { ...n.spec, podCIDR: cidrText, podCIDRs: [cidrText] },
      status: { ...n.status, addresses: [{ type: 'InternalIP', address: ip }, { type: 'Hostname', address: n.metadata.name }], conditions: [ready] },
    };
    if (wantsCpu && n.status?.allocatable?.cpu === undefined) {
      node.status!.allocatable = { ...n.status?.allocatable, cpu: String(DEFAULT_NODE_CPUS) };
      noCpu++;
    }
    nodes.push({ name: n.metadata.name, ip, podCIDR: parseNetworkCidr(cidrText, `Node ${n.metadata.name} spec.podCIDR`) });
    return node;
  });
  if (noIP > 0) defaults.push(`${count(noIP, 'Node')} without an IPv4 InternalIP: addresses from ${o.nodeCIDR ?? '172.18.0.0/16'}`);
  if (noCidr > 0) defaults.push(`${count(noCidr, 'Node')} without an IPv4 spec.podCIDR: /${o.nodeCIDRMaskSize ?? 24} pod CIDRs from ${o.clusterCIDR ?? '10.244.0.0/16'}`);
  if (noReady > 0) defaults.push(`${count(noReady, 'Node')} without a Ready condition: Ready`);
  if (noCpu > 0) defaults.push(`${count(noCpu, 'Node')} without status.allocatable.cpu: ${DEFAULT_NODE_CPUS} cores (topology-mode Auto shares endpoints by CPU)`);
  const zones = listed.filter((n) => n.metadata.labels?.[LABEL_TOPOLOGY_ZONE] !== undefined).length;
  if (zones < listed.length) defaults.push(`${count(listed.length - zones, 'Node')} without a ${LABEL_TOPOLOGY_ZONE} label: no zone`);
  return { nodes, nodeObjects };
}

/**
 * The pods as the kubelets adopt them: terminal and terminating pods are left out (their
 * controllers have replaced them or will), unscheduled ones are bound round robin, a Running pod
 * without conditions is Ready; conditions restart at the run's first instant.
 */
function planPods(m: ClusterManifests, nodes: SyntheticCluster['nodes'], defaults: string[]): Pod[] {
  const out: Pod[] = [];
  let dropped = 0;
  let unbound = 0;
  let noConditions = 0;
  let noGrace = 0;
  const known = new Set(nodes.map((n) => n.name));
  for (const p of m.pods) {
    const phase = p.status?.phase;
    if (p.metadata.deletionTimestamp !== undefined || phase === 'Succeeded' || phase === 'Failed') {
      dropped++;
      continue;
    }
    let nodeName = p.spec.nodeName;
    if (nodeName === undefined || !known.has(nodeName)) {
      nodeName = nodes[unbound % nodes.length]!.name;
      unbound++;
    }
    if (p.spec.terminationGracePeriodSeconds === undefined) noGrace++;
    const running = phase === 'Running' && p.status?.podIP !== undefined && !p.status.podIP.includes(':');
    let status: Pod['status'] = { phase: 'Pending' };
    if (running) {
      const given = p.status?.conditions?.find((c) => c.type === 'Ready')?.status;
      if (given === undefined) noConditions++;
      const ready = given ?? 'True';
      status = { ...p.status, conditions: [condition('Ready', ready, 0), condition('ContainersReady', ready, 0)] };
    }
    out.push({ ...p, spec: { ...p.spec, nodeName }, status });
  }
  if (dropped > 0) defaults.push(`${count(dropped, 'pod')} terminating or finished in the dump: left out`);
  if (unbound > 0) defaults.push(`${count(unbound, 'pod')} not bound to a listed node: bound round robin`);
  if (noConditions > 0) defaults.push(`${count(noConditions, 'Running pod')} without a Ready condition: Ready`);
  if (noGrace > 0) defaults.push(`${count(noGrace, 'pod')} without terminationGracePeriodSeconds: 30 s (core/v1 default)`);
  return out;
}

/** The current ReplicaSet of `d` (its pod-template-hash kept), and the strategy defaults it gets. */
function planDeployment(m: ClusterManifests, d: Deployment, currentHash: Map<string, string>, defaults: string[]): void {
  const key = objectKey(d.metadata);
  const strategy = d.spec.strategy;
  if (!strategy?.type) defaults.push(`Deployment ${key}: no strategy.type: RollingUpdate (apps/v1 default)`);
  if (strategy?.type !== 'Recreate') {
    const ru = strategy?.rollingUpdate;
    if (ru?.maxSurge === undefined) defaults.push(`Deployment ${key}: no maxSurge: 25% (apps/v1 default)`);
    if (ru?.maxUnavailable === undefined) defaults.push(`Deployment ${key}: no maxUnavailable: 25% (apps/v1 default)`);
  }
  if (!d.spec.template.spec.containers.some((c) => c.readinessProbe)) defaults.push(`Deployment ${key}: no readinessProbe: its pods are Ready as soon as they run`);
  if (d.spec.replicas === undefined) defaults.push(`Deployment ${key}: no spec.replicas: 1 (apps/v1 default)`);
  const sets = replicaSetsOf(m, d);
  // deploymentutil.FindNewReplicaSet: the ReplicaSet whose template equals the Deployment's, the
  // pod-template-hash label aside (EqualIgnoreHash); the oldest of several.
  const want = JSON.stringify(canonical(d.spec.template));
  let current = sets.find((rs) => JSON.stringify(canonical(withoutHash(rs.spec.template))) === want);
  if (!current && sets.length > 0) {
    current = [...sets].sort((a, b) => Number(b.metadata.annotations?.[REVISION] ?? 0) - Number(a.metadata.annotations?.[REVISION] ?? 0))[0]!;
    defaults.push(`Deployment ${key}: no ReplicaSet with its exact template: ${current.metadata.name} (highest revision) taken as current`);
  }
  const hash = current?.metadata.labels?.[LABEL_POD_TEMPLATE_HASH];
  if (hash !== undefined) currentHash.set(key, hash);
}

function replicaSetsOf(m: ClusterManifests, d: Deployment): ReplicaSet[] {
  return m.replicaSets.filter((rs) => rs.metadata.namespace === d.metadata.namespace && rs.metadata.ownerReferences?.some((o) => o.controller && o.kind === 'Deployment' && o.name === d.metadata.name));
}

function ownedBy(p: Pod, kind: string, owner: ReplicaSet): boolean {
  return p.metadata.namespace === owner.metadata.namespace && (p.metadata.ownerReferences?.some((o) => o.controller && o.kind === kind && o.name === owner.metadata.name) ?? false);
}

function withoutHash(t: ReplicaSet['spec']['template']): ReplicaSet['spec']['template'] {
  const labels = { ...(t.metadata?.labels ?? {}) };
  delete labels[LABEL_POD_TEMPLATE_HASH];
  return { ...t, metadata: { ...t.metadata, labels } };
}

/** JSON with sorted keys, so two templates compare by content. */
function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v === null || typeof v !== 'object') return v;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v).sort()) {
    const x = (v as Record<string, unknown>)[k];
    if (x !== undefined) out[k] = canonical(x);
  }
  return out;
}

/** The ReplicaSet with its status counted from the pods kept (the Deployment controller reads availableReplicas). */
function withStatus(rs: ReplicaSet, pods: readonly Pod[]): ReplicaSet {
  let replicas = 0;
  let ready = 0;
  for (const p of pods) {
    if (!ownedBy(p, 'ReplicaSet', rs)) continue;
    replicas++;
    if (p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) ready++;
  }
  return { ...rs, status: { ...rs.status, replicas, readyReplicas: ready, availableReplicas: ready, observedGeneration: rs.metadata.generation ?? 1 } };
}

