/**
 * kube-proxy's view of one port of one Service, for one IP family.
 *
 * Mirrors kubernetes/kubernetes pkg/proxy/serviceport.go (BaseServicePortInfo) and the
 * ServicePortName of pkg/proxy/types.go. kube-proxy keys everything (chain names, change tracking,
 * endpoints) by the ServicePortName "namespace/name:portName" plus protocol; the port *number* is
 * only a property. This simulator is IPv4-only, so the family is always IPv4.
 *
 * A ServicePort is a plain, frozen-by-convention record: the proxy backends read it on every sync
 * and many nodes share the same objects, so it carries no methods and no per-node state.
 */

import type { Protocol } from '../k8s/objects.ts';

/** v1.Protocol, the API objects' type. */
export type { Protocol };

/** v1.ServiceAffinity. */
export type SessionAffinity = 'None' | 'ClientIP';

/** pkg/proxy/types.go ServicePortName: a Service's namespaced name plus the port's name and protocol. */
export interface ServicePortName {
  readonly namespace: string;
  readonly name: string;
  /** The ServicePort's `name`; "" for a Service's single unnamed port. */
  readonly port: string;
  readonly protocol: Protocol;
}

/**
 * ServicePortName.String(): "ns/name:port", or "ns/name" when the port is unnamed
 * (pkg/proxy/types.go fmtPortName). The protocol is not part of the string.
 */
export function servicePortNameString(spn: ServicePortName): string {
  const nn = `${spn.namespace}/${spn.name}`;
  return spn.port === '' ? nn : `${nn}:${spn.port}`;
}

/** The namespaced name "ns/name" kube-proxy uses to track service and endpoint changes. */
export function namespacedName(spn: ServicePortName): string {
  return `${spn.namespace}/${spn.name}`;
}

/**
 * A map key for a ServicePortName: "ns/name:port/TCP". kube-proxy keys its maps by the
 * ServicePortName struct, which includes the protocol; names and namespaces cannot contain '/'
 * or ':', so this string is unambiguous.
 */
export function servicePortNameId(spn: ServicePortName): string {
  return `${servicePortNameString(spn)}/${spn.protocol}`;
}

export interface ServicePort {
  readonly portName: ServicePortName;
  /** servicePortNameString(portName), kept because every backend needs it (comments, hashing). */
  readonly nameString: string;
  /** servicePortNameId(portName): the key of ProxyState's maps. */
  readonly id: string;
  readonly clusterIP: string;
  readonly port: number;
  readonly protocol: Protocol;
  /** 0 when the Service has no NodePort for this port. */
  readonly nodePort: number;
  readonly externalIPs: readonly string[];
  /** status.loadBalancer.ingress[].ip in VIP mode (ipMode unset or "VIP"); Proxy-mode IPs are skipped. */
  readonly loadBalancerVIPs: readonly string[];
  /** spec.loadBalancerSourceRanges, whitespace-trimmed, of this family. */
  readonly loadBalancerSourceRanges: readonly string[];
  /** 0 unless type LoadBalancer with externalTrafficPolicy Local. */
  readonly healthCheckNodePort: number;
  readonly sessionAffinity: SessionAffinity;
  /** spec.sessionAffinityConfig.clientIP.timeoutSeconds when affinity is ClientIP (API default 10800), else 0. */
  readonly stickyMaxAgeSeconds: number;
  /** externalTrafficPolicy Local on an externally accessible Service (pkg/api/v1/service ExternalPolicyLocal). */
  readonly externalPolicyLocal: boolean;
  /** internalTrafficPolicy Local. */
  readonly internalPolicyLocal: boolean;
}

/** BaseServicePortInfo.String(): "clusterIP:port/PROTOCOL". */
export function servicePortString(sp: ServicePort): string {
  return `${sp.clusterIP}:${sp.port}/${sp.protocol}`;
}

/** Reachable through something other than the ClusterIP: NodePort, externalIPs or a load balancer VIP. */
export function externallyAccessible(sp: ServicePort): boolean {
  return sp.nodePort !== 0 || sp.loadBalancerVIPs.length !== 0 || sp.externalIPs.length !== 0;
}

/**
 * Whether the port ever sends traffic to endpoints chosen by the "Cluster" policy. Even with
 * externalTrafficPolicy Local, external traffic from inside the cluster is short-circuited to the
 * Cluster endpoints, so an externally accessible port always needs them.
 */
export function usesClusterEndpoints(sp: ServicePort): boolean {
  return !sp.internalPolicyLocal || externallyAccessible(sp);
}

/** Whether the port ever sends traffic to endpoints chosen by the "Local" policy. */
export function usesLocalEndpoints(sp: ServicePort): boolean {
  return sp.internalPolicyLocal || (sp.externalPolicyLocal && externallyAccessible(sp));
}

/**
 * A ClusterIP-only service port as kube-proxy's ServicePort (no node port, Cluster policies), with
 * ClientIP affinity for `affinitySeconds` seconds when that is above 0.
 */
export function clusterIPPort(namespace: string, name: string, port: string, clusterIP: string, number: number, protocol: 'TCP' | 'UDP' | 'SCTP', affinitySeconds = 0): ServicePort {
  const portName: ServicePortName = { namespace, name, port, protocol };
  return {
    portName,
    nameString: servicePortNameString(portName),
    id: servicePortNameId(portName),
    clusterIP,
    port: number,
    protocol,
    nodePort: 0,
    externalIPs: [],
    loadBalancerVIPs: [],
    loadBalancerSourceRanges: [],
    healthCheckNodePort: 0,
    sessionAffinity: affinitySeconds > 0 ? 'ClientIP' : 'None',
    stickyMaxAgeSeconds: affinitySeconds,
    externalPolicyLocal: false,
    internalPolicyLocal: false,
  };
}
