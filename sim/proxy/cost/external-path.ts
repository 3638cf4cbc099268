/**
 * What becomes of a Service's first packet, by how it enters (ClusterIP, node port, load-balancer
 * IP, external IP), who sends it, and the Service's externalTrafficPolicy: the verdict every mode
 * model returns beside its cost. Which endpoints are usable (Ready, or serving-terminating when no
 * Ready one is left: cluster-wide for the Cluster list, on this node for the Local list; KEP-1669,
 * pkg/proxy/topology.go CategorizeEndpoints) is the run's business: it hands the models the sizes
 * of the two lists (FirstPacketInput.endpoints, localEndpoints). The models decide which list a
 * packet goes to, and whether it is masqueraded, dropped or rejected, as kube-proxy's rules do:
 *
 * iptables and nftables (pkg/proxy/iptables/proxier.go and pkg/proxy/nftables/proxier.go
 * syncProxyRules; docs/research/north-south-notes-checked.md H1, H2, P6, P7, P11, P13):
 * - a Service with no usable endpoint at all is rejected on every entry ("has no endpoints");
 * - loadBalancerSourceRanges apply to load-balancer IPs only, never to node ports or external IPs;
 *   a source outside them is dropped (KUBE-PROXY-FIREWALL, the firewall-ips map), pods included;
 * - externalTrafficPolicy Cluster: the EXT chain marks every packet for masquerade, even one whose
 *   endpoint is on this node, and sends it to the Cluster list;
 * - externalTrafficPolicy Local: a pod's packet is short-circuited to the Cluster list without
 *   masquerade (the `-s CLUSTER_CIDR` rule of the EXT chain, with the local-traffic detector), the
 *   node's own packet is masqueraded and sent to the Cluster list (`--src-type LOCAL`), and an
 *   external client's packet keeps its address and goes to the Local list, or is dropped when this
 *   node has none ("has no local endpoints");
 * - to a ClusterIP, a packet from outside the cluster CIDR (the node, an external client) is
 *   masqueraded, a pod's only with --masquerade-all.
 *
 * ipvs (pkg/proxy/ipvs/proxier.go syncService/syncEndpoint and its iptables rules): the real servers
 * of an external address under Local are the local endpoints, or, when there are none, the Cluster
 * ones (kubernetes PR 97081) with no masquerade: the packet reaches a remote endpoint with the
 * client's address, the endpoint answers it directly, and the client, which talked to this node's
 * address, discards the answer (north-south notes H3). ipvs has no short-circuit for pods: their
 * packets to an external address follow the same rules; their answers come back through this node
 * (the client pod lives here), so only an external client's reply is lost. Node ports and
 * load-balancer IPs under Cluster are masqueraded (KUBE-NODE-PORT-*, KUBE-LOAD-BALANCER chains),
 * Local ones are not (the *-LOCAL sets RETURN first).
 */
import type { FirstPacketInput, FirstPacketVerdict } from './mode-model.ts';

/** True when the input describes today's pod-to-ClusterIP packet, whose cost path is unchanged. */
export function isClusterIPDefault(p: FirstPacketInput): boolean {
  return (p.entry ?? 'clusterIP') === 'clusterIP' && (p.source ?? 'pod') === 'pod' && !p.masqueradeAll && p.node === undefined;
}

/** Which endpoint list an accepted external packet uses. */
export type EndpointList = 'cluster' | 'local';

export interface ExternalDecision {
  verdict: FirstPacketVerdict;
  /** The list the packet is sent to (when 'dnat'), and its size. */
  list: EndpointList;
  size: number;
}

const REJECT: FirstPacketVerdict = { kind: 'reject' };

/**
 * The ClusterIP verdict, every mode: `endpoints` already is the list the port uses
 * (internalTrafficPolicy); `noLocal` is what the mode does without a local endpoint
 * (ModeModel.noLocalEndpoints).
 */
