import { clusterIPPort, type ServicePort } from '../proxy/service-port.ts';
import { compareEndpoints, makeEndpoint, type Endpoint } from '../proxy/endpoint.ts';
import type { EndpointTimeline } from '../proxy/sync/endpoint-timeline.ts';
import { formatIPv4, parseCidr } from '../net/ipv4.ts';

/**
 * The kube-dns Service of a run with DNS, as kubeadm creates it (cmd/kubeadm/app/phases/addons/dns/
 * manifests.go CoreDNSService): kube-system/kube-dns at the 10th address of the service CIDR
 * (constants GetDNSIP: 10.96.0.10), ports `dns` 53/UDP and `dns-tcp` 53/TCP, selector
 * k8s-app=kube-dns (the metrics port 9153 carries no lookups and is left out). With NodeLocal
 * DNSCache, the kube-dns-upstream Service of the node-cache manifest (kubernetes cluster/addons/dns/
 * nodelocaldns/nodelocaldns.yaml) selects the same pods, at the next address; node-cache reaches it
 * over TCP (force_tcp).
 *
 * Its service ports are registered in the endpoint timeline after the workload's Services, so the
 * workload traffic (services 0..targetServices-1) never picks them, and every kube-proxy programs them
 * like any other Service (sync cost, rule position, UDP conntrack cleanup).
 */
export const KUBE_DNS_OFFSET = 10;
export const KUBE_DNS_UPSTREAM_OFFSET = 11;
/** Where the workload's Services start in a run with DNS (synthetic-endpoints.ts firstClusterIP). */
export const DNS_RUN_FIRST_SERVICE_OFFSET = 12;
export const DNS_PORT = 53;
/** The CoreDNS container listens on 53/UDP and 53/TCP (kubeadm manifests.go CoreDNSDeployment). */
export const COREDNS_POD_PORT = 53;
export const KUBE_DNS_NAMESPACE = 'kube-system';

/** Where the DNS Services sit in the timeline (indexes of its service ports). */
export interface DnsServicePorts {
  udp: number;
  tcp: number;
  /** kube-dns-upstream's TCP port (NodeLocal DNSCache only), else -1. */
  upstreamTcp: number;
  clusterIP: string;
  upstreamIP: string | null;
}

export function kubeDnsPorts(serviceCIDR: string | undefined, nodeLocalCache: boolean): { ports: ServicePort[]; clusterIP: string; upstreamIP: string | null } {
  const base = parseCidr(serviceCIDR ?? '10.96.0.0/12').addr;
  const clusterIP = formatIPv4((base + KUBE_DNS_OFFSET) >>> 0);
  const ports = [clusterIPPort(KUBE_DNS_NAMESPACE, 'kube-dns', 'dns', clusterIP, DNS_PORT, 'UDP'), clusterIPPort(KUBE_DNS_NAMESPACE, 'kube-dns', 'dns-tcp', clusterIP, DNS_PORT, 'TCP')];
  if (!nodeLocalCache) return { ports, clusterIP, upstreamIP: null };
  const upstreamIP = formatIPv4((base + KUBE_DNS_UPSTREAM_OFFSET) >>> 0);
  ports.push(clusterIPPort(KUBE_DNS_NAMESPACE, 'kube-dns-upstream', 'dns-tcp', upstreamIP, DNS_PORT, 'TCP'));
  return { ports, clusterIP, upstreamIP };
}

/**
 * The CoreDNS pods of a static run: `replicas` Ready pods spread over the nodes (kubeadm's preferred
 * pod anti-affinity per hostname), with pod IPs after the workload's pods in the cluster CIDR (the
 * layout of synthetic-endpoints.ts: /24 blocks of 253 pods).
 */
export function staticCoreDnsEndpoints(o: { clusterCIDR?: string | undefined; nodes: number; workloadPods: number; replicas: number }): Endpoint[] {
  const podCidr = parseCidr(o.clusterCIDR ?? '10.244.0.0/16');
  const list: Endpoint[] = [];
  for (let r = 0; r < o.replicas; r++) {
    const pod = o.workloadPods + r;
    const ip = formatIPv4((podCidr.addr + Math.floor(pod / 253) * 256 + 2 + (pod % 253)) >>> 0);
    list.push(makeEndpoint({ ip, port: COREDNS_POD_PORT, nodeName: `node-${r % o.nodes}` }));
  }
  return list.sort(compareEndpoints);
}

/** Registers the DNS service ports with `endpoints` (the CoreDNS pods) in a static timeline. */
export function addStaticKubeDns(timeline: EndpointTimeline, serviceCIDR: string | undefined, nodeLocalCache: boolean, endpoints: readonly Endpoint[]): DnsServicePorts {
  const { ports, clusterIP, upstreamIP } = kubeDnsPorts(serviceCIDR, nodeLocalCache);
  const idx = ports.map((p) => timeline.addService(p, endpoints));
  return { udp: idx[0]!, tcp: idx[1]!, upstreamTcp: idx[2] ?? -1, clusterIP, upstreamIP };
}
