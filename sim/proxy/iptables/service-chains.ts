/**
 * A service port's own NAT chains, which a partial sync writes only for services that changed: the
 * masquerade check at the head of its SVC/SVL chain, its EXT chain (external traffic), its FW chain
 * (loadBalancerSourceRanges), its SVC and SVL chains (writeServiceToEndpointRules: affinity checks,
 * then the probability cascade) and one SEP chain per reachable endpoint. The per-service loop of
 * syncProxyRules and writeServiceToEndpointRules in pkg/proxy/iptables/proxier.go, in their order.
 */
import { cidrContains, formatCidr, parseCidr, type Cidr } from '../../net/ipv4.ts';
import type { Endpoint } from '../endpoint.ts';
import type { CategorizedEndpoints } from '../topology.ts';
import { KUBE_MARK_MASQ } from './chain-names.ts';
import { chainLine, type LineBuffer } from './line-buffer.ts';
import type { ResolvedIptablesOptions } from './options.ts';
import { probability } from './probability.ts';
import type { ServiceContext } from './service-context.ts';

/** Where a service port's chains go: the restore input, or the counting buffers of a skipped service. */
export interface ServiceChainsOutput {
  natChains: LineBuffer;
  natRules: LineBuffer;
  /** Collects every chain the service uses, written or skipped, so stale-chain cleanup keeps it. */
  active: Set<string>;
  /** Large-cluster mode: no per-endpoint comments. */
  large: boolean;
}

/** Parsed loadBalancerSourceRanges, kept per proxier: the same few strings recur on every sync. */
export type SourceRangeCache = Map<string, Cidr>;

export function writeServiceChains(
  o: ResolvedIptablesOptions,
  sourceRanges: SourceRangeCache,
  c: ServiceContext,
  cat: CategorizedEndpoints,
  out: ServiceChainsOutput,
): void {
  writeClusterIPMasquerade(o, c, out.natRules);
  if (c.usesExternalTrafficChain) writeExternalChain(o, c, out);
  if (c.usesFWChain) writeFirewallChain(o, sourceRanges, c, out);
  if (c.usesClusterPolicyChain) writePolicyChain(c, c.chains.svc, cat.clusterEndpoints, out);
  if (c.usesLocalPolicyChain) writePolicyChain(c, c.chains.svl, cat.localEndpoints, out);
  writeEndpointChains(c, cat.allReachableEndpoints, out);
}

function writeClusterIPMasquerade(o: ResolvedIptablesOptions, c: ServiceContext, natRules: LineBuffer): void {
  if (!c.hasInternalEndpoints) return;
  const { sp, name, proto } = c;
  const text = natRules.text;
  const head = `-A ${c.internalTrafficChain} -m comment --comment "${name} cluster IP" -m ${proto} -p ${proto} -d ${sp.clusterIP} --dport ${sp.port}`;
  if (o.masqueradeAll) {
    text ? natRules.write(`${head} -j ${KUBE_MARK_MASQ}`) : natRules.count();
  } else if (o.localCidr !== undefined) {
    // Masquerade off-cluster traffic to the VIP: it may have been routed here and bounce to another node.
    text ? natRules.write(`${head} ! -s ${o.localCidr} -j ${KUBE_MARK_MASQ}`) : natRules.count();
  }
}

function writeExternalChain(o: ResolvedIptablesOptions, c: ServiceContext, out: ServiceChainsOutput): void {
  const { sp, name, chains } = c;
  const { natChains, natRules } = out;
  const text = natRules.text;
  const ext = chains.ext;
  text ? natChains.write(chainLine(ext)) : natChains.count();
  out.active.add(ext);
  if (!sp.externalPolicyLocal) {
    text
      ? natRules.write(`-A ${ext} -m comment --comment "masquerade traffic for ${name} external destinations" -j ${KUBE_MARK_MASQ}`)
      : natRules.count();
  } else {
    if (o.localCidr !== undefined) {
      // Pod traffic to an external IP behaves as if it went out to the LB and back: Cluster policy.
      text
        ? natRules.write(`-A ${ext} -m comment --comment "pod traffic for ${name} external destinations" -s ${o.localCidr} -j ${chains.svc}`)
        : natRules.count();
    }
    if (text) {
      natRules.write(
        `-A ${ext} -m comment --comment "masquerade LOCAL traffic for ${name} external destinations" -m addrtype --src-type LOCAL -j ${KUBE_MARK_MASQ}`,
      );
      natRules.write(
        `-A ${ext} -m comment --comment "route LOCAL traffic for ${name} external destinations" -m addrtype --src-type LOCAL -j ${chains.svc}`,
      );
    } else natRules.count(2);
  }
  if (c.hasExternalEndpoints) text ? natRules.write(`-A ${ext} -j ${c.externalPolicyChain}`) : natRules.count();
}

