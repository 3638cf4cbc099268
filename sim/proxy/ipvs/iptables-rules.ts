/**
 * The small fixed iptables rule set of kube-proxy's ipvs mode: a few chains whose rules match the
 * ipsets instead of listing services, so the rule count stays flat as services grow.
 *
 * Follows kubernetes/kubernetes pkg/proxy/ipvs/proxier.go: iptablesChains and iptablesJumpChain
 * (createAndLinkKubeChain), ipsetWithIptablesChain and writeIptablesRules / acceptIPVSTraffic. The
 * restore input is natChains, natRules, filterChains, filterRules, written with
 * `iptables-restore --noflush --counters`; the jumps from the built-in chains are added one by one
 * with EnsureRule(Prepend), so the later entries of iptablesJumpChain end up first.
 */
import type { IpsetContents } from './ipsets.ts';
import { KUBE_FORWARD, KUBE_MARK_MASQ, KUBE_POSTROUTING, KUBE_PROXY_FIREWALL, KUBE_SERVICES } from '../iptables/chain-names.ts';
import {
  IPSET_BY_NAME,
  KUBE_CLUSTER_IP,
  KUBE_EXTERNAL_IP,
  KUBE_EXTERNAL_IP_LOCAL,
  KUBE_HEALTH_CHECK_NODE_PORT,
  KUBE_IPVS_IPS,
  KUBE_LOAD_BALANCER,
  KUBE_LOAD_BALANCER_FW,
  KUBE_LOAD_BALANCER_LOCAL,
  KUBE_LOAD_BALANCER_SOURCE_CIDR,
  KUBE_LOAD_BALANCER_SOURCE_IP,
  KUBE_LOOP_BACK,
  KUBE_NODE_PORT_LOCAL_SCTP,
  KUBE_NODE_PORT_LOCAL_TCP,
  KUBE_NODE_PORT_LOCAL_UDP,
  KUBE_NODE_PORT_SCTP,
  KUBE_NODE_PORT_TCP,
  KUBE_NODE_PORT_UDP,
} from './ipsets.ts';

export const KUBE_SOURCE_RANGES_FIREWALL = 'KUBE-SOURCE-RANGES-FIREWALL';
export const KUBE_NODE_PORT = 'KUBE-NODE-PORT';
export const KUBE_LOAD_BALANCER_CHAIN = 'KUBE-LOAD-BALANCER';
export const KUBE_IPVS_FILTER = 'KUBE-IPVS-FILTER';
export const KUBE_IPVS_OUT_FILTER = 'KUBE-IPVS-OUT-FILTER';

type Table = 'nat' | 'filter';

/** iptablesChains: created (and flushed by the restore) on every sync. */
export const IPTABLES_CHAINS: readonly { table: Table; chain: string }[] = [
  { table: 'nat', chain: KUBE_SERVICES },
  { table: 'nat', chain: KUBE_POSTROUTING },
  { table: 'nat', chain: KUBE_NODE_PORT },
  { table: 'nat', chain: KUBE_LOAD_BALANCER_CHAIN },
  { table: 'nat', chain: KUBE_MARK_MASQ },
  { table: 'filter', chain: KUBE_FORWARD },
  { table: 'filter', chain: KUBE_NODE_PORT },
  { table: 'filter', chain: KUBE_PROXY_FIREWALL },
  { table: 'filter', chain: KUBE_SOURCE_RANGES_FIREWALL },
  { table: 'filter', chain: KUBE_IPVS_FILTER },
  { table: 'filter', chain: KUBE_IPVS_OUT_FILTER },
];

