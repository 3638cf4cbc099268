import { InputError } from '../io/input-error.ts';
import { SECOND } from '../engine/time.ts';
import { loadManifests, type ClusterManifests } from '../k8s/manifests.ts';
import { checkRunnable, liveNodeNames, type LiveClusterOptions } from '../k8s/manifest-live.ts';
import { computeEndpointSlices } from '../k8s/static-endpoints.ts';
import type { Endpoint } from '../proxy/endpoint.ts';
import { proxyStateFromObjects } from '../proxy/from-api.ts';
import type { ServicePort } from '../proxy/service-port.ts';
import { categorizeEndpoints } from '../proxy/topology.ts';
import { manifestTopology, type ManifestTopology } from './manifest-topology.ts';

/**
 * A static cluster read from Kubernetes manifests (scenario `cluster.manifests`): the service ports
 * kube-proxy would program from its Services (pkg/proxy/serviceport.go; headless and ExternalName
 * Services have none) and, per port, the endpoints it would use, from the EndpointSlices in the file
 * or, when the file has Pods, the slices the EndpointSlice controller would write for them (as
 * `svcsim render` and `svcsim endpoints` do). Nodes are the file's Node objects; without any, the
 * nodes the endpoints name, then `node-i` up to cluster.nodes.
 *
 * NodePort, LoadBalancer and externalIPs Services keep their node ports, load balancer addresses
 * (status.loadBalancer.ingress), externalTrafficPolicy and source ranges on their ServicePorts; the
 * run's external clients reach them (external-services.ts manifestExternalServices).
 * What the run model does not simulate is refused rather than ignored: ports of another protocol
 * than the traffic's. Services that differ in sessionAffinity, its timeout or internalTrafficPolicy,
 * and Services with topology hints, run with each Service's own policy (`perService`,
 * manifest-topology.ts); the single-valued fields then say None and Cluster.
 */
export interface ManifestCluster {
  ports: ServicePort[];
  /** Per port, in kube-proxy's order: Cluster policy: ready, else serving-terminating; Local: every one either could use. */
  endpoints: Endpoint[][];
  nodeNames: string[];
  sessionAffinity: 'None' | 'ClientIP';
  sessionAffinityTimeoutNs: number;
  trafficPolicy: 'Cluster' | 'Local';
  /** Services differ in policy, or have topology hints or policies: the run takes each port's own (topology-run.ts). */
  perService?: boolean;
  /** Per port: its Service's topology policy (topology-mode annotation, else spec.trafficDistribution). */
  topology?: ManifestTopology['topology'];
  /** topology.kubernetes.io/zone and allocatable CPU of each node in `nodeNames`, when some node has a zone. */
  nodeZones?: string[];
  nodeCpuMilli?: number[];
  /**
   * A run with churn: the objects to write into the control plane's API server and how
   * (manifest-live.ts); `nodeNames` are then the live cluster's nodes.
   */
  live?: { objects: ClusterManifests; options: LiveClusterOptions };
}

/** `live`: the run has churn, so the manifests must be runnable (checkRunnable) and their nodes are the live cluster's. */
export function manifestCluster(file: string, o: { protocol: 'TCP' | 'UDP'; nodes: number; live?: Omit<LiveClusterOptions, 'file' | 'nodes'> }): ManifestCluster {
  const m = loadManifests(file);
  if (o.live) checkRunnable(m, file);
  const slices = m.pods.length > 0 ? computeEndpointSlices(m) : m.endpointSlices;
  const state = proxyStateFromObjects(m.services, slices, '');
  const ids = [...state.services.keys()].sort();
  if (ids.length === 0) throw new InputError('cluster.manifests', 'at least one Service with a ClusterIP', `none in ${file}`);
  const ports: ServicePort[] = [];
  const endpoints: Endpoint[][] = [];
  const first = state.services.get(ids[0]!)!;
  for (const id of ids) {
    const sp = state.services.get(id)!;
    const where = `cluster.manifests (${file}: Service ${sp.portName.namespace}/${sp.portName.name}, port ${sp.portName.port || sp.port})`;
    if (sp.protocol !== o.protocol) throw new InputError(where, `ports of traffic.protocol (${o.protocol})`, sp.protocol);
    const all = state.endpoints.get(id) ?? [];
    ports.push(sp);
    endpoints.push(sp.internalPolicyLocal ? all.filter((e) => e.ready || (e.serving && e.terminating)) : [...categorizeEndpoints(all, sp, { nodeName: '', zone: '' }).clusterEndpoints]);
    // (With hints, clusterEndpoints for node "" and zone "" is every ready endpoint: no hint matches.)
  }
  let nodeNames = m.nodes.map((n) => n.metadata.name!);
  if (nodeNames.length === 0) {
    const named = new Set<string>();
    for (const list of endpoints) for (const e of list) if (e.nodeName) named.add(e.nodeName);
    nodeNames = [...named].sort();
    for (let i = 0; nodeNames.length < o.nodes; i++) if (!named.has(`node-${i}`)) nodeNames.push(`node-${i}`);
  }
  const live = o.live ? { objects: m, options: { ...o.live, nodes: o.nodes, file } } : undefined;
  if (live) nodeNames = liveNodeNames(m, live.options);
  const t = manifestTopology(m, ports, endpoints, nodeNames);
  if (t.perService) return { ...(live ? { live } : {}), ports, endpoints, nodeNames, sessionAffinity: 'None', sessionAffinityTimeoutNs: 0, trafficPolicy: 'Cluster', ...t };
  return {
    ...(live ? { live } : {}),
    ports,
    endpoints,
    nodeNames,
    sessionAffinity: first.sessionAffinity,
    sessionAffinityTimeoutNs: first.stickyMaxAgeSeconds * SECOND,
    trafficPolicy: first.internalPolicyLocal ? 'Local' : 'Cluster',
    ...(t.nodeZones ? { nodeZones: t.nodeZones, nodeCpuMilli: t.nodeCpuMilli! } : {}),
  };
}
