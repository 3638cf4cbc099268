/**
 * A service port's own chains, which a partial sync rewrites only for services that changed: the
 * masquerade check of its internal traffic chain, its external- chain, its firewall- chain
 * (loadBalancerSourceRanges), its affinity- sets, its service- and local- chains
 * (writeServiceToEndpointRules: affinity lookups, then `numgen random mod N vmap`) and one endpoint-
 * chain per reachable endpoint. The per-service loop of syncProxyRules and
 * writeServiceToEndpointRules in pkg/proxy/nftables/proxier.go, in their order.
 */
import { cidrContains, formatCidr, tryParseCidr } from '../../net/ipv4.ts';
import type { Command } from '../../nftables/transaction.ts';
import type { Endpoint } from '../endpoint.ts';
import { AFFINITY_PREFIX, ENDPOINT_PREFIX, KUBE_PROXY_TABLE, MARK_MASQ_CHAIN } from './chain-names.ts';
import type { RuleWriter } from './commands.ts';
import type { ServiceContext } from './service-context.ts';

/** The proxier's options these rules read. */
export interface ServiceChainOptions {
  masqueradeAll: boolean;
  /** --cluster-cidr, as printed. */
  localCidr: string | undefined;
  nodeIP: number | undefined;
}

export function writeServiceChains(rules: RuleWriter, tx: Command[], o: ServiceChainOptions, c: ServiceContext): void {
  const { sp, cat, epChain } = c;
  if (c.hasInternalEndpoints) {
    if (o.masqueradeAll) rules.add(tx, c.internalTrafficChain, `ip daddr ${sp.clusterIP} jump ${MARK_MASQ_CHAIN}`);
    else if (o.localCidr) rules.add(tx, c.internalTrafficChain, `ip daddr ${sp.clusterIP} ip saddr != ${o.localCidr} jump ${MARK_MASQ_CHAIN}`);
  }
  if (c.usesExternalTrafficChain) writeExternalChain(rules, tx, o, c);
  if (c.usesFWChain) writeFirewallChain(rules, tx, o, c);
  if (c.affinity) writeAffinitySets(tx, c);
  if (c.usesClusterPolicyChain) writeServiceToEndpointRules(rules, tx, c, c.clusterPolicyChain, cat.clusterEndpoints, epChain);
  if (c.usesLocalPolicyChain) writeServiceToEndpointRules(rules, tx, c, c.localPolicyChain, cat.localEndpoints, epChain);
  writeEndpointChains(rules, tx, c);
}

function writeExternalChain(rules: RuleWriter, tx: Command[], o: ServiceChainOptions, c: ServiceContext): void {
  const chain = c.externalTrafficChain;
  if (!c.sp.externalPolicyLocal) {
    rules.add(tx, chain, `jump ${MARK_MASQ_CHAIN}`);
  } else {
    if (o.localCidr) rules.add(tx, chain, `ip saddr ${o.localCidr} goto ${c.clusterPolicyChain} comment "short-circuit pod traffic"`);
    rules.add(tx, chain, `fib saddr type local jump ${MARK_MASQ_CHAIN} comment "masquerade local traffic"`);
    rules.add(tx, chain, `fib saddr type local goto ${c.clusterPolicyChain} comment "short-circuit local traffic"`);
  }
  if (c.hasExternalEndpoints) rules.add(tx, chain, `goto ${c.externalPolicyChain}`);
}

function writeFirewallChain(rules: RuleWriter, tx: Command[], o: ServiceChainOptions, c: ServiceContext): void {
  const sp = c.sp;
  const sources: string[] = [];
  let allowFromNode = false;
  for (const r of sp.loadBalancerSourceRanges) {
    const cidr = tryParseCidr(r.trim());
    if (!cidr) continue;
    sources.push(formatCidr(cidr));
    if (o.nodeIP !== undefined && cidrContains(cidr, o.nodeIP)) allowFromNode = true;
  }
  if (allowFromNode) sources.push(...sp.loadBalancerVIPs);
  rules.add(tx, c.fwChain, `ip saddr != { ${sources.join(' , ')} } drop`);
}

/** One affinity- set per reachable endpoint, re-added on every sync of the service. */
function writeAffinitySets(tx: Command[], c: ServiceContext): void {
  for (const ep of c.cat.allReachableEndpoints) {
    tx.push({
      verb: 'add',
      object: 'set',
      family: 'ip',
      table: KUBE_PROXY_TABLE,
      name: AFFINITY_PREFIX + c.epChain.get(ep)!,
      keyType: ['ipv4_addr'],
      flags: ['dynamic', 'timeout'],
      timeoutNs: c.sp.stickyMaxAgeSeconds * 1e9,
    });
  }
}

function writeServiceToEndpointRules(rules: RuleWriter, tx: Command[], c: ServiceContext, chain: string, endpoints: readonly Endpoint[], epChain: Map<Endpoint, string>): void {
  if (c.affinity) {
    for (const ep of endpoints) {
      const b = epChain.get(ep)!;
      rules.add(tx, chain, `ip saddr @${AFFINITY_PREFIX}${b} goto ${ENDPOINT_PREFIX}${b}`);
    }
  }
  const elements = endpoints.map((ep, i) => `${i} : goto ${ENDPOINT_PREFIX}${epChain.get(ep)!}`).join(' , ');
  rules.add(tx, chain, `numgen random mod ${endpoints.length} vmap { ${elements} }`);
}

/** One endpoint- chain per reachable endpoint: the hairpin masquerade, the affinity update, the DNAT. */
function writeEndpointChains(rules: RuleWriter, tx: Command[], c: ServiceContext): void {
  const protocol = c.sp.protocol.toLowerCase();
  for (const ep of c.cat.allReachableEndpoints) {
    const b = c.epChain.get(ep)!;
    const chain = ENDPOINT_PREFIX + b;
    rules.add(tx, chain, `ip saddr ${ep.ip} jump ${MARK_MASQ_CHAIN}`);
    if (c.affinity) rules.add(tx, chain, `update @${AFFINITY_PREFIX}${b} { ip saddr }`);
    rules.add(tx, chain, `meta l4proto ${protocol} dnat to ${ep.endpoint}`);
  }
}