/** iptablesJumpChain, in kube-proxy's order. */
export const IPTABLES_JUMP_CHAINS: readonly { table: Table; from: string; to: string; comment: string }[] = [
  { table: 'nat', from: 'OUTPUT', to: KUBE_SERVICES, comment: 'kubernetes service portals' },
  { table: 'nat', from: 'PREROUTING', to: KUBE_SERVICES, comment: 'kubernetes service portals' },
  { table: 'nat', from: 'POSTROUTING', to: KUBE_POSTROUTING, comment: 'kubernetes postrouting rules' },
  { table: 'filter', from: 'FORWARD', to: KUBE_FORWARD, comment: 'kubernetes forwarding rules' },
  { table: 'filter', from: 'INPUT', to: KUBE_NODE_PORT, comment: 'kubernetes health check rules' },
  { table: 'filter', from: 'INPUT', to: KUBE_PROXY_FIREWALL, comment: 'kube-proxy firewall rules' },
  { table: 'filter', from: 'FORWARD', to: KUBE_PROXY_FIREWALL, comment: 'kube-proxy firewall rules' },
  { table: 'filter', from: 'INPUT', to: KUBE_IPVS_FILTER, comment: 'kubernetes ipvs access filter' },
  { table: 'filter', from: 'OUTPUT', to: KUBE_IPVS_OUT_FILTER, comment: 'kubernetes ipvs access filter' },
];

/** ipsetWithIptablesChain: sets matched by one rule each, in kube-proxy's order (local before non-local). */
const IPSET_WITH_CHAIN: readonly { set: string; table: Table; from: string; to: string; matchType: string; protocol: string }[] = [
  { set: KUBE_LOOP_BACK, table: 'nat', from: KUBE_POSTROUTING, to: 'MASQUERADE', matchType: 'dst,dst,src', protocol: '' },
  { set: KUBE_LOAD_BALANCER, table: 'nat', from: KUBE_SERVICES, to: KUBE_LOAD_BALANCER_CHAIN, matchType: 'dst,dst', protocol: '' },
  { set: KUBE_LOAD_BALANCER_LOCAL, table: 'nat', from: KUBE_LOAD_BALANCER_CHAIN, to: 'RETURN', matchType: 'dst,dst', protocol: '' },
  { set: KUBE_NODE_PORT_LOCAL_TCP, table: 'nat', from: KUBE_NODE_PORT, to: 'RETURN', matchType: 'dst', protocol: 'tcp' },
  { set: KUBE_NODE_PORT_TCP, table: 'nat', from: KUBE_NODE_PORT, to: KUBE_MARK_MASQ, matchType: 'dst', protocol: 'tcp' },
  { set: KUBE_NODE_PORT_LOCAL_UDP, table: 'nat', from: KUBE_NODE_PORT, to: 'RETURN', matchType: 'dst', protocol: 'udp' },
  { set: KUBE_NODE_PORT_UDP, table: 'nat', from: KUBE_NODE_PORT, to: KUBE_MARK_MASQ, matchType: 'dst', protocol: 'udp' },
  { set: KUBE_NODE_PORT_LOCAL_SCTP, table: 'nat', from: KUBE_NODE_PORT, to: 'RETURN', matchType: 'dst,dst', protocol: 'sctp' },
  { set: KUBE_NODE_PORT_SCTP, table: 'nat', from: KUBE_NODE_PORT, to: KUBE_MARK_MASQ, matchType: 'dst,dst', protocol: 'sctp' },
  { set: KUBE_LOAD_BALANCER_FW, table: 'filter', from: KUBE_PROXY_FIREWALL, to: KUBE_SOURCE_RANGES_FIREWALL, matchType: 'dst,dst', protocol: '' },
  { set: KUBE_LOAD_BALANCER_SOURCE_CIDR, table: 'filter', from: KUBE_SOURCE_RANGES_FIREWALL, to: 'RETURN', matchType: 'dst,dst,src', protocol: '' },
  { set: KUBE_LOAD_BALANCER_SOURCE_IP, table: 'filter', from: KUBE_SOURCE_RANGES_FIREWALL, to: 'RETURN', matchType: 'dst,dst,src', protocol: '' },
];

