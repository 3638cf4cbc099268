import { DEFAULT_COSTS } from '../cost/cost-model.ts';
import { walkPath } from '../host/packet-path.ts';
import type { IpvsProtocol } from '../ipvs/types.ts';
import { formatIPv4, parseIPv4 } from '../net/ipv4.ts';
import { makePacket, type Packet } from '../net/packet.ts';
import { IpsetRegistry } from '../netfilter/ipset.ts';
import type { LoadResult } from '../netfilter/iptables-save.ts';
import { CT_NEW, type Disposition } from '../netfilter/rule.ts';
import type { Hook } from '../netfilter/ruleset.ts';
import { IptablesTracer } from '../netfilter/trace.ts';
import type { FinalVerdict } from '../nftables/evaluate.ts';
import { CT_STATE_BITS } from '../nftables/key.ts';
import { NftTracer } from '../nftables/trace.ts';
import type { Hook as NftHook } from '../nftables/types.ts';
import { nodeRuleset } from '../proxy/iptables/node-ruleset.ts';
import { ipsetSave } from '../proxy/ipvs/ipsets.ts';
import { IpvsProxier } from '../proxy/ipvs/proxier.ts';
import { ipvsNodeRuleset } from '../proxy/ipvs/render.ts';
import { NftablesProxier } from '../proxy/nftables/proxier.ts';
import type { ProxyState } from '../proxy/proxy-state.ts';
import type { WhyMode } from './types.ts';

/**
 * One first packet through the client node's rules as kube-proxy leaves them after a full sync, in
 * each mode: the iptables and nftables rules walked by the kernel models along the hooks the packet
 * crosses (sim/host/packet-path.ts: a pod's packet arrives, PREROUTING; a host-network packet is
 * generated on the node, OUTPUT), and for ipvs the netfilter rules plus the IPVS table.
 */

export interface WalkSetup {
  mode: WhyMode;
  state: ProxyState;
  node: string;
  nodeIP: string | null;
  zone: string;
  clusterCIDR: string;
  /** The packet's addresses and ports. */
  proto: 'tcp' | 'udp';
  src: string;
  dst: string;
  dport: number;
  /** The packet is generated on the node (host network). */
  local: boolean;
}

export interface NodeWalk {
  hooks: string[];
  verdict: Disposition;
  /** ADDR:PORT after DNAT, or null. */
  dnat: string | null;
  masquerade: boolean;
  /** Each rule the packet matched or passed, "HOOK table:chain:N rule-text". */
  trace: string[];
  rulesVisited: number;
  /** ipvs: the virtual server that took the packet and the real server chosen. */
  ipvs: { virtualServer: string; realServer: string | null } | null;
}

/** An ephemeral source port (Linux's ip_local_port_range starts at 32768); any would do. */
export const CLIENT_SPORT = 43210;
/** The pods' side of the node: where a pod's packet comes in (the veth's name does not matter to the rules). */
const POD_IFACE = 'veth0';

function packet(s: WalkSetup): Packet {
  return makePacket({ proto: s.proto, src: parseIPv4(s.src), sport: CLIENT_SPORT, dst: parseIPv4(s.dst), dport: s.dport });
}

function localAddrs(s: WalkSetup, extra: readonly string[] = []): Set<number> {
  return new Set([...(s.nodeIP ? [s.nodeIP] : []), ...extra].map((ip) => parseIPv4(ip)));
}

const proxierOptions = (s: WalkSetup) => ({ nodeName: s.node, ...(s.nodeIP ? { nodeIP: s.nodeIP } : {}), zone: s.zone, clusterCIDR: s.clusterCIDR, masqueradeAll: false });

export function walkNode(s: WalkSetup): NodeWalk {
  switch (s.mode) {
    case 'iptables':
      return walkIptables(s);
    case 'nftables':
      return walkNftables(s);
    default:
      return walkIpvs(s);
  }
}

function iptablesTracer(loaded: LoadResult, p: Packet, local: Set<number>, ipsets: IpsetRegistry | null): IptablesTracer {
  return new IptablesTracer(loaded, p, { backend: 'legacy', costs: DEFAULT_COSTS, seed: 1, ctState: CT_NEW, localAddrs: local, ipsets });
}

function iptablesLines(t: IptablesTracer, verdict: Disposition): { trace: string[]; dnat: string | null; masquerade: boolean; rulesVisited: number } {
  const r = t.result(verdict);
  const trace = r.steps.filter((x) => x.type === 'rule').map((x) => `${x.hook} ${x.table}:${x.chain}:${x.rule}  ${x.text}`);
  return { trace, dnat: r.dnat, masquerade: r.masquerade, rulesVisited: r.rulesVisited };
}

