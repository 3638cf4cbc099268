import { formatIPv4, parseCidr, parseIPv4 } from '../../net/ipv4.ts';
import type { CostModel, IptablesBackend } from '../../cost/cost-model.ts';
import type { EndpointTimeline } from '../sync/endpoint-timeline.ts';
import type { RunEndpoints } from './endpoint-list-check.ts';
import type { WalkHints } from './node-groups.ts';

/** Where a service port stands in a chain written in Go map order (run/traffic.ts servicePosition). */
export type ServiceOrder = (node: number, generation: number, service: number, size: number) => number;

/** What the walking data plane of a run needs to know of it. */
export interface WalkSetup {
  timeline: EndpointTimeline;
  /** Node names as the endpoints carry them (EndpointSlice endpoints[].nodeName), by node index. */
  nodeNames: readonly string[];
  costs: CostModel;
  iptablesBackend: IptablesBackend;
  /**
   * internalTrafficPolicy Local for every Service (the run keeps it beside the timeline); Services
   * with their own policy carry it on their ServicePort (internalPolicyLocal).
   */
  internalLocal: boolean;
  /** Each node's topology.kubernetes.io/zone, by node index (its proxier's zone); absent: no zones. */
  nodeZones?: readonly string[];
  /** The hints the Services' topology policies may put on their endpoints (node-groups.ts); absent: none. */
  hints?: WalkHints;
  /** The run's own list per node and Service, which each walk's must equal (endpoint-list-check.ts); absent: not checked. */
  runEndpoints?: RunEndpoints;
  /** kube-proxy's --cluster-cidr (its local-traffic detector); the synthetic clusters' pod range. */
  clusterCIDR: string;
  /** The ServiceCIDR the ClusterIPs come from (nftables' cluster-ips-check). */
  serviceCIDR: string;
  order: ServiceOrder;
}

/** The synthetic clusters' ranges when the scenario names none (synthetic-endpoints.ts, kubeadm's defaults). */
export const DEFAULT_CLUSTER_CIDR = '10.244.0.0/16';
export const DEFAULT_SERVICE_CIDR = '10.96.0.0/12';

/**
 * The node's address as its proxier is told it (--bind-address / the node's InternalIP): the run
 * gives nodes no addresses, so node n gets 192.168.0.2 + n. Only node-port and load-balancer rules
 * read it, which no pod-to-ClusterIP packet reaches.
 */
export function nodeAddress(node: number): string {
  return formatIPv4((parseIPv4('192.168.0.2') + node) >>> 0);
}

/**
 * The source address of the walked packet: a pod address inside the cluster CIDR, so kube-proxy's
 * local-traffic detector (`! -s CLUSTER_CIDR -j KUBE-MARK-MASQ`, `ip saddr != CIDR`) sees pod
 * traffic as the formula assumes. The run's client addresses (run/client-conntrack.ts clientIp,
 * 172.16.0.0/12) key conntrack and affinity; the walk reads its affinity from the run
 * (walk-choices.ts), so its own source address only has to be a pod's that is no endpoint's: the
 * range's last address, the .255 of a /24 that pod allocation never hands out (synthetic-endpoints.ts:
 * .2 to .254 per /24).
 */
export function walkSourceAddress(clusterCIDR: string): number {
  const c = parseCidr(clusterCIDR);
  return (c.addr + 2 ** (32 - c.prefix) - 1) >>> 0;
}
