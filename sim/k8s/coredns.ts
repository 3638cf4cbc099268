import type { ApiServer } from './apiserver.ts';
import { LABEL_POD_TEMPLATE_HASH, templateHash } from './deployment-controller.ts';
import { reconcileEndpointSlices } from './endpointslice-reconciler.ts';
import type { PodIPAllocator } from './ipam.ts';
import type { Deployment, EndpointSlice, Node, Pod, PodCondition, ReplicaSet, Service, ServicePort } from './objects.ts';
import { formatIPv4 } from '../net/ipv4.ts';

/**
 * CoreDNS as kubeadm installs it (cmd/kubeadm/app/phases/addons/dns/manifests.go): the kube-system/
 * coredns Deployment (pods labelled k8s-app=kube-dns, ports 53/UDP `dns` and 53/TCP `dns-tcp`,
 * RollingUpdate maxUnavailable 1) behind the kube-dns Service at the cluster DNS address; with
 * NodeLocal DNSCache also the kube-dns-upstream Service over the same pods (kubernetes
 * cluster/addons/dns/nodelocaldns/nodelocaldns.yaml). Written in steady state like the synthetic
 * cluster: Running, Ready pods and the EndpointSlices the controller would have written, so the
 * EndpointSlice controller, kubelets and churn treat them as every other workload.
 */
export interface CoreDnsOptions {
  replicas: number;
  clusterIP: string;
  /** kube-dns-upstream's ClusterIP, or undefined without NodeLocal DNSCache. */
  upstreamIP?: string;
  terminationGracePeriodSeconds: number;
}

export interface CoreDnsContext {
  api: ApiServer;
  put: <T extends Service | Deployment | ReplicaSet | Pod | EndpointSlice>(obj: T) => T;
  nodes: readonly { name: string; ip: string }[];
  podIPs: ReadonlyMap<string, PodIPAllocator>;
  conditions: readonly [PodCondition, PodCondition];
  maxEndpointsPerSlice?: number;
}

export const COREDNS_NAMESPACE = 'kube-system';
export const COREDNS_DEPLOYMENT = `${COREDNS_NAMESPACE}/coredns`;
const LABELS = { 'k8s-app': 'kube-dns' };
const PORTS: ServicePort[] = [
  { name: 'dns', protocol: 'UDP', port: 53, targetPort: 53 },
  { name: 'dns-tcp', protocol: 'TCP', port: 53, targetPort: 53 },
];

/** Writes the CoreDNS objects; returns the Services' keys and ClusterIPs. */
export function putCoreDns(c: CoreDnsContext, o: CoreDnsOptions): { key: string; clusterIP: string }[] {
  const services = [putService(c, 'kube-dns', o.clusterIP)];
  if (o.upstreamIP !== undefined) services.push(putService(c, 'kube-dns-upstream', o.upstreamIP));
  const d = c.put<Deployment>({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'coredns', namespace: COREDNS_NAMESPACE, labels: LABELS, generation: 1 },
    spec: {
      replicas: o.replicas,
      selector: { matchLabels: LABELS },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: 1 } },
      template: {
        metadata: { labels: LABELS },
        spec: {
          terminationGracePeriodSeconds: o.terminationGracePeriodSeconds,
          containers: [{ name: 'coredns', ports: [{ name: 'dns', containerPort: 53, protocol: 'UDP' }, { name: 'dns-tcp', containerPort: 53, protocol: 'TCP' }] }],
        },
      },
    },
  });
  const pods = putPods(c, d, o.replicas);
  for (const s of services) {
    const svc = c.api.get<Service>('Service', s.key)!;
    const ch = reconcileEndpointSlices({
      service: svc,
      pods,
      existing: [],
      nodes: (n) => c.api.get<Node>('Node', n),
      maxEndpointsPerSlice: c.maxEndpointsPerSlice,
      generateName: (prefix) => c.api.generateName('EndpointSlice', COREDNS_NAMESPACE, prefix),
    });
    for (const slice of ch.create) c.put(slice);
  }
  return services;
}

function putService(c: CoreDnsContext, name: string, clusterIP: string): { key: string; clusterIP: string } {
  c.put<Service>({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: COREDNS_NAMESPACE, labels: LABELS },
    spec: { type: 'ClusterIP', clusterIP, clusterIPs: [clusterIP], ipFamilies: ['IPv4'], selector: LABELS, ports: PORTS, sessionAffinity: 'None', internalTrafficPolicy: 'Cluster' },
  });
  return { key: `${COREDNS_NAMESPACE}/${name}`, clusterIP };
}

/** The current ReplicaSet and its pods, one per node in turn (kubeadm's preferred anti-affinity per hostname). */
function putPods(c: CoreDnsContext, d: Deployment, replicas: number): Pod[] {
  const hash = templateHash(d);
  const podLabels = { ...LABELS, [LABEL_POD_TEMPLATE_HASH]: hash };
  const rsName = `coredns-${hash}`;
  const rs = c.put<ReplicaSet>({
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name: rsName, namespace: COREDNS_NAMESPACE, labels: podLabels, generation: 1, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'coredns', uid: d.metadata.uid!, controller: true, blockOwnerDeletion: true }] },
    spec: { replicas, selector: { matchLabels: podLabels }, template: { metadata: { labels: podLabels }, spec: d.spec.template.spec } },
    status: { replicas, readyReplicas: replicas, availableReplicas: replicas, observedGeneration: 1 },
  });
  const owners = [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: rsName, uid: rs.metadata.uid!, controller: true, blockOwnerDeletion: true }];
  const pods: Pod[] = [];
  for (let r = 0; r < replicas; r++) {
    const node = c.nodes[r % c.nodes.length]!;
    const ip = formatIPv4(c.podIPs.get(node.name)!.allocate()!);
    const prefix = `${rsName}-`;
    pods.push(
      c.put<Pod>({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: c.api.generateName('Pod', COREDNS_NAMESPACE, prefix), namespace: COREDNS_NAMESPACE, generateName: prefix, labels: podLabels, ownerReferences: owners },
        spec: { ...d.spec.template.spec, nodeName: node.name },
        status: { phase: 'Running', podIP: ip, podIPs: [{ ip }], hostIP: node.ip, conditions: [c.conditions[0], c.conditions[1]] },
      }),
    );
  }
  return pods;
}
