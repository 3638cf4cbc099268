/**
 * setupNFTables (pkg/proxy/nftables/proxier.go): the fixed part of table `ip kube-proxy`, written
 * on every full sync — the base chains and the jumps from them, masquerading, the cluster-ips and
 * nodeport-ips sets, the no-endpoint, firewall and service dispatch maps and the rules that look
 * them up.
 */
import { InputError } from '../../io/input-error.ts';
import { tryParseIPv4 } from '../../net/ipv4.ts';
import type { Command } from '../../nftables/transaction.ts';
import type { BaseChainSpec, ChainType, Hook } from '../../nftables/types.ts';
import {
  CLUSTER_IPS_CHECK,
  CLUSTER_IPS_SET,
  FILTER_FORWARD,
  FILTER_INPUT,
  FILTER_OUTPUT,
  FILTER_OUTPUT_PRE_DNAT,
  FILTER_PREROUTING_PRE_DNAT,
  FIREWALL_CHECK,
  FIREWALL_IPS_MAP,
  KUBE_PROXY_TABLE,
  MARK_MASQ_CHAIN,
  MASQUERADING_CHAIN,
  NAT_OUTPUT,
  NAT_POSTROUTING,
  NAT_PREROUTING,
  NO_ENDPOINT_NODEPORTS_MAP,
  NO_ENDPOINT_SERVICES_MAP,
  NODEPORT_ENDPOINTS_CHECK,
  NODEPORT_IPS_SET,
  REJECT_CHAIN,
  SERVICE_ENDPOINTS_CHECK,
  SERVICE_IPS_MAP,
  SERVICE_NODEPORTS_MAP,
  SERVICES_CHAIN,
} from './chain-names.ts';
import { elementCommand, ensureChain, type RuleWriter } from './commands.ts';
import { NODEPORT_KEY, SERVICE_KEY } from './element-storage.ts';

/** knftables priorities: DNATPriority "dstnat" (-100), SNATPriority "srcnat" (100), FilterPriority "filter" (0). */
const BASE_CHAINS: readonly { name: string; type: ChainType; hook: Hook; priority: number }[] = [
  { name: FILTER_PREROUTING_PRE_DNAT, type: 'filter', hook: 'prerouting', priority: -110 },
  { name: FILTER_OUTPUT_PRE_DNAT, type: 'filter', hook: 'output', priority: -110 },
  { name: FILTER_INPUT, type: 'filter', hook: 'input', priority: 0 },
  { name: FILTER_FORWARD, type: 'filter', hook: 'forward', priority: 0 },
  { name: FILTER_OUTPUT, type: 'filter', hook: 'output', priority: 0 },
  { name: NAT_PREROUTING, type: 'nat', hook: 'prerouting', priority: -100 },
  { name: NAT_OUTPUT, type: 'nat', hook: 'output', priority: -100 },
  { name: NAT_POSTROUTING, type: 'nat', hook: 'postrouting', priority: 100 },
];

/** nftablesJumpChains: which base chain jumps to which top-level chain, with what extra match. */
const JUMP_CHAINS: readonly { dst: string; src: string; extra: string }[] = [
  { dst: NODEPORT_ENDPOINTS_CHECK, src: FILTER_INPUT, extra: 'ct state new' },
  { dst: SERVICE_ENDPOINTS_CHECK, src: FILTER_INPUT, extra: 'ct state new' },
  { dst: SERVICE_ENDPOINTS_CHECK, src: FILTER_FORWARD, extra: 'ct state new' },
  { dst: SERVICE_ENDPOINTS_CHECK, src: FILTER_OUTPUT, extra: 'ct state new' },
  { dst: FIREWALL_CHECK, src: FILTER_PREROUTING_PRE_DNAT, extra: 'ct state new' },
  { dst: FIREWALL_CHECK, src: FILTER_OUTPUT_PRE_DNAT, extra: 'ct state new' },
  { dst: SERVICES_CHAIN, src: NAT_OUTPUT, extra: '' },
  { dst: SERVICES_CHAIN, src: NAT_PREROUTING, extra: '' },
  { dst: MASQUERADING_CHAIN, src: NAT_POSTROUTING, extra: '' },
  { dst: CLUSTER_IPS_CHECK, src: FILTER_FORWARD, extra: 'ct state new' },
  { dst: CLUSTER_IPS_CHECK, src: FILTER_OUTPUT, extra: 'ct state new' },
];

