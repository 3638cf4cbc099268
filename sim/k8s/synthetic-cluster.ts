import type { Simulator } from '../engine/simulator.ts';
import { InputError } from '../io/input-error.ts';
import type { ApiServer } from './apiserver.ts';
import { LABEL_POD_TEMPLATE_HASH, templateHash } from './deployment-controller.ts';
import { reconcileEndpointSlices } from './endpointslice-reconciler.ts';
import { cidrSize, formatCidr, formatIPv4, type Cidr } from '../net/ipv4.ts';
import { ClusterIPAllocator, NodeCidrAllocator, parseNetworkCidr, PodIPAllocator } from './ipam.ts';
import { objectKey, type Deployment, type EndpointSlice, type Node, type Pod, type PodCondition, type ReplicaSet, type Service } from './objects.ts';
import { condition } from './sim-times.ts';
import { putCoreDns, type CoreDnsOptions } from './coredns.ts';
import { parseIPv4 } from '../net/ipv4.ts';
import { LABEL_TOPOLOGY_ZONE } from './pod-endpoint.ts';
import { topologyNodeOf, type TopologyCache } from './topology-cache.ts';
import { ANNOTATION_TOPOLOGY_MODE } from './topology-hints-reconcile.ts';
import type { TrafficDistribution } from './traffic-distribution-hints.ts';

/**
 * A synthetic cluster in steady state, written straight into the API server's store at the current
 * instant (no latency: it exists before the run starts): N Ready nodes with pod CIDRs, S ClusterIP
 * Services `svc-<i>` (port 80 -> targetPort 8080, named `http`), each backed by a Deployment of E
 * replicas with its current ReplicaSet, E Running and Ready pods spread over the nodes, and the
 * EndpointSlices the controller would have written for them.
 *
 * Addresses follow a kubeadm cluster (ipam.ts): ClusterIPs at random from the service CIDR with
 * 10.96.0.1 kept for the `kubernetes` Service, one /nodeCIDRMaskSize per node from the cluster CIDR in
 * order, pod IPs from the node's CIDR in order (host-local). Node InternalIPs come from `nodeCIDR`
 * (default 172.18.0.0/16, the network `kind` uses), from .2 on.
 */
export interface SyntheticClusterOptions {
  nodes: number;
  services: number;
  endpointsPerService: number;
  serviceCIDR?: string;
  clusterCIDR?: string;
  /**
   * Per-node pod CIDR prefix length. Undefined: 24 (kube-controller-manager's default), or shorter when
   * the node's share of pods, with half again as many for rollouts and terminating pods, needs more
   * addresses (studies pack far more pods per node than a kubelet's 110).
   */
  nodeCIDRMaskSize?: number;
  nodeCIDR?: string;
  namespace?: string;
  port?: number;
  targetPort?: number;
  protocol?: 'TCP' | 'UDP' | 'SCTP';
  /** Pod template spec.terminationGracePeriodSeconds; default 30. */
  terminationGracePeriodSeconds?: number;
  maxSurge?: number | string;
  maxUnavailable?: number | string;
  maxEndpointsPerSlice?: number;
  /** CoreDNS behind kube-dns (coredns.ts), in runs with DNS; its ClusterIPs are kept from the Services'. */
  coreDns?: Omit<CoreDnsOptions, 'terminationGracePeriodSeconds'>;
  /** Topology: node zones and CPU, Services' topology fields, the cache that hints the first slices. */
  topology?: ClusterTopology;
}

/** The topology of a synthetic cluster; see ControlPlaneOptions. */
export interface ClusterTopology {
  /** topology.kubernetes.io/zone of node i; undefined (or past the end): no zone label. */
  nodeZones?: readonly string[];
  /** status.allocatable.cpu of node i in cores; default 4. */
  nodeCpus?: readonly number[];
  serviceTopology?: (service: number) => { topologyMode?: 'Auto'; trafficDistribution?: TrafficDistribution };
  /** Fed the nodes, then used for the Services' first slices (so they carry the hints the controller would write). */
  cache: TopologyCache;
}

