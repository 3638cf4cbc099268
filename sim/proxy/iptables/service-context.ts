/**
 * What kube-proxy's iptables proxier decides about one service port before writing any of its rules
 * (the head of the per-service loop of syncProxyRules in pkg/proxy/iptables/proxier.go): which
 * chains it uses, whether it has endpoints for internal and for external traffic, and the filter
 * verdict (REJECT, or DROP for a Local policy without a local endpoint) when it has none.
 */
import type { Endpoint } from '../endpoint.ts';
import type { ServicePort } from '../service-port.ts';
import { externallyAccessible, usesClusterEndpoints, usesLocalEndpoints } from '../service-port.ts';
import { lowerProtocol, type ChainNameCache, type EndpointChainNames, type ServicePortChains } from './chain-names.ts';

export interface ServiceContext {
  sp: ServicePort;
  name: string;
  proto: string;
  chains: ServicePortChains;
  sepNames: EndpointChainNames;
  hasEndpoints: boolean;
  hasInternalEndpoints: boolean;
  hasExternalEndpoints: boolean;
  usesClusterPolicyChain: boolean;
  usesLocalPolicyChain: boolean;
  internalTrafficChain: string;
  externalPolicyChain: string;
  usesExternalTrafficChain: boolean;
  usesFWChain: boolean;
  loadBalancerTrafficChain: string;
  internalFilterTarget: string;
  internalFilterComment: string;
  externalFilterTarget: string;
  externalFilterComment: string;
}

export function serviceContext(
  names: ChainNameCache,
  sp: ServicePort,
  clusterEndpoints: readonly Endpoint[],
  localEndpoints: readonly Endpoint[],
  hasEndpoints: boolean,
): ServiceContext {
  const chains = names.servicePortChains(sp.nameString, sp.protocol);
  const usesClusterPolicyChain = clusterEndpoints.length > 0 && usesClusterEndpoints(sp);
  const usesLocalPolicyChain = localEndpoints.length > 0 && usesLocalEndpoints(sp);
  let internalTrafficChain = chains.svc;
  let hasInternalEndpoints = hasEndpoints;
  if (sp.internalPolicyLocal) {
    internalTrafficChain = chains.svl;
    if (localEndpoints.length === 0) hasInternalEndpoints = false;
  }
  let externalPolicyChain = chains.svc;
  let hasExternalEndpoints = hasEndpoints;
  if (sp.externalPolicyLocal) {
    externalPolicyChain = chains.svl;
    if (localEndpoints.length === 0) hasExternalEndpoints = false;
  }
  // The EXT chain exists whenever the service has endpoints anywhere, even with none usable for
  // external traffic, because it carries the short-circuit rules for pod and host traffic.
  const usesExternalTrafficChain = hasEndpoints && externallyAccessible(sp);
  const usesFWChain = hasEndpoints && sp.loadBalancerVIPs.length > 0 && sp.loadBalancerSourceRanges.length > 0;
  const name = sp.nameString;
  let internalFilterTarget = '';
  let internalFilterComment = '';
  let externalFilterTarget = '';
  let externalFilterComment = '';
  if (!hasEndpoints) {
    internalFilterTarget = externalFilterTarget = 'REJECT';
    internalFilterComment = externalFilterComment = `"${name} has no endpoints"`;
  } else {
    if (!hasInternalEndpoints) {
      internalFilterTarget = 'DROP';
      internalFilterComment = `"${name} has no local endpoints"`;
    }
    if (!hasExternalEndpoints) {
      externalFilterTarget = 'DROP';
      externalFilterComment = `"${name} has no local endpoints"`;
    }
  }
  return {
    sp,
    name,
    proto: lowerProtocol(sp.protocol),
    chains,
    sepNames: names.endpointChains(name, sp.protocol),
    hasEndpoints,
    hasInternalEndpoints,
    hasExternalEndpoints,
    usesClusterPolicyChain,
    usesLocalPolicyChain,
    internalTrafficChain,
    externalPolicyChain,
    usesExternalTrafficChain,
    usesFWChain,
    loadBalancerTrafficChain: usesFWChain ? chains.fw : chains.ext,
    internalFilterTarget,
    internalFilterComment,
    externalFilterTarget,
    externalFilterComment,
  };
}
