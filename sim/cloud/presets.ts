import { SECOND, type Nanos } from '../engine/time.ts';

/**
 * Health-check settings of the cloud load balancers that cloud providers create for a Service of
 * type LoadBalancer, per provider and externalTrafficPolicy, as the providers' controllers write
 * them by default (no annotations). Each field's source is cited beside the preset.
 *
 * Which port a probe targets:
 * - `kube-proxy-healthz`: HTTP GET /healthz on kube-proxy's port 10256 (proxy_health.go): fails when
 *   kube-proxy is stale or the node is being deleted / tainted ToBeDeletedByClusterAutoscaler
 *   (KEP-3836). Used for eTP Cluster where the provider probes the node rather than the Service
 *   (KEP-3458 moved node draining onto these probes: the service controller no longer removes
 *   tainted or NotReady nodes from the backend pool; kubernetes/enhancements keps/sig-network/3458,
 *   GA v1.30).
 * - `health-check-node-port`: HTTP GET /healthz on spec.healthCheckNodePort (service_health.go):
 *   200 only with local Ready endpoints. Every provider uses it for eTP Local
 *   (k8s.io/cloud-provider service/helpers GetServiceHealthCheckPathPort).
 * - `traffic-port`: a TCP connect to the Service's nodePort: succeeds whenever the node's kernel
 *   accepts the connection through kube-proxy's rules.
 */
export type HealthCheckTarget = 'kube-proxy-healthz' | 'health-check-node-port' | 'traffic-port';

export interface HealthCheckSpec {
  /** Time between two probes of one node. */
  interval: Nanos;
  /** A probe without an answer fails after this long (at most `interval`). */
  timeout: Nanos;
  /** Consecutive successes that bring an unhealthy node back. */
  healthyThreshold: number;
  /** Consecutive failures that take a healthy node out. */
  unhealthyThreshold: number;
  target: HealthCheckTarget;
  protocol: 'HTTP' | 'TCP';
  /** HTTP path (HTTP probes). */
  path?: string;
  /** Fixed port (kube-proxy-healthz: 10256); the others use the Service's own port numbers. */
  port?: number;
}

/**
 * New connections when no node is healthy: `all` spreads them over every node in the pool (GCP
 * passthrough NLBs, AWS NLB "fail open"); `none` sends none (Azure Standard LB's default
 * NoHealthyBackendsBehavior AllProbedDown; AWS Classic ELB answers 503 with no healthy instance).
 */
export type WhenAllUnhealthy = 'all' | 'none';

export type ExternalTrafficPolicy = 'Cluster' | 'Local';

export interface LoadBalancerPreset {
  name: string;
  description: string;
  Cluster: HealthCheckSpec;
  Local: HealthCheckSpec;
  whenAllUnhealthy: WhenAllUnhealthy;
  /** Where each value comes from. */
  sources: readonly string[];
}

const S = SECOND;
const KUBE_PROXY = { target: 'kube-proxy-healthz', protocol: 'HTTP', path: '/healthz', port: 10256 } as const;
const HCNP = { target: 'health-check-node-port', protocol: 'HTTP', path: '/healthz' } as const;
const TRAFFIC = { target: 'traffic-port', protocol: 'TCP' } as const;

const GCP_DISTRIBUTION = 'https://cloud.google.com/load-balancing/docs/network/ext-netlb-traffic-distribution (when no backend is healthy, all backends are eligible: new connections go to all, as a last resort)';