/** Allocatable CPU of a node when `nodeCpus` does not say. */
export const DEFAULT_NODE_CPUS = 4;

export interface SyntheticCluster {
  nodes: { name: string; ip: string; podCIDR: Cidr }[];
  services: { key: string; clusterIP: string; port: number; protocol: 'TCP' | 'UDP' | 'SCTP' }[];
  deployments: string[];
  /** The CoreDNS Services (kube-dns, kube-dns-upstream) when the cluster has them; not in `services`. */
  dnsServices?: { key: string; clusterIP: string }[];
  pods: number;
  slices: number;
}

export function generateCluster(sim: Simulator, api: ApiServer, o: SyntheticClusterOptions): SyntheticCluster {
  const layout = addressLayout(o);
  const put: Put = (obj) => api.commit({ kind: obj.kind, key: objectKey(obj.metadata), client: 'synthetic-cluster', mutate: () => obj })!.object as typeof obj;
  const { nodes, podIPs } = putNodes(put, o.nodes, layout, o.topology);
  if (o.topology) o.topology.cache.setNodes(nodes.map((n) => topologyNodeOf(api.get<Node>('Node', n.name)!)));
  const clusterIPs = new ClusterIPAllocator(layout.svcCidr, sim.rng('k8s/ipam/cluster-ip'));
  clusterIPs.reserve(layout.svcCidr.addr + 1); // the `kubernetes` Service
  const dns = o.coreDns;
  if (dns) for (const ip of [dns.clusterIP, dns.upstreamIP]) if (ip !== undefined) clusterIPs.reserve(parseIPv4(ip));
  const cluster: SyntheticCluster = { nodes, services: [], deployments: [], pods: 0, slices: 0 };
  const now = sim.now;
  const shared: ServiceShared = {
    api,
    put,
    o,
    ns: o.namespace ?? 'default',
    port: o.port ?? 80,
    targetPort: o.targetPort ?? 8080,
    protocol: o.protocol ?? 'TCP',
    grace: o.terminationGracePeriodSeconds ?? 30,
    conditions: [condition('Ready', 'True', now), condition('ContainersReady', 'True', now)],
    podIPs,
  };
  for (let s = 0; s < o.services; s++) putService(shared, s, formatIPv4(clusterIPs.allocate()), cluster);
  if (dns) cluster.dnsServices = putCoreDns({ api, put, nodes, podIPs, conditions: shared.conditions, maxEndpointsPerSlice: o.maxEndpointsPerSlice }, { ...dns, terminationGracePeriodSeconds: shared.grace });
  return cluster;
}

/** Writes an object as it is (the API server's commit of a create), returning the stored version. */
type Put = <T extends Node | Service | Deployment | ReplicaSet | Pod | EndpointSlice>(obj: T) => T;

/** The address ranges of a cluster and its per-node pod CIDR allocator; refuses a cluster they cannot hold. */
function addressLayout(o: SyntheticClusterOptions): { svcCidr: Cidr; nodeNet: Cidr; nodeCidrs: NodeCidrAllocator } {
  const svcCidr = parseNetworkCidr(o.serviceCIDR ?? '10.96.0.0/12', 'cluster.serviceCIDR');
  const clusterCidr = parseNetworkCidr(o.clusterCIDR ?? '10.244.0.0/16', 'cluster.clusterCIDR');
  const podsPerNode = Math.ceil((o.services * o.endpointsPerService) / o.nodes);
  const mask = o.nodeCIDRMaskSize ?? autoMaskSize(podsPerNode);
  const nodeNet = parseNetworkCidr(o.nodeCIDR ?? '172.18.0.0/16', 'nodeCIDR');
  const nodeCidrs = new NodeCidrAllocator(clusterCidr, mask);
  if (o.nodes > nodeCidrs.capacity) {
    throw new InputError('cluster.nodes', `at most ${nodeCidrs.capacity} nodes (/${mask} pod CIDRs in ${formatCidr(clusterCidr)})`, String(o.nodes), 'use a larger cluster.clusterCIDR or a longer cluster.nodeCIDRMaskSize');
  }
  const ipsPerNode = 2 ** (32 - mask) - 3;
  if (podsPerNode > ipsPerNode) {
    throw new InputError('cluster.services', `at most ${ipsPerNode} pods per node (a /${mask} pod CIDR)`, `${podsPerNode} pods per node (${o.services} x ${o.endpointsPerService} over ${o.nodes} nodes)`, 'add nodes or use a shorter cluster.nodeCIDRMaskSize');
  }
  if (o.services + 1 > cidrSize(svcCidr) - 2) {
    throw new InputError('cluster.services.count', `at most ${cidrSize(svcCidr) - 3} Services in ${formatCidr(svcCidr)}`, String(o.services));
  }
  return { svcCidr, nodeNet, nodeCidrs };
}

