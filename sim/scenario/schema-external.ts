import { z } from 'zod';
import { issueText } from './issue-text.ts';
import { count, duration, fraction } from './schema-fields.ts';
import { PRESETS, PRESET_NAMES, type PresetName } from '../cloud/presets.ts';

/**
 * North-south traffic: the Service types and external fields of the synthetic cluster's Services
 * (spread into `cluster.services`), and the `external:` section, the clients outside the cluster and
 * the cloud load balancers in front of it. Without any of these fields a run is what it was.
 */

const CIDR_PATTERN = /^\s*\d{1,3}(\.\d{1,3}){3}\/\d{1,2}\s*$/;

/**
 * Fields of `cluster.services`. Services are given types by share, in index order: the first
 * `loadBalancer` share are type LoadBalancer, the next `nodePort` share type NodePort, the next
 * `externalIPs` share ClusterIP Services with one spec.externalIPs address; the rest stay ClusterIP.
 */
export const externalServiceFields = {
  nodePort: fraction('Share of the Services of type NodePort (spec.type NodePort; each port gets a nodePort from 30000-32767). Default 0.').default(0),
  loadBalancer: fraction(
    'Share of the Services of type LoadBalancer: a nodePort each (allocateLoadBalancerNodePorts defaults to true) and a load balancer address in status.loadBalancer.ingress, with a cloud load balancer in front when the run has `external:` traffic. Default 0.',
  ).default(0),
  externalIPs: fraction('Share of the Services with one spec.externalIPs address (ClusterIP type otherwise). Default 0.').default(0),
  externalTrafficPolicy: z
    .union([
      z.enum(['Cluster', 'Local']),
      z.strictObject({ Local: fraction('Share of the externally reachable Services with Local, in index order.') }),
    ])
    .default('Cluster')
    .describe(
      'spec.externalTrafficPolicy of the NodePort, LoadBalancer and externalIPs Services, or the share of them with Local, e.g. { Local: 0.5 } (the first half of them in index order). Cluster: any node forwards to any endpoint and masquerades the client address; Local: a node forwards only to its own endpoints, keeps the client address, and drops at a node without one (LoadBalancer Services then get a healthCheckNodePort). Default Cluster.',
    ),
  loadBalancerSourceRanges: z
    .array(z.string().regex(CIDR_PATTERN, { error: () => issueText({ expected: 'an IPv4 CIDR such as "203.0.113.0/24"' }) }))
    .default([])
    .describe('spec.loadBalancerSourceRanges of the LoadBalancer Services: client addresses outside every range are dropped on the load balancer address (not on the node port). Default: none (all allowed).'),
};

/** Cloud load balancer health checks: a provider's preset for the Service's externalTrafficPolicy, or custom values. */
const healthCheckSchema = z
  .strictObject({
    interval: duration('Time between two probes of one node.').optional(),
    timeout: duration('A probe without an answer in this time fails.').optional(),
    healthyThreshold: count('Consecutive successful probes that make an unhealthy node healthy.').optional(),
    unhealthyThreshold: count('Consecutive failed probes that make a healthy node unhealthy.').optional(),
  })
  .describe('Overrides of the preset\'s probe settings.');

export const externalSchema = z
  .strictObject({
    connectionsPerSecond: z.number().positive().describe('New connections per second from clients outside the cluster, in total (open loop, Poisson), spread uniformly over the NodePort, LoadBalancer and externalIPs Services.'),
    nodePortShare: fraction(
      'Share of the connections to LoadBalancer Services that go straight to a node\'s NodeIP:nodePort (a node chosen uniformly) instead of through the load balancer. Connections to NodePort Services always do. Default 0.',
    ).default(0),
    outsideSourceRanges: fraction('Share of the external clients whose address is outside cluster.services.loadBalancerSourceRanges (when set). Default 0.').default(0),
    terminatingFallback: z
      .boolean()
      .default(true)
      .describe(
        'kube-proxy uses serving-terminating endpoints when no Ready one is left (KEP-1669 ProxyTerminatingEndpoints, GA in 1.28): cluster-wide for eTP Cluster, the node\'s own for eTP Local. false: only Ready endpoints, as before (for external traffic only: ClusterIP traffic keeps the fallback). Default true.',
      ),
    connectTimeout: duration('An external client gives up a connection with no answer after this. Default 1s.').prefault('1s'),
    provider: z
      .enum(PRESET_NAMES as [PresetName, ...PresetName[]])
      .default('gcp')
      .describe(`The cloud load balancer's health checks and behaviour with no healthy node, a provider's preset (sim/cloud/presets.ts): ${PRESET_NAMES.map((n) => `${n} (${PRESETS[n].description})`).join('; ')}. Default gcp.`),
    healthCheck: healthCheckSchema.optional(),
  })
  .describe('Clients outside the cluster and the cloud load balancers in front of its LoadBalancer Services. Absent: no external traffic.');

export type ResolvedExternal = z.output<typeof externalSchema>;

/** The shares of Service types add up to at most 1 (the rest are ClusterIP). */
export function checkServiceShares(s: { nodePort: number; loadBalancer: number; externalIPs: number }, ctx: z.core.$RefinementCtx): void {
  if (s.nodePort + s.loadBalancer + s.externalIPs > 1 + 1e-12) {
    ctx.addIssue({ code: 'custom', path: ['externalIPs'], input: s.externalIPs, message: issueText({ expected: 'nodePort + loadBalancer + externalIPs at most 1 (the rest are ClusterIP Services)' }) });
  }
}