export const PRESETS = {
  // GKE's L4 NetLB controller (backend-service based external passthrough NLB).
  gcp: {
    name: 'gcp',
    description: 'GKE external passthrough Network Load Balancer (backend service), ingress-gce L4 controller',
    Cluster: { interval: 8 * S, timeout: 1 * S, healthyThreshold: 1, unhealthyThreshold: 3, ...KUBE_PROXY },
    Local: { interval: 3 * S, timeout: 1 * S, healthyThreshold: 1, unhealthyThreshold: 2, ...HCNP },
    whenAllUnhealthy: 'all',
    sources: [
      'kubernetes/ingress-gce pkg/healthchecksl4/healthchecksl4.go: gceSharedHcCheckIntervalSeconds=8, gceLocalHcCheckIntervalSeconds=3, gceHcTimeoutSeconds=1, gceHcHealthyThreshold=1, gceSharedHcUnhealthyThreshold=3, gceLocalHcUnhealthyThreshold=2; the shared (eTP Cluster) check probes gce.GetNodesHealthCheckPath()/Port() (/healthz, 10256), the Local one GetServiceHealthCheckPathPort',
      GCP_DISTRIBUTION,
    ],
  },
  // The older target-pool NLB written by the in-tree / cloud-provider-gcp service controller.
  'gcp-target-pool': {
    name: 'gcp-target-pool',
    description: 'GCE target-pool Network Load Balancer (cloud-provider-gcp legacy external LB)',
    Cluster: { interval: 8 * S, timeout: 1 * S, healthyThreshold: 1, unhealthyThreshold: 3, ...KUBE_PROXY },
    Local: { interval: 8 * S, timeout: 1 * S, healthyThreshold: 1, unhealthyThreshold: 3, ...HCNP },
    whenAllUnhealthy: 'all',
    sources: [
      'kubernetes/cloud-provider-gcp providers/gce/gce.go: gceHcCheckIntervalSeconds=8, gceHcTimeoutSeconds=1, gceHcHealthyThreshold=1, gceHcUnhealthyThreshold=3 ("3 * 8 = 24 seconds before the LB will steer traffic away")',
      'providers/gce/gce_loadbalancer_external.go ensureExternalLoadBalancer: eTP Local -> makeHTTPHealthCheck(healthCheckNodePort path); otherwise the nodes health check GetNodesHealthCheckPath()/Port() (/healthz on 10256)',
      GCP_DISTRIBUTION,
    ],
  },
  'aws-nlb': {
    name: 'aws-nlb',
    description: 'AWS Network Load Balancer (cloud-provider-aws, service.beta.kubernetes.io/aws-load-balancer-type: nlb)',
    Cluster: { interval: 30 * S, timeout: 10 * S, healthyThreshold: 3, unhealthyThreshold: 3, ...TRAFFIC },
    Local: { interval: 10 * S, timeout: 10 * S, healthyThreshold: 2, unhealthyThreshold: 2, ...HCNP },
    whenAllUnhealthy: 'all',
    sources: [
      'kubernetes/cloud-provider-aws pkg/providers/v1/aws_loadbalancer.go: defaultNlbHealthCheckInterval=30, defaultNlbHealthCheckTimeout=10, defaultNlbHealthCheckThreshold=3 (healthy and unhealthy), defaultHealthCheckPort="traffic-port", protocol TCP; buildNLBHealthCheckConfiguration: eTP Local -> HTTP on healthCheckNodePort, interval 10, timeout 10, thresholds 2/2',
      'https://docs.aws.amazon.com/elasticloadbalancing/latest/network/target-group-health-checks.html (all targets unhealthy: the load balancer fails open)',
    ],
  },
  'aws-nlb-shared': {
    name: 'aws-nlb-shared',
    description: 'AWS NLB with ClusterServiceLoadBalancerHealthProbeMode Shared: eTP Cluster probes kube-proxy /healthz:10256',
    Cluster: { interval: 30 * S, timeout: 10 * S, healthyThreshold: 3, unhealthyThreshold: 3, ...KUBE_PROXY },
    Local: { interval: 10 * S, timeout: 10 * S, healthyThreshold: 2, unhealthyThreshold: 2, ...HCNP },
    whenAllUnhealthy: 'all',
    sources: [
      'kubernetes/cloud-provider-aws pkg/providers/v1/aws_loadbalancer.go buildNLBHealthCheckConfiguration, case ClusterServiceLoadBalancerHealthProbeModeShared: non-Local services use HTTP defaultKubeProxyHealthCheckPath "/healthz" on defaultKubeProxyHealthCheckPort 10256',
    ],
  },
  'aws-elb': {
    name: 'aws-elb',
    description: 'AWS Classic ELB (cloud-provider-aws default LoadBalancer)',
    Cluster: { interval: 10 * S, timeout: 5 * S, healthyThreshold: 2, unhealthyThreshold: 6, ...TRAFFIC },
    Local: { interval: 10 * S, timeout: 5 * S, healthyThreshold: 2, unhealthyThreshold: 6, ...HCNP },
    whenAllUnhealthy: 'none',
    sources: [
      'kubernetes/cloud-provider-aws pkg/providers/v1/aws_loadbalancer.go: defaultElbHCInterval=10, defaultElbHCTimeout=5, defaultElbHCHealthyThreshold=2, defaultElbHCUnhealthyThreshold=6; TCP on the node port, HTTP on healthCheckNodePort for eTP Local',
      'https://repost.aws/knowledge-center/503-error-classic (no healthy back-end instance: the Classic Load Balancer answers 503)',
    ],
  },
  azure: {
    name: 'azure',
    description: 'Azure Standard Load Balancer (cloud-provider-azure, probe mode servicenodeport)',
    // Azure has no probe timeout setting; a probe unanswered within the interval is taken as failed (assumption).
    Cluster: { interval: 5 * S, timeout: 5 * S, healthyThreshold: 2, unhealthyThreshold: 2, ...TRAFFIC },
    Local: { interval: 5 * S, timeout: 5 * S, healthyThreshold: 2, unhealthyThreshold: 2, ...HCNP },
    whenAllUnhealthy: 'none',
    sources: [
      'kubernetes-sigs/cloud-provider-azure pkg/consts/consts.go: HealthProbeDefaultProbeInterval=5, HealthProbeDefaultNumOfProbe=2 (written as ProbeThreshold), ClusterServiceLoadBalancerHealthProbeModeServiceNodePort the default mode',
      'https://learn.microsoft.com/en-us/azure/load-balancer/load-balancer-custom-probe-overview (probe threshold: consecutive successes or failures to allow or deny traffic)',
      'https://learn.microsoft.com/en-us/javascript/api/@azure/arm-network/knownprobenohealthybackendsbehavior (AllProbedDown, the default: no new flows when all instances are probed down)',
    ],
  },
  'azure-shared': {
    name: 'azure-shared',
    description: 'Azure Standard Load Balancer with clusterServiceLoadBalancerHealthProbeMode shared: eTP Cluster probes kube-proxy /healthz:10256',
    Cluster: { interval: 5 * S, timeout: 5 * S, healthyThreshold: 2, unhealthyThreshold: 2, ...KUBE_PROXY },
    Local: { interval: 5 * S, timeout: 5 * S, healthyThreshold: 2, unhealthyThreshold: 2, ...HCNP },
    whenAllUnhealthy: 'none',
    sources: [
      'kubernetes-sigs/cloud-provider-azure pkg/consts/consts.go: ClusterServiceLoadBalancerHealthProbeModeShared, ClusterServiceLoadBalancerHealthProbeDefaultPort=10256, ClusterServiceLoadBalancerHealthProbeDefaultPath="/healthz"; buildClusterServiceSharedProbe',
    ],
  },
} as const satisfies Record<string, LoadBalancerPreset>;