const NO_LOCALHOST = 'ip daddr != 127.0.0.0/8';

const T = { family: 'ip' as const, table: KUBE_PROXY_TABLE };

export interface SetupOptions {
  /** The masquerade mark's text. */
  mark: string;
  /** The ServiceCIDRs, comma-separated ("" for none). */
  serviceCIDRs: string;
  nodePortIPs: readonly string[] | 'all';
}

/**
 * The fixed table. `recreateBaseChains` on the proxier's first setup: the base chains are added and
 * deleted once, so that changed properties (priority) do not fail the transaction.
 */
export function writeSetup(rules: RuleWriter, tx: Command[], o: SetupOptions, recreateBaseChains: boolean): void {
  tx.push({ verb: 'add', object: 'table', ...T, comment: 'rules for kube-proxy' });
  writeBaseChains(rules, tx, recreateBaseChains);
  writeMasquerading(rules, tx, o.mark);
  writeClusterIPsCheck(rules, tx, o.serviceCIDRs);
  writeNodePortIPs(tx, o.nodePortIPs);
  writeNoEndpointChecks(rules, tx, o.nodePortIPs);
  writeFirewallCheck(rules, tx);
  writeServiceDispatch(rules, tx, o.nodePortIPs);
}

function writeBaseChains(rules: RuleWriter, tx: Command[], recreate: boolean): void {
  if (recreate) {
    for (const bc of BASE_CHAINS) {
      tx.push({ verb: 'add', object: 'chain', ...T, name: bc.name });
      tx.push({ verb: 'delete', object: 'chain', ...T, name: bc.name });
    }
  }
  for (const bc of BASE_CHAINS) {
    const base: BaseChainSpec = { type: bc.type, hook: bc.hook, priority: bc.priority, policy: 'accept' };
    tx.push({ verb: 'add', object: 'chain', ...T, name: bc.name, base });
    tx.push({ verb: 'flush', object: 'chain', ...T, name: bc.name });
  }
  const setupChains = new Set<string>();
  for (const j of JUMP_CHAINS) {
    ensureChain(tx, j.dst, setupChains, false);
    rules.add(tx, j.src, `${j.extra ? j.extra + ' ' : ''}jump ${j.dst}`);
  }
  for (const c of [SERVICES_CHAIN, CLUSTER_IPS_CHECK, MASQUERADING_CHAIN, MARK_MASQ_CHAIN]) ensureChain(tx, c, setupChains, false);
}

function writeMasquerading(rules: RuleWriter, tx: Command[], mark: string): void {
  rules.add(tx, MARK_MASQ_CHAIN, `mark set mark or ${mark}`);
  rules.add(tx, MASQUERADING_CHAIN, `mark and ${mark} == 0 return`);
  rules.add(tx, MASQUERADING_CHAIN, `mark set mark xor ${mark}`);
  rules.add(tx, MASQUERADING_CHAIN, 'masquerade fully-random');
}

function writeClusterIPsCheck(rules: RuleWriter, tx: Command[], serviceCIDRs: string): void {
  tx.push({ verb: 'add', object: 'set', ...T, name: CLUSTER_IPS_SET, keyType: ['ipv4_addr'], comment: 'Active ClusterIPs' });
  rules.add(tx, CLUSTER_IPS_CHECK, `ip daddr @${CLUSTER_IPS_SET} reject comment "Reject traffic to invalid ports of ClusterIPs"`);
  if (serviceCIDRs) rules.add(tx, CLUSTER_IPS_CHECK, `ip daddr { ${serviceCIDRs} } drop comment "Drop traffic to unallocated ClusterIPs"`);
}

