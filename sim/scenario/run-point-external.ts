import { InputError } from '../io/input-error.ts';
import { US } from '../engine/time.ts';
import type { ModelConfig } from '../run/config.ts';
import { externalPorts } from '../run/external-run.ts';
import type { ServiceTypes } from '../run/external-services.ts';
import type { ResolvedScenario } from './schema.ts';

/**
 * The north-south part of run-point.ts: the synthetic Services' types and the `external:` clients,
 * mapped onto the model's config, and what runs do not simulate of them refused with the field named.
 */

/** Round trip between an external client and a node (assumption: a client in the same cloud region). */
const EXTERNAL_RTT_NS = 1000 * US;

/** cluster.serviceTypes when some Service is not ClusterIP-only (none: the field is left out, the run unchanged). */
export function serviceTypes(services: NonNullable<ResolvedScenario['cluster']['services']>): { serviceTypes?: ServiceTypes } {
  if (services.nodePort === 0 && services.loadBalancer === 0 && services.externalIPs === 0) return {};
  return {
    serviceTypes: {
      nodePort: services.nodePort,
      loadBalancer: services.loadBalancer,
      externalIPs: services.externalIPs,
      externalTrafficPolicy: services.externalTrafficPolicy,
      loadBalancerSourceRanges: services.loadBalancerSourceRanges,
    },
  };
}

/** ModelConfig.external from the scenario's `external:` section (absent: no field). */
export function externalClients(s: ResolvedScenario, cluster: ModelConfig['cluster']): { external?: ModelConfig['external'] } {
  const e = s.external;
  if (e === undefined) return {};
  // The comparison models (ebpf, userspace) have no model of node ports and load balancer addresses.
  if (s.proxy.mode === 'ebpf' || s.proxy.mode === 'userspace')
    throw new InputError('external', 'proxy.mode iptables, nftables or ipvs (runs model external traffic through kube-proxy\'s rules only)', s.proxy.mode);
  if (s.traffic.protocol !== 'tcp') throw new InputError('external', 'traffic.protocol tcp (external clients open TCP connections)', s.traffic.protocol);
  if (externalPorts({ cluster } as ModelConfig).length === 0)
    throw new InputError('external', 'Services reachable from outside: cluster.services.loadBalancer, nodePort or externalIPs above 0, or manifests with such Services', 'none');
  return {
    external: {
      connectionsPerSecond: e.connectionsPerSecond,
      nodePortShare: e.nodePortShare,
      outsideSourceRanges: e.outsideSourceRanges,
      terminatingFallback: e.terminatingFallback,
      connectTimeoutNs: e.connectTimeout,
      rttNs: EXTERNAL_RTT_NS,
      provider: e.provider,
      healthCheck: {
        ...(e.healthCheck?.interval !== undefined ? { intervalNs: e.healthCheck.interval } : {}),
        ...(e.healthCheck?.timeout !== undefined ? { timeoutNs: e.healthCheck.timeout } : {}),
        ...(e.healthCheck?.healthyThreshold !== undefined ? { healthyThreshold: e.healthCheck.healthyThreshold } : {}),
        ...(e.healthCheck?.unhealthyThreshold !== undefined ? { unhealthyThreshold: e.healthCheck.unhealthyThreshold } : {}),
      },
    },
  };
}