export type PresetName = keyof typeof PRESETS;
export const PRESET_NAMES = Object.keys(PRESETS) as PresetName[];

/** The health check a provider's load balancer runs for a Service with this policy. */
export function healthCheckFor(preset: LoadBalancerPreset, policy: ExternalTrafficPolicy): HealthCheckSpec {
  return preset[policy];
}

/** What is wrong with a health check (empty when it is valid): for programming errors and for `custom` input checks. */
export function healthCheckProblems(h: HealthCheckSpec): string[] {
  const out: string[] = [];
  const whole = (n: number) => Number.isInteger(n) && n >= 1;
  if (!(Number.isInteger(h.interval) && h.interval > 0)) out.push(`interval: expected a positive duration, found ${h.interval} ns`);
  if (!(Number.isInteger(h.timeout) && h.timeout >= 0 && h.timeout <= h.interval)) out.push(`timeout: expected a duration from 0 to the interval, found ${h.timeout} ns`);
  if (!whole(h.healthyThreshold)) out.push(`healthyThreshold: expected a whole number >= 1, found ${h.healthyThreshold}`);
  if (!whole(h.unhealthyThreshold)) out.push(`unhealthyThreshold: expected a whole number >= 1, found ${h.unhealthyThreshold}`);
  return out;
}
