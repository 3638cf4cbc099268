import type { Simulator } from '../engine/simulator.ts';
import { InputError } from '../io/input-error.ts';
import type { ApiServer } from './apiserver.ts';
import { LABEL_POD_TEMPLATE_HASH, templateHash } from './deployment-controller.ts';
import { reconcileEndpointSlices } from './endpointslice-reconciler.ts';
import { ClusterIPAllocator, formatCidr, formatIPv4, NodeCidrAllocator, parseCidr, PodIPAllocator, type Cidr } from './ipam.ts';
import { objectKey, type Deployment, type EndpointSlice, type Node, type Pod, type ReplicaSet, type Service } from './objects.ts';
import { condition } from './sim-times.ts';

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
}

export interface SyntheticCluster {
  nodes: { name: string; ip: string; podCIDR: Cidr }[];
  services: { key: string; clusterIP: string; port: number; protocol: 'TCP' | 'UDP' | 'SCTP' }[];
  deployments: string[];
  pods: number;
  slices: number;
}

export function generateCluster(sim: Simulator, api: ApiServer, o: SyntheticClusterOptions): SyntheticCluster {
  const ns = o.namespace ?? 'default';
  const port = o.port ?? 80;
  const targetPort = o.targetPort ?? 8080;
  const protocol = o.protocol ?? 'TCP';
  const svcCidr = parseCidr(o.serviceCIDR ?? '10.96.0.0/12', 'cluster.serviceCIDR');
  const clusterCidr = parseCidr(o.clusterCIDR ?? '10.244.0.0/16', 'cluster.clusterCIDR');
  const podsPerNode = Math.ceil((o.services * o.endpointsPerService) / o.nodes);
  const mask = o.nodeCIDRMaskSize ?? autoMaskSize(podsPerNode);
  const nodeNet = parseCidr(o.nodeCIDR ?? '172.18.0.0/16', 'nodeCIDR');
  const nodeCidrs = new NodeCidrAllocator(clusterCidr, mask);
  if (o.nodes > nodeCidrs.capacity) {
    throw new InputError('cluster.nodes', `at most ${nodeCidrs.capacity} nodes (/${mask} pod CIDRs in ${formatCidr(clusterCidr)})`, String(o.nodes), 'use a larger cluster.clusterCIDR or a longer cluster.nodeCIDRMaskSize');
  }
  const ipsPerNode = 2 ** (32 - mask) - 3;
  if (podsPerNode > ipsPerNode) {
    throw new InputError('cluster.services', `at most ${ipsPerNode} pods per node (a /${mask} pod CIDR)`, `${podsPerNode} pods per node (${o.services} x ${o.endpointsPerService} over ${o.nodes} nodes)`, 'add nodes or use a shorter cluster.nodeCIDRMaskSize');
  }
  if (o.services + 1 > svcCidr.size - 2) {
    throw new InputError('cluster.services.count', `at most ${svcCidr.size - 3} Services in ${formatCidr(svcCidr)}`, String(o.services));
  }
  const put = <T extends Node | Service | Deployment | ReplicaSet | Pod | EndpointSlice>(obj: T) =>
    api.commit<T>({ kind: obj.kind as T['kind'], key: objectKey(obj.metadata), client: 'synthetic-cluster', mutate: () => obj });
  const now = sim.now;

  const nodes: SyntheticCluster['nodes'] = [];
  const podIPs = new Map<string, PodIPAllocator>();
  for (let i = 0; i < o.nodes; i++) {
    const name = `node-${i}`;
    const cidr = nodeCidrs.allocate();
    const ip = formatIPv4(nodeNet.base + 2 + i);
    put<Node>({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name, labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux' } },
      spec: { podCIDR: formatCidr(cidr), podCIDRs: [formatCidr(cidr)] },
      status: { addresses: [{ type: 'InternalIP', address: ip }, { type: 'Hostname', address: name }], conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady' }] },
    });
    nodes.push({ name, ip, podCIDR: cidr });
    podIPs.set(name, new PodIPAllocator(cidr));
  }

  const clusterIPs = new ClusterIPAllocator(svcCidr, sim.rng('k8s/ipam/cluster-ip'));
  clusterIPs.reserve(svcCidr.base + 1); // the `kubernetes` Service
  const services: SyntheticCluster['services'] = [];
  const deployments: string[] = [];
  let pods = 0;
  let slices = 0;
  const grace = o.terminationGracePeriodSeconds ?? 30;
  const ready = condition('Ready', 'True', now);
  const containersReady = condition('ContainersReady', 'True', now);
  for (let s = 0; s < o.services; s++) {
    const name = `svc-${s}`;
    const labels = { app: name };
    const clusterIP = formatIPv4(clusterIPs.allocate());
    const svc = put<Service>({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace: ns, labels },
      spec: { type: 'ClusterIP', clusterIP, clusterIPs: [clusterIP], ipFamilies: ['IPv4'], selector: labels, ports: [{ name: 'http', protocol, port, targetPort }], sessionAffinity: 'None', internalTrafficPolicy: 'Cluster' },
    })!.object;
    services.push({ key: `${ns}/${name}`, clusterIP, port, protocol });
    const deployment: Deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace: ns, labels, generation: 1 },
      spec: {
        replicas: o.endpointsPerService,
        selector: { matchLabels: labels },
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: o.maxSurge ?? '25%', maxUnavailable: o.maxUnavailable ?? '25%' } },
        template: {
          metadata: { labels },
          spec: { terminationGracePeriodSeconds: grace, containers: [{ name: 'app', ports: [{ name: 'http', containerPort: targetPort, protocol }] }] },
        },
      },
    };
    const d = put(deployment)!.object;
    deployments.push(`${ns}/${name}`);
    const hash = templateHash(d);
    const podLabels = { ...labels, [LABEL_POD_TEMPLATE_HASH]: hash };
    const rsName = `${name}-${hash}`;
    const rs = put<ReplicaSet>({
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name: rsName, namespace: ns, labels: podLabels, generation: 1, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name, uid: d.metadata.uid!, controller: true, blockOwnerDeletion: true }] },
      spec: { replicas: o.endpointsPerService, selector: { matchLabels: podLabels }, template: { metadata: { labels: podLabels }, spec: d.spec.template.spec } },
      status: { replicas: o.endpointsPerService, readyReplicas: o.endpointsPerService, availableReplicas: o.endpointsPerService, observedGeneration: 1 },
    })!.object;
    const svcPods: Pod[] = [];
    // Shared by the ReplicaSet's pods (immutable versions): one owner reference, one prefix.
    const podOwners = [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: rsName, uid: rs.metadata.uid!, controller: true, blockOwnerDeletion: true }];
    const podPrefix = `${rsName}-`;
    for (let e = 0; e < o.endpointsPerService; e++) {
      // Round robin: what the scheduler's least-loaded choice gives for identical pods on empty nodes.
      const node = nodes[pods % o.nodes]!.name;
      const ip = formatIPv4(podIPs.get(node)!.allocate()!);
      const podName = api.generateName('Pod', ns, podPrefix);
      const pod = put<Pod>({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: podName, namespace: ns, generateName: podPrefix, labels: podLabels, ownerReferences: podOwners },
        spec: { ...d.spec.template.spec, nodeName: node },
        status: { phase: 'Running', podIP: ip, podIPs: [{ ip }], hostIP: nodes[pods % o.nodes]!.ip, conditions: [ready, containersReady] },
      })!.object;
      svcPods.push(pod);
      pods++;
    }
    const ch = reconcileEndpointSlices({
      service: svc,
      pods: svcPods,
      existing: [],
      nodes: (n) => api.get<Node>('Node', n),
      maxEndpointsPerSlice: o.maxEndpointsPerSlice,
      generateName: (prefix) => api.generateName('EndpointSlice', ns, prefix),
    });
    for (const slice of ch.create) {
      put(slice);
      slices++;
    }
  }
  return { nodes, services, deployments, pods, slices };
}

/** The longest prefix, at most 24, whose CIDR holds `pods` plus half again (network, bridge and broadcast excluded). */
export function autoMaskSize(pods: number): number {
  const need = Math.ceil(pods * 1.5) + 3;
  return Math.min(24, 32 - Math.ceil(Math.log2(need)));
}
