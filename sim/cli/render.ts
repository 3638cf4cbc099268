import type { Command } from 'commander';
import { InputError } from '../io/input-error.ts';
import { loadManifests, type ClusterManifests } from '../k8s/manifests.ts';
import type { EndpointSlice, Node } from '../k8s/objects.ts';
import { computeEndpointSlices } from '../k8s/static-endpoints.ts';
import { LABEL_TOPOLOGY_ZONE } from '../k8s/pod-endpoint.ts';
import { tryParseIPv4 } from '../net/ipv4.ts';
import { renderIptablesSave } from '../netfilter/iptables-save.ts';
import { proxyStateFromObjects } from '../proxy/from-api.ts';
import { nodeRuleset } from '../proxy/iptables/node-ruleset.ts';
import { renderIpvsMode } from '../proxy/ipvs/render.ts';
import { renderNftablesMode } from '../proxy/nftables/render.ts';
import type { ProxyState } from '../proxy/proxy-state.ts';
import { addExamples } from './examples.ts';

/**
 * `svcsim render --mode iptables|nftables|ipvs --cluster MANIFESTS.yaml [--node NAME] [--node-ip IP]
 * [--cluster-cidr CIDR]`: what one node's kube-proxy would program for these Services and
 * EndpointSlices, in the kernel tools' own text:
 * - iptables: iptables-save; with --restore, the iptables-restore input kube-proxy writes on a full sync;
 * - nftables: `nft list ruleset`; with --transaction, the `nft -f` input kube-proxy sends;
 * - ipvs: `ipvsadm -Ln`, then `ipset save`, then iptables-save of the fixed rules matching the sets;
 *   with --restore, the iptables-restore input instead of the iptables-save; --ipvs-scheduler picks
 *   the scheduler (kube-proxy's --ipvs-scheduler, rr by default).
 *
 * Endpoints: the manifests' EndpointSlices as given; when the manifests also carry Pods, the slices
 * the EndpointSlice controller would converge to for them (what `svcsim endpoints` prints).
 * The node: --node names it (endpoints with that nodeName are local); its IP and zone come from
 * the Node object when the manifests have one, unless --node-ip is given.
 */
export interface RenderOptions {
  mode: string;
  cluster: string[];
  node?: string;
  nodeIp?: string;
  clusterCidr?: string;
  masqueradeAll?: boolean;
  restore?: boolean;
  transaction?: boolean;
  ipvsScheduler?: string;
  /** nftables: the cluster's ServiceCIDRs (kube-proxy reads them from ServiceCIDR objects). */
  serviceCidr?: string[];
}

export const RENDER_MODES = ['iptables', 'nftables', 'ipvs'] as const;

interface NodeFacts {
  name: string;
  ip: string | undefined;
  zone: string;
}

function nodeFacts(m: ClusterManifests, opts: RenderOptions): NodeFacts {
  let node: Node | undefined;
  if (opts.node !== undefined) {
    if (opts.node === '') throw new InputError('--node', 'a node name', '""');
    node = m.nodes.find((n) => n.metadata.name === opts.node);
    if (!node && m.nodes.length > 0) {
      const names = m.nodes.map((n) => n.metadata.name).slice(0, 10).join(', ');
      throw new InputError('--node', `one of the Nodes in the manifests (${names})`, JSON.stringify(opts.node));
    }
  } else if (m.nodes.length === 1) {
    node = m.nodes[0];
  }
  if (opts.nodeIp !== undefined && tryParseIPv4(opts.nodeIp) === undefined) {
    throw new InputError('--node-ip', 'an IPv4 address like 192.168.0.2', JSON.stringify(opts.nodeIp));
  }
  const internal = node?.status?.addresses?.find((a) => a.type === 'InternalIP' && tryParseIPv4(a.address) !== undefined);
  return {
    name: opts.node ?? node?.metadata.name ?? '',
    ip: opts.nodeIp ?? internal?.address,
    zone: node?.metadata.labels?.[LABEL_TOPOLOGY_ZONE] ?? '',
  };
}

function endpointSlices(m: ClusterManifests): EndpointSlice[] {
  return m.pods.length > 0 ? computeEndpointSlices(m) : m.endpointSlices;
}

/** The node's state as its kube-proxy sees it once every watch has caught up. */
export function renderState(m: ClusterManifests, node: NodeFacts): ProxyState {
  return proxyStateFromObjects(m.services, endpointSlices(m), node.name);
}