/** `count` Ready nodes `node-<i>`, each with the next pod CIDR and the pod IP allocator over it. */
function putNodes(put: Put, count: number, layout: { nodeNet: Cidr; nodeCidrs: NodeCidrAllocator }, topology: ClusterTopology | undefined): { nodes: SyntheticCluster['nodes']; podIPs: Map<string, PodIPAllocator> } {
  const nodes: SyntheticCluster['nodes'] = [];
  const podIPs = new Map<string, PodIPAllocator>();
  for (let i = 0; i < count; i++) {
    const name = `node-${i}`;
    const cidr = layout.nodeCidrs.allocate();
    const ip = formatIPv4(layout.nodeNet.addr + 2 + i);
    const node: Node = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name, labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux' } },
      spec: { podCIDR: formatCidr(cidr), podCIDRs: [formatCidr(cidr)] },
      status: { addresses: [{ type: 'InternalIP', address: ip }, { type: 'Hostname', address: name }], conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady' }] },
    };
    if (topology) nodeTopology(node, i, topology);
    put<Node>(node);
    nodes.push({ name, ip, podCIDR: cidr });
    podIPs.set(name, new PodIPAllocator(cidr));
  }
  return { nodes, podIPs };
}

/** Node i's zone label and allocatable CPU. */
function nodeTopology(node: Node, i: number, t: ClusterTopology): void {
  const zone = t.nodeZones?.[i];
  if (zone !== undefined) node.metadata.labels![LABEL_TOPOLOGY_ZONE] = zone;
  node.status!.allocatable = { cpu: String(t.nodeCpus?.[i] ?? DEFAULT_NODE_CPUS) };
}

/** Service i's topology-mode annotation and spec.trafficDistribution. */
function serviceTopology(svc: Service, i: number, t: ClusterTopology | undefined): void {
  const st = t?.serviceTopology?.(i);
  if (!st) return;
  if (st.topologyMode !== undefined) svc.metadata.annotations = { ...svc.metadata.annotations, [ANNOTATION_TOPOLOGY_MODE]: st.topologyMode };
  if (st.trafficDistribution !== undefined) svc.spec.trafficDistribution = st.trafficDistribution;
}

/** What every Service of the cluster shares: where to write, its defaults, and the pods' Ready conditions. */
interface ServiceShared {
  api: ApiServer;
  put: Put;
  o: SyntheticClusterOptions;
  ns: string;
  port: number;
  targetPort: number;
  protocol: 'TCP' | 'UDP' | 'SCTP';
  grace: number;
  conditions: [PodCondition, PodCondition];
  podIPs: Map<string, PodIPAllocator>;
}