/** An LB VIP:port whose source ranges exclude the node: blocked from the node itself (issue 119656). */
export interface LbNoNodeAccess {
  ip: string;
  protocol: string;
  port: number;
}

export interface IpvsIptablesOptions {
  /** Go's "%#08x" of 1 << masqueradeBit: "0x00004000" for the default bit 14 (go-hex.ts). */
  masqueradeMark: string;
  masqueradeAll: boolean;
  /** --cluster-cidr for the ClusterCIDR local-traffic detector; absent: no detector. */
  clusterCIDR?: string;
  /** iptables supports MASQUERADE --random-fully. */
  randomFully: boolean;
}

function comment(set: string): string {
  return `"${IPSET_BY_NAME.get(set)!.comment}"`;
}

/**
 * The iptables-restore input of one sync (writeIptablesRules). `sets` are the ipsets' contents of
 * this sync: a set-matching rule is written only when its set is not empty.
 */
export function ipvsRestoreText(sets: IpsetContents, lbNoNodeAccess: readonly LbNoNodeAccess[], o: IpvsIptablesOptions): string[] {
  const nonEmpty = (name: string) => (sets.get(name)?.size ?? 0) > 0;
  const natChains = ['*nat'];
  const filterChains = ['*filter'];
  for (const c of IPTABLES_CHAINS) (c.table === 'nat' ? natChains : filterChains).push(`:${c.chain} - [0:0]`);

  const nat: string[] = [];
  const filter: string[] = [];
  // Connections to localhost leave KUBE-SERVICES at once.
  nat.push(`-A ${KUBE_SERVICES} -s 127.0.0.0/8 -j RETURN`);
  for (const s of IPSET_WITH_CHAIN) {
    if (!nonEmpty(s.set)) continue;
    const proto = s.protocol ? ` -p ${s.protocol}` : '';
    const line = `-A ${s.from}${proto} -m comment --comment ${comment(s.set)} -m set --match-set ${s.set} ${s.matchType} -j ${s.to}`;
    (s.table === 'nat' ? nat : filter).push(line);
  }
  if (nonEmpty(KUBE_CLUSTER_IP)) {
    const head = `-A ${KUBE_SERVICES} -m comment --comment ${comment(KUBE_CLUSTER_IP)} -m set --match-set ${KUBE_CLUSTER_IP}`;
    if (o.masqueradeAll) nat.push(`${head} dst,dst -j ${KUBE_MARK_MASQ}`);
    else if (o.clusterCIDR !== undefined) nat.push(`${head} dst,dst ! -s ${o.clusterCIDR} -j ${KUBE_MARK_MASQ}`);
    // Without a detector: masquerade node-originated traffic whose source is a VIP (bound on kube-ipvs0).
    else nat.push(`${head} src,dst -j ${KUBE_MARK_MASQ}`);
  }
  const externalIPRules = (head: string) => {
    nat.push(`${head} -m physdev ! --physdev-is-in -m addrtype ! --src-type LOCAL -j ACCEPT`);
    nat.push(`${head} -m addrtype --dst-type LOCAL -j ACCEPT`);
  };
  if (nonEmpty(KUBE_EXTERNAL_IP)) {
    const head = `-A ${KUBE_SERVICES} -m comment --comment ${comment(KUBE_EXTERNAL_IP)} -m set --match-set ${KUBE_EXTERNAL_IP} dst,dst`;
    nat.push(`${head} -j ${KUBE_MARK_MASQ}`);
    externalIPRules(head);
  }
  if (nonEmpty(KUBE_EXTERNAL_IP_LOCAL)) {
    externalIPRules(`-A ${KUBE_SERVICES} -m comment --comment ${comment(KUBE_EXTERNAL_IP_LOCAL)} -m set --match-set ${KUBE_EXTERNAL_IP_LOCAL} dst,dst`);
  }
  nat.push(`-A ${KUBE_SERVICES} -m addrtype --dst-type LOCAL -j ${KUBE_NODE_PORT}`);
  nat.push(`-A ${KUBE_LOAD_BALANCER_CHAIN} -j ${KUBE_MARK_MASQ}`);
  filter.push(`-A ${KUBE_SOURCE_RANGES_FIREWALL} -j DROP`);
  for (const e of lbNoNodeAccess) {
    filter.push(`-A ${KUBE_IPVS_OUT_FILTER} -s ${e.ip} -m ipvs --vaddr ${e.ip} --vproto ${e.protocol} --vport ${e.port} -j DROP`);
  }
  // acceptIPVSTraffic: traffic to a virtual service is accepted at the end of KUBE-SERVICES.
  for (const set of [KUBE_CLUSTER_IP, KUBE_LOAD_BALANCER]) {
    if (nonEmpty(set)) nat.push(`-A ${KUBE_SERVICES} -m set --match-set ${set} dst,dst -j ACCEPT`);
  }
  const mark = `${o.masqueradeMark}/${o.masqueradeMark}`;
  filter.push(`-A ${KUBE_FORWARD} -m comment --comment "kubernetes forwarding rules" -m mark --mark ${mark} -j ACCEPT`);
  filter.push(`-A ${KUBE_FORWARD} -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`);
  filter.push(`-A ${KUBE_NODE_PORT} -m comment --comment ${comment(KUBE_HEALTH_CHECK_NODE_PORT)} -m set --match-set ${KUBE_HEALTH_CHECK_NODE_PORT} dst -j ACCEPT`);
  // KUBE-IPVS-FILTER: no access to other ports of the host through a VIP (issue 72236).
  for (const set of [KUBE_LOAD_BALANCER, KUBE_CLUSTER_IP, KUBE_EXTERNAL_IP, KUBE_EXTERNAL_IP_LOCAL]) {
    filter.push(`-A ${KUBE_IPVS_FILTER} -m set --match-set ${set} dst,dst -j RETURN`);
  }
  filter.push(`-A ${KUBE_IPVS_FILTER} -m set --match-set ${KUBE_HEALTH_CHECK_NODE_PORT} dst -j RETURN`);
  filter.push(`-A ${KUBE_IPVS_FILTER} -m conntrack --ctstate NEW -m set --match-set ${KUBE_IPVS_IPS} dst -j REJECT`);
  nat.push(`-A ${KUBE_POSTROUTING} -m mark ! --mark ${mark} -j RETURN`);
  nat.push(`-A ${KUBE_POSTROUTING} -j MARK --xor-mark ${o.masqueradeMark}`);
  nat.push(`-A ${KUBE_POSTROUTING} -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE${o.randomFully ? ' --random-fully' : ''}`);
  nat.push(`-A ${KUBE_MARK_MASQ} -j MARK --or-mark ${o.masqueradeMark}`);
  filter.push('COMMIT');
  nat.push('COMMIT');
  return [...natChains, ...nat, ...filterChains, ...filter];
}

/**
 * iptables-restore input (without --noflush) for the state after createAndLinkKubeChain on a fresh
 * node: kube-proxy's chains exist and the built-in chains jump to them.
 */
export function ipvsBaseRulesRestoreText(): string {
  const out: string[] = [];
  for (const table of ['nat', 'filter'] as const) {
    out.push(`*${table}`);
    for (const c of IPTABLES_CHAINS) if (c.table === table) out.push(`:${c.chain} - [0:0]`);
    const jumps = IPTABLES_JUMP_CHAINS.filter((j) => j.table === table);
    for (let i = jumps.length - 1; i >= 0; i--) {
      const j = jumps[i]!;
      out.push(`-A ${j.from} -m comment --comment "${j.comment}" -j ${j.to}`);
    }
    out.push('COMMIT');
  }
  return out.join('\n') + '\n';
}
