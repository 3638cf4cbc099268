import { makeEndpoint, compareEndpoints, joinHostPort, type Endpoint } from '../proxy/endpoint.ts';
import { clusterIPPort, type ServicePort } from '../proxy/service-port.ts';
import { formatIPv4, parseCidr } from '../net/ipv4.ts';
import { InputError } from '../io/input-error.ts';
import { nodeByZoneShare, type ClusterZones } from './zones.ts';
import type { ServicePolicy } from './service-policy.ts';

/**
 * The synthetic cluster as kube-proxy sees it at the start of a static run, built straight from the
 * counts with no API objects (which is what lets rule-scaling runs reach 50k Services; runs with churn
 * get the cluster from sim/k8s/synthetic-cluster.ts through the control plane instead): S ClusterIP
 * services of P ports each (servicePortsOf), E ready endpoints per service spread round-robin over N
 * nodes. ClusterIPs come from the service CIDR (kubeadm's 10.96.0.0/12, skipping .0 and the kubernetes
 * service's .1), pod IPs from the cluster CIDR in /24 blocks of 253 pods (.0 and .1 are the network
 * and a node's cni0 bridge), and pods are spread over the nodes round-robin. (The kube-proxy model does
 * not use which node owns which /24, so pods are not packed per node; large studies need a cluster
 * CIDR big enough for services x endpoints pods, e.g. 10.128.0.0/9 for 500k.)
 */
export interface SyntheticEndpoints {
  /** Service ports (a Service with P ports has P of them, consecutive). */
  ports: ServicePort[];
  endpoints: Endpoint[][];
}

export interface SyntheticEndpointsOptions {
  nodes: number;
  services: number;
  endpointsPerService: number;
  port: number;
  protocol: 'TCP' | 'UDP';
  /** Whole seconds of ClientIP affinity (spec.sessionAffinityConfig.clientIP.timeoutSeconds); 0: none. */
  affinitySeconds?: number;
  /** Ports per Service (default 1); see servicePortsOf. */
  portsPerService?: number;
  serviceCIDR?: string;
  clusterCIDR?: string;
  /**
   * Offset of svc-0's ClusterIP in the service CIDR (default 10). A run with DNS keeps .10 for
   * kube-dns and .11 for kube-dns-upstream (dns-cluster.ts) and starts the Services at .12.
   */
  firstClusterIP?: number;
  /** Zones of the nodes (each endpoint gets its node's zone) and where the pods go; absent: no zones. */
  zones?: ClusterZones;
  /**
   * Each Service's own affinity and internalTrafficPolicy (on its ServicePorts) in runs where Services
   * differ; absent: every Service has `affinitySeconds` and Cluster policy.
   */
  policies?: readonly ServicePolicy[];
  /** The EndpointSlice controller's hints for Service `s`'s endpoints (static-hints.ts); absent: none. */
  hint?: (s: number, list: Endpoint[]) => Endpoint[];
}

/** Port k of a synthetic Service: its name, Service port and the pods' target port. */
export function syntheticPort(k: number, port: number): { name: string; port: number; targetPort: number } {
  return { name: k === 0 ? 'http' : `http-${k}`, port: port + k, targetPort: 8080 + k };
}

/**
 * The service ports of a Service with `ports` ports, as kube-proxy splits it: one ServicePort each
 * (own KUBE-SERVICES rule, KUBE-SVC chain and KUBE-SEP chains: pkg/proxy/serviceport.go and the
 * proxiers iterate service ports, not Services), all with the Service's ClusterIP and pods, each
 * with its own target port. Port k is `http` (k = 0) or `http-k`, Service port `port + k`, target
 * port 8080 + k. Service s's port k is the timeline's service port s * ports + k.
 */
export function servicePortsOf(namespace: string, name: string, clusterIP: string, port: number, protocol: 'TCP' | 'UDP' | 'SCTP', ports: number, affinitySeconds: number): ServicePort[] {
  return Array.from({ length: ports }, (_, k) => {
    const p = syntheticPort(k, port);
    return clusterIPPort(namespace, name, p.name, clusterIP, p.port, protocol, affinitySeconds);
  });
}

/** The same endpoints, listening on port k's target port, in kube-proxy's order. */
export function endpointsOnPort(list: Endpoint[], k: number): Endpoint[] {
  if (k === 0) return list;
  return list.map((e) => ({ ...e, port: e.port + k, endpoint: joinHostPort(e.ip, e.port + k) })).sort(compareEndpoints);
}

export function syntheticEndpoints(o: SyntheticEndpointsOptions): SyntheticEndpoints {
  const svcBase = parseCidr(o.serviceCIDR ?? '10.96.0.0/12').addr;
  const podCidr = parseCidr(o.clusterCIDR ?? '10.244.0.0/16');
  const capacity = Math.floor(2 ** (32 - podCidr.prefix) / 256) * 253;
  if (o.services * o.endpointsPerService > capacity)
    throw new InputError('cluster.clusterCIDR', `a pod range with room for ${o.services * o.endpointsPerService} pods`, `${o.clusterCIDR ?? '10.244.0.0/16'} (room for ${capacity})`);
  const ports: ServicePort[] = [];
  const endpoints: Endpoint[][] = [];
  let pod = 0;
  const perService = o.portsPerService ?? 1;
  const zones = o.zones;
  const next: number[] = [];
  for (let s = 0; s < o.services; s++) {
    const policy = o.policies?.[s];
    const sps = servicePortsOf('default', `svc-${s}`, formatIPv4((svcBase + (o.firstClusterIP ?? 10) + s) >>> 0), o.port, o.protocol, perService, policy ? policy.affinitySeconds : (o.affinitySeconds ?? 0));
    ports.push(...(policy?.internalLocal ? sps.map((sp) => ({ ...sp, internalPolicyLocal: true })) : sps));
    let list: Endpoint[] = [];
    for (let e = 0; e < o.endpointsPerService; e++) {
      const node = zones?.endpointShares ? nodeByZoneShare(zones, e, o.endpointsPerService, next, s, o.services) : pod % o.nodes;
      const ip = formatIPv4((podCidr.addr + Math.floor(pod / 253) * 256 + 2 + (pod % 253)) >>> 0);
      pod++;
      list.push(makeEndpoint({ ip, port: 8080, nodeName: `node-${node}`, ...(zones ? { zone: zones.nodeZones[node]! } : {}) }));
    }
    list.sort(compareEndpoints);
    if (o.hint) list = o.hint(s, list);
    for (let k = 0; k < perService; k++) endpoints.push(endpointsOnPort(list, k));
  }
  return { ports, endpoints };
}