function walkIptables(s: WalkSetup): NodeWalk {
  const { ruleset } = nodeRuleset(s.state, proxierOptions(s));
  const p = packet(s);
  const t = iptablesTracer({ ruleset, warnings: [], ruleLines: 0, lines: 0 }, p, localAddrs(s), null);
  const path = walkPath(t.hook, p, t.ctx, { inIface: s.local ? undefined : POD_IFACE, outIface: 'eth0' });
  return { hooks: path.hooks, verdict: path.verdict, ...iptablesLines(t, path.verdict), ipvs: null };
}

const DISPOSITION: Record<FinalVerdict, Disposition> = { accept: 'ACCEPT', drop: 'DROP', reject: 'REJECT' };

function walkNftables(s: WalkSetup): NodeWalk {
  const { ruleset } = new NftablesProxier(proxierOptions(s)).sync({ state: s.state, full: true });
  const p = packet(s);
  const t = new NftTracer(ruleset, p, { costs: DEFAULT_COSTS, seed: 1, ctState: CT_STATE_BITS.new!, localAddrs: localAddrs(s) });
  const path = walkPath((h) => DISPOSITION[t.hook(h.toLowerCase() as NftHook)], p, t.path, { inIface: s.local ? undefined : POD_IFACE, outIface: 'eth0' });
  const r = t.result();
  const trace = r.steps.map((x) => `${x.hook.toUpperCase()} ${x.table}:${x.chain}:${x.rule}  ${x.text}`);
  return { hooks: path.hooks, verdict: path.verdict, dnat: r.dnat, masquerade: r.masquerade, trace, rulesVisited: r.rulesVisited, ipvs: null };
}

/**
 * ipvs mode (torvalds/linux net/netfilter/ipvs/ip_vs_core.c; the hook order as in
 * sim/proxy/ipvs/testing/first-packet-walk.ts): every ClusterIP is bound to kube-ipvs0, so it is a
 * local address. A pod's packet: PREROUTING (nat), INPUT (filter), then IPVS at LOCAL_IN
 * (ip_vs_remote_request4) picks the real server and sends the packet out through OUTPUT (filter;
 * its NAT is settled) and POSTROUTING (nat: masquerade when marked). A packet the node generates:
 * OUTPUT (nat and filter), then IPVS at LOCAL_OUT (ip_vs_local_request4, after nat OUTPUT), then
 * POSTROUTING. No virtual server: the packet goes on to a local socket; a virtual server without
 * real servers: ICMP port unreachable (ip_vs_leave), a REJECT here.
 */
function walkIpvs(s: WalkSetup): NodeWalk {
  const proxier = new IpvsProxier(proxierOptions(s));
  const sync = proxier.sync(s.state);
  const ipsets = new IpsetRegistry();
  ipsets.restore(ipsetSave(proxier.ipsets), 'kube-proxy ipsets');
  const local = localAddrs(s, proxier.dummyAddresses);
  const p = packet(s);
  const t = iptablesTracer({ ruleset: ipvsNodeRuleset(sync), warnings: [], ruleLines: 0, lines: 0 }, p, local, ipsets);
  const hooks: Hook[] = [];
  let verdict: Disposition = 'ACCEPT';
  let ipvs: NodeWalk['ipvs'] = null;
  let ipvsDnat: string | null = null;
  const run = (hook: Hook, nat: boolean): boolean => {
    hooks.push(hook);
    t.ctx.firstPacket = nat;
    verdict = t.hook(hook);
    return verdict === 'ACCEPT';
  };
  /** The IPVS lookup and scheduling; false when the packet does not go on through the hooks. */
  const ipvsHook = (): boolean => {
    const e = proxier.table.get(p.proto.toUpperCase() as IpvsProtocol, p.dst, p.dport);
    if (!e) return true;
    const vs = `${formatIPv4(p.dst)}:${p.dport}`;
    const d = e.scheduler.schedule(e.vs, p.src, p.sport, p.dst);
    ipvs = { virtualServer: vs, realServer: d ? `${formatIPv4(d.addr)}:${d.port}` : null };
    if (!d) {
      verdict = 'REJECT';
      return false;
    }
    p.dst = d.addr;
    p.dport = d.port;
    ipvsDnat = ipvs.realServer;
    return true;
  };
  p.outIface = 'eth0';
  if (s.local) {
    if (run('OUTPUT', true) && ipvsHook()) run('POSTROUTING', true);
  } else {
    p.inIface = POD_IFACE;
    if (run('PREROUTING', true)) {
      if (!local.has(p.dst)) {
        if (run('FORWARD', false)) run('POSTROUTING', true);
      } else if (run('INPUT', false) && ipvsHook() && ipvs !== null) {
        if (run('OUTPUT', false)) run('POSTROUTING', true);
      }
    }
  }
  const lines = iptablesLines(t, verdict);
  return { hooks, verdict, ...lines, dnat: ipvsDnat ?? lines.dnat, ipvs };
}