function writeNodePortIPs(tx: Command[], nodePortIPs: readonly string[] | 'all'): void {
  tx.push({ verb: 'add', object: 'set', ...T, name: NODEPORT_IPS_SET, keyType: ['ipv4_addr'], comment: 'IPs that accept NodePort traffic' });
  if (nodePortIPs === 'all') {
    tx.push({ verb: 'delete', object: 'set', ...T, name: NODEPORT_IPS_SET });
    return;
  }
  tx.push({ verb: 'flush', object: 'set', ...T, name: NODEPORT_IPS_SET });
  for (const ip of nodePortIPs) {
    const v = tryParseIPv4(ip);
    if (v === undefined) throw new InputError('--nodeport-addresses', 'IPv4 addresses', JSON.stringify(ip));
    if (v >>> 24 === 127) continue; // localhost NodePorts are not supported in nftables mode
    tx.push(elementCommand('add', NODEPORT_IPS_SET, { key: [v] }));
  }
}

function writeNoEndpointChecks(rules: RuleWriter, tx: Command[], nodePortIPs: readonly string[] | 'all'): void {
  tx.push({ verb: 'add', object: 'map', ...T, name: NO_ENDPOINT_SERVICES_MAP, keyType: SERVICE_KEY, dataType: 'verdict', comment: 'vmap to drop or reject packets to services with no endpoints' });
  tx.push({ verb: 'add', object: 'map', ...T, name: NO_ENDPOINT_NODEPORTS_MAP, keyType: NODEPORT_KEY, dataType: 'verdict', comment: 'vmap to drop or reject packets to service nodeports with no endpoints' });
  tx.push({ verb: 'add', object: 'chain', ...T, name: REJECT_CHAIN, comment: 'helper for @no-endpoint-services / @no-endpoint-nodeports' });
  tx.push({ verb: 'flush', object: 'chain', ...T, name: REJECT_CHAIN });
  rules.add(tx, REJECT_CHAIN, 'reject');
  rules.add(tx, SERVICE_ENDPOINTS_CHECK, `ip daddr . meta l4proto . th dport vmap @${NO_ENDPOINT_SERVICES_MAP}`);
  if (nodePortIPs === 'all') rules.add(tx, NODEPORT_ENDPOINTS_CHECK, `${NO_LOCALHOST} meta l4proto . th dport vmap @${NO_ENDPOINT_NODEPORTS_MAP}`);
  else rules.add(tx, NODEPORT_ENDPOINTS_CHECK, `ip daddr @${NODEPORT_IPS_SET} meta l4proto . th dport vmap @${NO_ENDPOINT_NODEPORTS_MAP}`);
}

function writeFirewallCheck(rules: RuleWriter, tx: Command[]): void {
  tx.push({ verb: 'add', object: 'map', ...T, name: FIREWALL_IPS_MAP, keyType: SERVICE_KEY, dataType: 'verdict', comment: 'destinations that are subject to LoadBalancerSourceRanges' });
  rules.add(tx, FIREWALL_CHECK, `ip daddr . meta l4proto . th dport vmap @${FIREWALL_IPS_MAP}`);
}

function writeServiceDispatch(rules: RuleWriter, tx: Command[], nodePortIPs: readonly string[] | 'all'): void {
  tx.push({ verb: 'add', object: 'map', ...T, name: SERVICE_IPS_MAP, keyType: SERVICE_KEY, dataType: 'verdict', comment: 'ClusterIP, ExternalIP and LoadBalancer IP traffic' });
  tx.push({ verb: 'add', object: 'map', ...T, name: SERVICE_NODEPORTS_MAP, keyType: NODEPORT_KEY, dataType: 'verdict', comment: 'NodePort traffic' });
  rules.add(tx, SERVICES_CHAIN, `ip daddr . meta l4proto . th dport vmap @${SERVICE_IPS_MAP}`);
  if (nodePortIPs === 'all') rules.add(tx, SERVICES_CHAIN, `fib daddr type local ${NO_LOCALHOST} meta l4proto . th dport vmap @${SERVICE_NODEPORTS_MAP}`);
  else rules.add(tx, SERVICES_CHAIN, `ip daddr @${NODEPORT_IPS_SET} meta l4proto . th dport vmap @${SERVICE_NODEPORTS_MAP}`);
}
