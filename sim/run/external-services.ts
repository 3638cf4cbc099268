import { InputError } from '../io/input-error.ts';
import { cidrContains, formatIPv4, parseCidr, parseIPv4, type Cidr } from '../net/ipv4.ts';
import type { ServicePort } from '../proxy/service-port.ts';

/**
 * The externally reachable service ports of a run (north-south traffic), by timeline index: how a
 * client outside the cluster reaches each (a load balancer address, a node port, an external IP),
 * its externalTrafficPolicy and its healthCheckNodePort. The timeline's ServicePorts stay as they
 * were, so a run without these Services is unchanged; the external traffic model and the kernel
 * figures read this table.
 */
export type ExternalKind = 'LoadBalancer' | 'NodePort' | 'ExternalIP';

export interface ExternalServicePort {
  /** Index of the service port in the run's EndpointTimeline. */
  service: number;
  kind: ExternalKind;
  /** spec.ports[].nodePort (0 for an externalIPs-only ClusterIP Service). */
  nodePort: number;
  /** spec.healthCheckNodePort: type LoadBalancer with externalTrafficPolicy Local only, else 0. */
  healthCheckNodePort: number;
  /** status.loadBalancer.ingress[0].ip (LoadBalancer) or spec.externalIPs[0] (ExternalIP), else null. */
  address: string | null;
  /** externalTrafficPolicy Local. */
  local: boolean;
  /** spec.loadBalancerSourceRanges (LoadBalancer only); empty: every source allowed. */
  sourceRanges: readonly Cidr[];
}

/** The synthetic cluster's Service types (scenario cluster.services, schema-external.ts). */
export interface ServiceTypes {
  nodePort: number;
  loadBalancer: number;
  externalIPs: number;
  /** Every one of them, or the share of them with Local (the first ones in index order). */
  externalTrafficPolicy: 'Cluster' | 'Local' | { Local: number };
  loadBalancerSourceRanges: readonly string[];
}

/** kube-apiserver --service-node-port-range default (pkg/kubeapiserver/options: DefaultServiceNodePortRange). */
export const NODE_PORT_MIN = 30000;
export const NODE_PORT_MAX = 32767;
/** Load balancer addresses and external IPs of the synthetic cluster: 198.18.0.0/15 (RFC 2544 benchmarking range), LBs in the first /16, external IPs in the second. */
const LB_BASE = parseIPv4('198.18.0.0');
const EXTERNAL_IP_BASE = parseIPv4('198.19.0.0');

/**
 * Service `s` of `services` gets a type by share, in index order: LoadBalancer first, then NodePort,
 * then externalIPs (counts rounded to whole Services). Each port of a NodePort or LoadBalancer
 * Service gets its own node port and each LoadBalancer Service with policy Local one
 * healthCheckNodePort, allocated in order from 30000 (the API server allocates at random from the
 * range; the numbers do not enter any figure of a run, only their count does).
 */
export function syntheticExternalServices(services: number, portsPerService: number, t: ServiceTypes): ExternalServicePort[] {
  const lb = Math.round(t.loadBalancer * services);
  const np = Math.round(t.nodePort * services);
  const eip = Math.round(t.externalIPs * services);
  const etp = t.externalTrafficPolicy;
  const localCount = etp === 'Local' ? Infinity : etp === 'Cluster' ? 0 : Math.round(etp.Local * Math.min(services, lb + np + eip));
  const ranges = t.loadBalancerSourceRanges.map((r, i) => sourceRange(r, `cluster.services.loadBalancerSourceRanges[${i}]`));
  const out: ExternalServicePort[] = [];
  let nextPort = NODE_PORT_MIN;
  const allocate = (): number => {
    if (nextPort > NODE_PORT_MAX)
      throw new InputError('cluster.services', `at most ${NODE_PORT_MAX - NODE_PORT_MIN + 1} node ports and health-check node ports in all (kube-apiserver --service-node-port-range ${NODE_PORT_MIN}-${NODE_PORT_MAX})`, `${lb} LoadBalancer and ${np} NodePort Services of ${portsPerService} port(s)`);
    return nextPort++;
  };
  for (let s = 0; s < lb + np + eip && s < services; s++) {
    const kind: ExternalKind = s < lb ? 'LoadBalancer' : s < lb + np ? 'NodePort' : 'ExternalIP';
    const local = s < localCount;
    const hc = kind === 'LoadBalancer' && local ? allocate() : 0;
    const address = kind === 'LoadBalancer' ? formatIPv4((LB_BASE + 1 + s) >>> 0) : kind === 'ExternalIP' ? formatIPv4((EXTERNAL_IP_BASE + 1 + s) >>> 0) : null;
    for (let k = 0; k < portsPerService; k++) {
      out.push({ service: s * portsPerService + k, kind, nodePort: kind === 'ExternalIP' ? 0 : allocate(), healthCheckNodePort: hc, address, local, sourceRanges: kind === 'LoadBalancer' ? ranges : [] });
    }
  }
  return out;
}

/** The externally reachable ports among a manifest cluster's service ports, as kube-proxy reads them (pkg/proxy/serviceport.go). */
export function manifestExternalServices(ports: readonly ServicePort[]): ExternalServicePort[] {
  const out: ExternalServicePort[] = [];
  ports.forEach((sp, service) => {
    // A Service of type LoadBalancer whose load balancer is not provisioned yet has a node port only.
    const lbAddress = sp.loadBalancerVIPs[0] ?? null;
    const kind: ExternalKind | null = lbAddress !== null ? 'LoadBalancer' : sp.nodePort !== 0 ? 'NodePort' : sp.externalIPs.length > 0 ? 'ExternalIP' : null;
    if (kind === null) return;
    out.push({
      service,
      kind,
      nodePort: sp.nodePort,
      healthCheckNodePort: sp.healthCheckNodePort,
      address: lbAddress ?? sp.externalIPs[0] ?? null,
      local: sp.externalPolicyLocal,
      sourceRanges: sp.loadBalancerSourceRanges.map((r) => sourceRange(r, `cluster.manifests (Service ${sp.nameString}: spec.loadBalancerSourceRanges)`)),
    });
  });
  return out;
}

function sourceRange(text: string, where: string): Cidr {
  return parseCidr(text.trim(), where);
}

/** Whether `client` may reach the load balancer address: inside some range, or no ranges at all (KUBE-FW-* / firewall-ips). */
export function sourceAllowed(sp: ExternalServicePort, client: number): boolean {
  if (sp.sourceRanges.length === 0) return true;
  return sp.sourceRanges.some((c) => cidrContains(c, client));
}
