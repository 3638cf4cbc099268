import type { ProxyMode } from '../proxy/mode.ts';
import { EXTERNAL_REASONS } from './external-metrics.ts';

/**
 * What a node's kube-proxy rules do with the first packet of a connection from outside the cluster
 * (source external) to a node port, a load balancer address or an external IP, from counts:
 *
 * - loadBalancerSourceRanges apply to the load balancer address only, never to node ports or
 *   external IPs (pkg/proxy/iptables/proxier.go syncProxyRules, KUBE-FW-* and KUBE-PROXY-FIREWALL;
 *   nftables `firewall-ips`): a client outside every range is dropped.
 * - A Service with no usable endpoint at all is rejected (filter KUBE-EXTERNAL-SERVICES REJECT "has
 *   no endpoints"; nftables `no-endpoint-nodeports` / `no-endpoint-services` reject).
 * - externalTrafficPolicy Cluster: the KUBE-EXT chain marks every external packet for masquerade
 *   before KUBE-SVC, even when the endpoint chosen is on this node, so the pod sees a node address
 *   (proxier.go: the EXT chain's jump to KUBE-MARK-MASQ when !ExternalPolicyLocal).
 * - externalTrafficPolicy Local: the packet goes to KUBE-SVL (the node's own endpoints) without
 *   masquerade, the client address kept; with no local endpoint it is dropped (filter
 *   KUBE-EXTERNAL-SERVICES DROP "has no local endpoints"). ipvs has no such drop: with no local
 *   endpoint its virtual server keeps the cluster's endpoints and forwards without SNAT, so the reply
 *   leaves the remote endpoint's node straight to the client, which discards it
 *   (pkg/proxy/ipvs/proxier.go syncEndpoint, kubernetes/kubernetes#97081).
 *
 * The endpoints counted are the lists of external-endpoints.ts (with or without the terminating
 * fallback). The ClusterIP path is not here: traffic.ts.
 */
export type ExternalVerdict =
  | { verdict: 'dnat'; list: 'cluster' | 'local'; masquerade: boolean; replyLost: boolean }
  | { verdict: 'drop' | 'reject'; reason: string };

export interface ExternalVerdictInput {
  mode: ProxyMode;
  entry: 'nodePort' | 'loadBalancer' | 'externalIP';
  local: boolean;
  /** The Cluster list's endpoints (cluster-wide) and the Local list's (this node's). */
  clusterEndpoints: number;
  localEndpoints: number;
  /** The Service has loadBalancerSourceRanges and the client is outside all of them. */
  outsideSourceRanges: boolean;
}

export function externalVerdict(i: ExternalVerdictInput): ExternalVerdict {
  if (i.entry === 'loadBalancer' && i.outsideSourceRanges) return { verdict: 'drop', reason: EXTERNAL_REASONS.sourceRange };
  if (i.clusterEndpoints === 0 && i.localEndpoints === 0) return { verdict: 'reject', reason: EXTERNAL_REASONS.noEndpoints };
  if (!i.local) return { verdict: 'dnat', list: 'cluster', masquerade: true, replyLost: false };
  if (i.localEndpoints > 0) return { verdict: 'dnat', list: 'local', masquerade: false, replyLost: false };
  if (i.mode === 'ipvs') return { verdict: 'dnat', list: 'cluster', masquerade: false, replyLost: true };
  return { verdict: 'drop', reason: EXTERNAL_REASONS.noLocal };
}
