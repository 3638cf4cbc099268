/**
 * What kube-proxy's nftables proxier decides about one service port at the head of its per-service
 * loop (syncProxyRules in pkg/proxy/nftables/proxier.go): the chains it uses — ensured in the
 * transaction here, in kube-proxy's order, so that the stale-chain cleanup sees them even when the
 * service is skipped — whether it has endpoints for internal and for external traffic, and the
 * no-endpoint verdicts.
 */
import type { Command } from '../../nftables/transaction.ts';
import type { Verdict } from '../../nftables/types.ts';
import type { Endpoint } from '../endpoint.ts';
import type { ServicePort } from '../service-port.ts';
import { externallyAccessible, usesClusterEndpoints, usesLocalEndpoints } from '../service-port.ts';
import type { CategorizedEndpoints } from '../topology.ts';
import { AFFINITY_PREFIX, ENDPOINT_PREFIX, EXTERNAL_PREFIX, FIREWALL_PREFIX, LOCAL_PREFIX, REJECT_CHAIN, SERVICE_PREFIX, type NftNameCache } from './chain-names.ts';
import { ensureChain } from './commands.ts';

export interface ServiceContext {
  sp: ServicePort;
  cat: CategorizedEndpoints;
  /** Unchanged in a partial sync: its map elements are checked, its chains not rewritten. */
  skip: boolean;
  affinity: boolean;
  /** Each reachable endpoint's chain name base (endpoint- and affinity- behind it). */
  epChain: Map<Endpoint, string>;
  hasEndpoints: boolean;
  hasInternalEndpoints: boolean;
  hasExternalEndpoints: boolean;
  clusterPolicyChain: string;
  usesClusterPolicyChain: boolean;
  localPolicyChain: string;
  usesLocalPolicyChain: boolean;
  internalTrafficChain: string;
  externalPolicyChain: string;
  externalTrafficChain: string;
  usesExternalTrafficChain: boolean;
  usesFWChain: boolean;
  fwChain: string;
  internalVerdict: Verdict;
  externalVerdict: Verdict;
  internalText: string;
  externalText: string;
}

/** What the proxier tracks across the service ports of one sync. */
export interface ActiveObjects {
  chains: Set<string>;
  affinitySets: Set<string>;
}

export function serviceContext(
  names: NftNameCache,
  tx: Command[],
  sp: ServicePort,
  cat: CategorizedEndpoints,
  skip: boolean,
  active: ActiveObjects,
): ServiceContext {
  const hasEndpoints = cat.hasAnyEndpoints;
  const base = names.serviceBase(sp);
  const affinity = sp.sessionAffinity === 'ClientIP';

  const epChain = new Map<Endpoint, string>();
  for (const ep of cat.allReachableEndpoints) {
    const eb = names.endpointBase(sp, ep);
    epChain.set(ep, eb);
    ensureChain(tx, ENDPOINT_PREFIX + eb, active.chains, skip);
    if (affinity) active.affinitySets.add(AFFINITY_PREFIX + eb);
  }

  const clusterPolicyChain = SERVICE_PREFIX + base;
  const usesClusterPolicyChain = cat.clusterEndpoints.length > 0 && usesClusterEndpoints(sp);
  if (usesClusterPolicyChain) ensureChain(tx, clusterPolicyChain, active.chains, skip);
  const localPolicyChain = LOCAL_PREFIX + base;
  const usesLocalPolicyChain = cat.localEndpoints.length > 0 && usesLocalEndpoints(sp);
  if (usesLocalPolicyChain) ensureChain(tx, localPolicyChain, active.chains, skip);

  let internalTrafficChain = clusterPolicyChain;
  let hasInternalEndpoints = hasEndpoints;
  if (sp.internalPolicyLocal) {
    internalTrafficChain = localPolicyChain;
    if (cat.localEndpoints.length === 0) hasInternalEndpoints = false;
  }
  let externalPolicyChain = clusterPolicyChain;
  let hasExternalEndpoints = hasEndpoints;
  if (sp.externalPolicyLocal) {
    externalPolicyChain = localPolicyChain;
    if (cat.localEndpoints.length === 0) hasExternalEndpoints = false;
  }
  const externalTrafficChain = EXTERNAL_PREFIX + base;
  const usesExternalTrafficChain = hasEndpoints && externallyAccessible(sp);
  if (usesExternalTrafficChain) ensureChain(tx, externalTrafficChain, active.chains, skip);

  return {
    sp,
    cat,
    skip,
    affinity,
    epChain,
    hasEndpoints,
    hasInternalEndpoints,
    hasExternalEndpoints,
    clusterPolicyChain,
    usesClusterPolicyChain,
    localPolicyChain,
    usesLocalPolicyChain,
    internalTrafficChain,
    externalPolicyChain,
    externalTrafficChain,
    usesExternalTrafficChain,
    // The firewall chain is ensured later, with the load-balancer elements (writeServiceElements).
    usesFWChain: sp.loadBalancerVIPs.length > 0 && sp.loadBalancerSourceRanges.length > 0,
    fwChain: FIREWALL_PREFIX + base,
    ...noEndpointVerdicts(hasEndpoints, hasInternalEndpoints, hasExternalEndpoints),
  };
}

/** REJECT (through reject-chain) without endpoints; DROP for a Local policy without a local endpoint. */
function noEndpointVerdicts(hasEndpoints: boolean, hasInternalEndpoints: boolean, hasExternalEndpoints: boolean) {
  let internalVerdict: Verdict = { code: 'accept' };
  let externalVerdict: Verdict = { code: 'accept' };
  let internalText = '';
  let externalText = '';
  if (!hasEndpoints) {
    internalVerdict = externalVerdict = { code: 'goto', chain: REJECT_CHAIN };
    internalText = externalText = `goto ${REJECT_CHAIN}`;
  } else {
    if (!hasInternalEndpoints) {
      internalVerdict = { code: 'drop' };
      internalText = 'drop';
    }
    if (!hasExternalEndpoints) {
      externalVerdict = { code: 'drop' };
      externalText = 'drop';
    }
  }
  return { internalVerdict, externalVerdict, internalText, externalText };
}
