import { LABEL_SERVICE_NAME, type EndpointSlice } from '../k8s/objects.ts';
import { LABEL_TOPOLOGY_ZONE } from '../k8s/pod-endpoint.ts';
import { computeEndpointSlices } from '../k8s/static-endpoints.ts';
import { proxyStateFromObjects } from '../proxy/from-api.ts';
import { walkNode, type NodeWalk } from './node-walk.ts';
import { step, type PathState, type WhyInput, type WhyStep } from './types.ts';

/**
 * Step 4, the client node's rules: what kube-proxy in this mode writes on that node (the same
 * generators `svcsim render` uses), and the connection's first packet walked through them
 * (node-walk.ts). A pod's packet arrives at the node (PREROUTING); a host-network packet is made on
 * the node (OUTPUT) and, coming from outside --cluster-cidr, is marked for masquerade. The rules may
 * drop the packet: internalTrafficPolicy Local with no endpoint on this node (kube-proxy's "has no
 * local endpoints" DROP), loadBalancerSourceRanges that leave the source out, or a Service with no
 * endpoints (REJECT, ICMP port unreachable).
 */
export function rulesStep(input: WhyInput, state: PathState): WhyStep {
  const { manifests: m, client, target } = input;
  const slices: EndpointSlice[] = m.pods.length > 0 ? computeEndpointSlices(m) : m.endpointSlices;
  const zone = m.nodes.find((n) => n.metadata.name === client.node)?.metadata.labels?.[LABEL_TOPOLOGY_ZONE] ?? '';
  const walk = walkNode({
    mode: input.mode,
    state: proxyStateFromObjects(m.services, slices, client.node),
    node: client.node,
    nodeIP: client.nodeIP,
    zone,
    clusterCIDR: input.clusterCIDR,
    proto: target.protocol === 'UDP' ? 'udp' : 'tcp',
    src: client.sourceIP,
    dst: state.address!,
    dport: target.port,
    local: client.hostNetwork,
  });
  const path = `${client.hostNetwork ? 'host network' : 'pod network'}, ${walk.hooks.join(' -> ')}`;
  const details = [`packet ${target.protocol.toLowerCase()} ${client.sourceIP}:43210 > ${state.address}:${target.port} on node ${client.node} (${path})`, ...walk.trace];
  if (walk.ipvs) details.push(`IPVS virtual server ${walk.ipvs.virtualServer} -> real server ${walk.ipvs.realServer ?? 'none'}`);
  const data = { mode: input.mode, node: client.node, hostNetwork: client.hostNetwork, hooks: walk.hooks, verdict: walk.verdict, dnat: walk.dnat, masquerade: walk.masquerade, rulesVisited: walk.rulesVisited, trace: walk.trace };
  if (walk.verdict !== 'ACCEPT') {
    const localReady = slices.some((sl) => sl.metadata.namespace === state.service?.metadata.namespace && sl.metadata.labels?.[LABEL_SERVICE_NAME] === state.service?.metadata.name && sl.endpoints.some((e) => e.nodeName === client.node && e.conditions?.ready !== false));
    const { summary, fix } = dropCause(input, state, walk, localReady);
    return step('rules', 'break', `${input.mode} on ${client.node}: ${walk.verdict} at ${walk.hooks.at(-1)}: ${summary}`, details, fix, data);
  }
  if (state.entry === 'pod') return step('rules', 'ok', `${input.mode} on ${client.node}: no Service rule applies; the packet is routed to the pod (${path})`, details, null, data);
  if (walk.dnat === null) {
    return step('rules', 'break', `${input.mode} on ${client.node}: no rule rewrote ${state.address}:${target.port}; the packet leaves unchanged and nothing answers there`, details, 'check the Service port and that kube-proxy runs on the node', data);
  }
  state.dnat = walk.dnat;
  const masq = walk.masquerade ? `, masqueraded to the node's address${client.hostNetwork ? ' (host traffic comes from outside --cluster-cidr)' : ''}` : '';
  return step('rules', 'ok', `${input.mode} on ${client.node}: DNAT ${state.address}:${target.port} -> ${walk.dnat}${masq} (${path})`, details, null, data);
}

function dropCause(input: WhyInput, state: PathState, walk: NodeWalk, localReady: boolean): { summary: string; fix: string } {
  const svc = state.service;
  const last = walk.trace.at(-1) ?? '';
  const node = input.client.node;
  if (svc && state.entry === 'clusterIP' && svc.spec.internalTrafficPolicy === 'Local' && !localReady) {
    // iptables and nftables DROP ("has no local endpoints"); ipvs has a virtual server without real servers.
    return {
      summary: `internalTrafficPolicy: Local and no ready endpoint of ${svc.metadata.namespace}/${svc.metadata.name} on node ${node}, so kube-proxy ${walk.verdict === 'DROP' ? 'drops' : 'rejects'} it`,
      fix: `run a ready pod of the Service on ${node} (a DaemonSet), or set internalTrafficPolicy: Cluster`,
    };
  }
  if (svc && (svc.spec.loadBalancerSourceRanges ?? []).length > 0 && state.entry === 'loadBalancerIP') {
    return {
      summary: `the source ${input.client.sourceIP} is outside loadBalancerSourceRanges (${svc.spec.loadBalancerSourceRanges!.join(', ')})`,
      fix: `add the client's range to spec.loadBalancerSourceRanges`,
    };
  }
  if (svc && svc.spec.externalTrafficPolicy === 'Local' && (state.entry === 'nodePort' || state.entry === 'loadBalancerIP')) {
    return { summary: `externalTrafficPolicy: Local and no ready endpoint on node ${node}`, fix: `use a node with a ready endpoint, or set externalTrafficPolicy: Cluster` };
  }
  if (walk.verdict === 'REJECT') {
    return { summary: `the Service has no usable endpoint, so kube-proxy answers ICMP port unreachable (connection refused)`, fix: 'give the Service a ready endpoint (see the EndpointSlices step)' };
  }
  return { summary: `dropped by ${last || 'a rule'}`, fix: 'see the rule that dropped it' };
}