function writeFirewallChain(o: ResolvedIptablesOptions, sourceRanges: SourceRangeCache, c: ServiceContext, out: ServiceChainsOutput): void {
  const { sp, name, chains } = c;
  const { natChains, natRules } = out;
  const text = natRules.text;
  const fw = chains.fw;
  text ? natChains.write(chainLine(fw)) : natChains.count();
  out.active.add(fw);
  const head = `-A ${fw} -m comment --comment "${name} loadbalancer IP"`;
  let allowFromNode = false;
  for (const r of sp.loadBalancerSourceRanges) {
    const cidr = sourceRange(sourceRanges, r);
    text ? natRules.write(`${head} -s ${formatCidr(cidr)} -j ${chains.ext}`) : natRules.count();
    if (o.nodeIP !== undefined && cidrContains(cidr, o.nodeIP)) allowFromNode = true;
  }
  // A VIP-style LB address is often local to the node; requests from the node to it then loop
  // back with the VIP as source, which must be let through.
  if (allowFromNode) {
    for (const ip of sp.loadBalancerVIPs) {
      text ? natRules.write(`${head} -s ${ip} -j ${chains.ext}`) : natRules.count();
    }
  }
  // Whatever falls off the end was not DNATed and is dropped by KUBE-PROXY-FIREWALL in filter.
  text ? natRules.write(`-A ${fw} -m comment --comment "other traffic to ${name} will be dropped by KUBE-PROXY-FIREWALL"`) : natRules.count();
}

function sourceRange(cache: SourceRangeCache, r: string): Cidr {
  let c = cache.get(r);
  if (!c) {
    c = parseCidr(r, 'spec.loadBalancerSourceRanges');
    cache.set(r, c);
  }
  return c;
}

/** An SVC or SVL chain: its declaration and writeServiceToEndpointRules. */
function writePolicyChain(c: ServiceContext, chain: string, endpoints: readonly Endpoint[], out: ServiceChainsOutput): void {
  out.natRules.text ? out.natChains.write(chainLine(chain)) : out.natChains.count();
  out.active.add(chain);
  writeServiceToEndpointRules(out.natRules, c, chain, endpoints, out.large);
}

/** writeServiceToEndpointRules: affinity checks first, then the probability cascade. */
function writeServiceToEndpointRules(natRules: LineBuffer, c: ServiceContext, chain: string, endpoints: readonly Endpoint[], large: boolean): void {
  const { sp, name } = c;
  const n = endpoints.length;
  const affinity = sp.sessionAffinity === 'ClientIP';
  if (!natRules.text) {
    natRules.count(affinity ? 2 * n : n);
    return;
  }
  if (affinity) {
    for (const ep of endpoints) {
      const sep = c.sepNames.get(ep.endpoint);
      const comment = large ? '' : ` -m comment --comment "${name} -> ${ep.endpoint}"`;
      natRules.write(`-A ${chain}${comment} -m recent --name ${sep} --rcheck --seconds ${sp.stickyMaxAgeSeconds} --reap -j ${sep}`);
    }
  }
  for (let i = 0; i < n; i++) {
    const ep = endpoints[i]!;
    const sep = c.sepNames.get(ep.endpoint);
    const comment = large ? '' : ` -m comment --comment "${name} -> ${ep.endpoint}"`;
    const stat = i < n - 1 ? ` -m statistic --mode random --probability ${probability(n - i)}` : '';
    natRules.write(`-A ${chain}${comment}${stat} -j ${sep}`);
  }
}

/** One SEP chain per reachable endpoint: the hairpin masquerade and the DNAT. */
function writeEndpointChains(c: ServiceContext, allReachable: readonly Endpoint[], out: ServiceChainsOutput): void {
  const { natChains, natRules, active, large } = out;
  const { name, proto } = c;
  const text = natRules.text;
  const affinity = c.sp.sessionAffinity === 'ClientIP';
  const sepNames = c.sepNames;
  for (const ep of allReachable) {
    const sep = sepNames.get(ep.endpoint);
    active.add(sep);
    if (!text) {
      natChains.count();
      natRules.count(2);
      continue;
    }
    natChains.write(chainLine(sep));
    const head = large ? `-A ${sep}` : `-A ${sep} -m comment --comment ${name}`;
    // Hairpin: a pod reaching itself through the service must be SNATed or the reply bypasses conntrack.
    natRules.write(`${head} -s ${ep.ip} -j ${KUBE_MARK_MASQ}`);
    natRules.write(`${head}${affinity ? ` -m recent --name ${sep} --set` : ''} -m ${proto} -p ${proto} -j DNAT --to-destination ${ep.endpoint}`);
  }
}