/** Renders; returns the output in chunks (a full sync of a large cluster is hundreds of MB). */
export function runRender(opts: RenderOptions): string[] {
  if (!(RENDER_MODES as readonly string[]).includes(opts.mode)) {
    throw new InputError('--mode', RENDER_MODES.join(', '), JSON.stringify(opts.mode));
  }
  // Flags that belong to another mode are mistakes, not silently ignored.
  if (opts.restore && opts.mode === 'nftables') {
    throw new InputError('--restore', 'iptables or ipvs mode (nftables mode has --transaction)', '--mode nftables');
  }
  if (opts.transaction && opts.mode !== 'nftables') {
    throw new InputError('--transaction', 'nftables mode', `--mode ${opts.mode}`);
  }
  // Only the nftables proxier uses the ServiceCIDRs: its service-ips check drops traffic to
  // unallocated ClusterIPs (pkg/proxy/nftables/proxier.go, fed by the ServiceCIDR informer's
  // OnServiceCIDRsChanged). The iptables and ipvs proxiers ignore them, so the flag is refused there.
  if (opts.serviceCidr !== undefined && opts.mode !== 'nftables') {
    throw new InputError('--service-cidr', 'nftables mode', `--mode ${opts.mode}`);
  }
  if (opts.ipvsScheduler !== undefined && opts.mode !== 'ipvs') {
    throw new InputError('--ipvs-scheduler', 'ipvs mode', `--mode ${opts.mode}`);
  }
  const m = loadManifests(opts.cluster);
  const node = nodeFacts(m, opts);
  const state = renderState(m, node);
  switch (opts.mode) {
    case 'iptables': {
      const { ruleset, sync } = nodeRuleset(state, {
        nodeName: node.name,
        nodeIP: node.ip,
        zone: node.zone,
        clusterCIDR: opts.clusterCidr,
        masqueradeAll: opts.masqueradeAll ?? false,
      });
      return opts.restore ? sync.chunks : [renderIptablesSave(ruleset)];
    }
    case 'nftables': {
      const r = renderNftablesMode(state, {
        nodeName: node.name,
        nodeIP: node.ip,
        zone: node.zone,
        clusterCIDR: opts.clusterCidr,
        masqueradeAll: opts.masqueradeAll ?? false,
        ...(opts.serviceCidr !== undefined ? { serviceCIDRs: opts.serviceCidr } : {}),
      });
      return [opts.transaction ? r.transaction : r.ruleset];
    }
    default: {
      const r = renderIpvsMode(state, {
        nodeName: node.name,
        nodeIP: node.ip,
        zone: node.zone,
        clusterCIDR: opts.clusterCidr,
        masqueradeAll: opts.masqueradeAll ?? false,
        scheduler: opts.ipvsScheduler,
      });
      return [r.ipvsadm, r.ipsets, opts.restore ? r.restore : r.iptablesSave];
    }
  }
}

export function registerRender(program: Command): void {
  const command = program
    .command('render')
    .description("Print what one node's kube-proxy would program for the Services and EndpointSlices in the manifests")
    .requiredOption('--mode <mode>', 'kube-proxy mode: iptables, nftables or ipvs')
    .requiredOption('--cluster <file...>', 'Kubernetes manifests (YAML stream or kind: List, as kubectl get -o yaml prints them)')
    .option('--node <name>', "the node whose rules to print (endpoints with this nodeName are local)")
    .option('--node-ip <ip>', "the node's IPv4 address (default: the Node's InternalIP)")
    .option('--cluster-cidr <cidr>', "kube-proxy's --cluster-cidr: traffic from outside it to a ClusterIP is masqueraded")
    .option('--masquerade-all', "kube-proxy's --masquerade-all")
    .option('--restore', 'iptables, ipvs: print the iptables-restore input of a full sync instead of iptables-save')
    .option('--transaction', 'nftables: print the nft -f transaction kube-proxy sends instead of nft list ruleset')
    .option('--service-cidr <cidr...>', 'nftables: the ServiceCIDRs; traffic to unallocated ClusterIPs in them is dropped')
    .option('--ipvs-scheduler <name>', 'ipvs: the scheduler (rr, wrr, lc, wlc, sh, dh, sed, nq, mh; default rr)')
    .action((opts: RenderOptions) => {
      for (const chunk of runRender(opts)) process.stdout.write(chunk);
    });
  addExamples(command, [
    { say: "Print node-b's nftables ruleset", run: ['svcsim render --mode nftables --cluster test/golden/render/cluster.yaml --node node-b'] },
    { say: 'Print the iptables-restore input of a full iptables sync on node-b', run: ['svcsim render --mode iptables --cluster test/golden/render/cluster.yaml --node node-b --restore'] },
  ]);
}
