/**
 * A Kubernetes node's host namespace as a bridge CNI plugin with host-gateway routing sets it up
 * (flannel host-gw, kubenet): the node address on the uplink, the bridge holding the first address of
 * the node's pod CIDR (so the pod CIDR is a connected route on the bridge), one route per peer node's
 * pod CIDR via that node's address, and optionally a default route (without one, a Service IP that no
 * interface owns is unreachable from the host before DNAT: ip_route_output fails ahead of OUTPUT).
 */
import type { RandomStream } from '../../engine/random.ts';
import type { CompiledRuleset } from '../../netfilter/compile.ts';
import type { ConntrackOptions } from '../../conntrack/store.ts';
import type { CostModel, IptablesBackend } from '../../cost/cost-model.ts';
import type { Cidr, IPv4 } from '../../net/ipv4.ts';
import { Node, type Route } from '../node.ts';

export interface PodNetworkNodeOptions {
  name: string;
  nodeIp: IPv4;
  /** Prefix length of the node network (the uplink's subnet), default 24. */
  nodePrefix?: number;
  podCidr: Cidr;
  /** The other nodes: their addresses and pod CIDRs. */
  peers: readonly { nodeIp: IPv4; podCidr: Cidr }[];
  /** Default gateway on the node network, if any. */
  gateway?: IPv4;
  ruleset: CompiledRuleset;
  conntrack: ConntrackOptions;
  costs?: CostModel;
  backend?: IptablesBackend;
  random?: RandomStream | null;
  uplink?: string;
  bridge?: string;
}

export function podNetworkNode(o: PodNetworkNodeOptions): Node {
  const uplink = o.uplink ?? 'eth0';
  const bridge = o.bridge ?? 'cni0';
  const routes: Route[] = o.peers.map((p) => ({ dst: p.podCidr, dev: uplink, via: p.nodeIp }));
  if (o.gateway !== undefined) routes.push({ dst: { addr: 0, prefix: 0, mask: 0 }, dev: uplink, via: o.gateway });
  return new Node({
    name: o.name,
    interfaces: [
      { name: uplink, addr: o.nodeIp, prefix: o.nodePrefix ?? 24 },
      { name: bridge, addr: (o.podCidr.addr + 1) >>> 0, prefix: o.podCidr.prefix },
    ],
    routes,
    conntrack: o.conntrack,
    ruleset: o.ruleset,
    costs: o.costs,
    backend: o.backend,
    random: o.random ?? null,
  });
}