export function clusterIPVerdict(p: FirstPacketInput, noLocal: 'drop' | 'reject' = 'drop'): FirstPacketVerdict {
  if (p.endpoints === 0) return p.noLocalEndpoints && noLocal === 'drop' ? { kind: 'drop', reason: 'no-local-endpoints' } : REJECT;
  const source = p.source ?? 'pod';
  return { kind: 'dnat', endpoint: p.chosen, masquerade: p.masqueradeAll === true || source !== 'pod', replyLost: false };
}

function refusedBySourceRange(p: FirstPacketInput): boolean {
  return p.entry === 'loadBalancer' && p.sourceRange !== undefined && p.sourceRange.allowedBy < 0;
}

/**
 * iptables and nftables: the decision for an external entry (node port, LB IP, external IP).
 * `firewallWithoutEndpoints`: the source-range check stands even when the Service has no endpoint
 * (nftables writes the firewall- chain and firewall-ips element whatever the endpoints; iptables
 * only with endpoints, `usesFWChain := hasEndpoints && ...`, so there the REJECT comes first).
 */
export function ruleModeExternalDecision(p: FirstPacketInput, firewallWithoutEndpoints = false): ExternalDecision {
  const source = p.source ?? 'pod';
  const local = (p.externalTrafficPolicy ?? 'Cluster') === 'Local';
  const localEndpoints = p.localEndpoints ?? 0;
  if (refusedBySourceRange(p) && (firewallWithoutEndpoints || p.endpoints > 0)) {
    return { verdict: { kind: 'drop', reason: 'source-range' }, list: 'cluster', size: p.endpoints };
  }
  if (p.endpoints === 0) return { verdict: REJECT, list: 'cluster', size: 0 };
  if (!local || source !== 'external') {
    return { verdict: { kind: 'dnat', endpoint: p.chosen, masquerade: !local || source === 'host', replyLost: false }, list: 'cluster', size: p.endpoints };
  }
  if (localEndpoints === 0) return { verdict: { kind: 'drop', reason: 'no-local-endpoints' }, list: 'local', size: 0 };
  return { verdict: { kind: 'dnat', endpoint: p.chosen, masquerade: false, replyLost: false }, list: 'local', size: localEndpoints };
}

/** ipvs: the decision for an external entry. */
export function ipvsExternalDecision(p: FirstPacketInput): ExternalDecision {
  const source = p.source ?? 'pod';
  const local = (p.externalTrafficPolicy ?? 'Cluster') === 'Local';
  const localEndpoints = p.localEndpoints ?? 0;
  if (refusedBySourceRange(p)) return { verdict: { kind: 'drop', reason: 'source-range' }, list: 'cluster', size: p.endpoints };
  if (p.endpoints === 0) return { verdict: REJECT, list: 'cluster', size: 0 };
  if (!local) return { verdict: { kind: 'dnat', endpoint: p.chosen, masquerade: true, replyLost: false }, list: 'cluster', size: p.endpoints };
  if (localEndpoints > 0) return { verdict: { kind: 'dnat', endpoint: p.chosen, masquerade: false, replyLost: false }, list: 'local', size: localEndpoints };
  // PR 97081: no local endpoint, so the Cluster endpoints (all remote) serve, without SNAT.
  return { verdict: { kind: 'dnat', endpoint: p.chosen, masquerade: false, replyLost: source === 'external' }, list: 'cluster', size: p.endpoints };
}

/**
 * The comparison modes (ebpf, userspace) are not kube-proxy's rule modes and cost every entry as a
 * ClusterIP; their verdict is taken as the rule modes' (Cilium too drops at a node without a local
 * backend under Local and masquerades under Cluster, without DSR), so a study compares them on cost.
 */
export function comparisonVerdict(p: FirstPacketInput, noLocal: 'drop' | 'reject'): FirstPacketVerdict {
  return (p.entry ?? 'clusterIP') === 'clusterIP' ? clusterIPVerdict(p, noLocal) : ruleModeExternalDecision(p).verdict;
}