/** One Service with its Deployment, current ReplicaSet, Running pods and EndpointSlices, counted into `cluster`. */
function putService(c: ServiceShared, index: number, clusterIP: string, cluster: SyntheticCluster): void {
  const { ns, port, targetPort, protocol, o, put } = c;
  const name = `svc-${index}`;
  const labels = { app: name };
  const service: Service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: ns, labels },
    spec: { type: 'ClusterIP', clusterIP, clusterIPs: [clusterIP], ipFamilies: ['IPv4'], selector: labels, ports: [{ name: 'http', protocol, port, targetPort }], sessionAffinity: 'None', internalTrafficPolicy: 'Cluster' },
  };
  serviceTopology(service, index, o.topology);
  const svc = put<Service>(service);
  cluster.services.push({ key: `${ns}/${name}`, clusterIP, port, protocol });
  const d = put<Deployment>({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: ns, labels, generation: 1 },
    spec: {
      replicas: o.endpointsPerService,
      selector: { matchLabels: labels },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: o.maxSurge ?? '25%', maxUnavailable: o.maxUnavailable ?? '25%' } },
      template: {
        metadata: { labels },
        spec: { terminationGracePeriodSeconds: c.grace, containers: [{ name: 'app', ports: [{ name: 'http', containerPort: targetPort, protocol }] }] },
      },
    },
  });
  cluster.deployments.push(`${ns}/${name}`);
  const svcPods = putReplicaSetPods(c, d, labels, cluster);
  const ch = reconcileEndpointSlices({
    service: svc,
    pods: svcPods,
    existing: [],
    nodes: (n) => c.api.get<Node>('Node', n),
    maxEndpointsPerSlice: o.maxEndpointsPerSlice,
    generateName: (prefix) => c.api.generateName('EndpointSlice', ns, prefix),
    ...(o.topology ? { hints: { cache: o.topology.cache } } : {}),
  });
  for (const slice of ch.create) {
    put(slice);
    cluster.slices++;
  }
}

/** The Deployment's current ReplicaSet and its Running, Ready pods, placed round robin over the nodes. */
function putReplicaSetPods(c: ServiceShared, d: Deployment, labels: Record<string, string>, cluster: SyntheticCluster): Pod[] {
  const { ns, o, put } = c;
  const name = d.metadata.name!;
  const hash = templateHash(d);
  const podLabels = { ...labels, [LABEL_POD_TEMPLATE_HASH]: hash };
  const rsName = `${name}-${hash}`;
  const rs = put<ReplicaSet>({
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name: rsName, namespace: ns, labels: podLabels, generation: 1, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name, uid: d.metadata.uid!, controller: true, blockOwnerDeletion: true }] },
    spec: { replicas: o.endpointsPerService, selector: { matchLabels: podLabels }, template: { metadata: { labels: podLabels }, spec: d.spec.template.spec } },
    status: { replicas: o.endpointsPerService, readyReplicas: o.endpointsPerService, availableReplicas: o.endpointsPerService, observedGeneration: 1 },
  });
  const svcPods: Pod[] = [];
  // Shared by the ReplicaSet's pods (immutable versions): one owner reference, one prefix.
  const podOwners = [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: rsName, uid: rs.metadata.uid!, controller: true, blockOwnerDeletion: true }];
  const podPrefix = `${rsName}-`;
  for (let e = 0; e < o.endpointsPerService; e++) {
    // Round robin: what the scheduler's least-loaded choice gives for identical pods on empty nodes.
    const node = cluster.nodes[cluster.pods % o.nodes]!;
    const ip = formatIPv4(c.podIPs.get(node.name)!.allocate()!);
    const podName = c.api.generateName('Pod', ns, podPrefix);
    const pod = put<Pod>({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: podName, namespace: ns, generateName: podPrefix, labels: podLabels, ownerReferences: podOwners },
      spec: { ...d.spec.template.spec, nodeName: node.name },
      status: { phase: 'Running', podIP: ip, podIPs: [{ ip }], hostIP: node.ip, conditions: [c.conditions[0], c.conditions[1]] },
    });
    svcPods.push(pod);
    cluster.pods++;
  }
  return svcPods;
}

/** The longest prefix, at most 24, whose CIDR holds `pods` plus half again (network, bridge and broadcast excluded). */
export function autoMaskSize(pods: number): number {
  const need = Math.ceil(pods * 1.5) + 3;
  return Math.min(24, 32 - Math.ceil(Math.log2(need)));
}
