import type { ClusterManifests } from '../k8s/manifests.ts';
import type { Pod, Service, ServicePort } from '../k8s/objects.ts';
import type { KubeletDnsSettings } from '../dns/resolv-conf.ts';
import type { ResolverLibrary } from '../dns/resolver-options.ts';

/**
 * `svcsim why`: the path from a client (a pod, or a node's host network) to a Service, checked in
 * the order operators check it (DNS, the Service and its port, the EndpointSlices, the client node's
 * rules, the endpoint), each step saying what it found. The step records are the --json output: a
 * stable shape, one object per step, `data` holding the step's own facts.
 */

export const WHY_MODES = ['iptables', 'nftables', 'ipvs'] as const;
export type WhyMode = (typeof WHY_MODES)[number];

export type StepName = 'dns' | 'service' | 'endpointslices' | 'rules' | 'endpoint';
/** ok; warning (works, but doubtful); break (the path fails here); skipped (an earlier step left nothing to check). */
export type StepStatus = 'ok' | 'warning' | 'break' | 'skipped';

export interface WhyStep {
  step: StepName;
  status: StepStatus;
  /** One line: what the step found. */
  summary: string;
  /** The evidence, one fact a line. */
  details: string[];
  /** For a break or a warning: what to change. */
  fix: string | null;
  data: Record<string, unknown>;
}

/** Where the connection starts. */
export interface Client {
  /** As given: NS/POD or node/NAME. */
  ref: string;
  kind: 'pod' | 'node';
  /** The pod, or for node/NAME nothing. */
  pod: Pod | null;
  /** The node the packet leaves from. */
  node: string;
  nodeIP: string | null;
  /** The packet's source address: the pod IP, or the node's for host-network traffic. */
  sourceIP: string;
  /** Host network: the packet is generated on the node (OUTPUT), not received from a pod (PREROUTING). */
  hostNetwork: boolean;
  /** The namespace short names are searched in (the pod's; "default" for a node, which searches none). */
  namespace: string;
}

/** What the application asks for: `http://web.shop`, `tcp://10.96.0.20:80`, `udp://dns:53`. */
export interface Target {
  url: string;
  scheme: 'http' | 'https' | 'tcp' | 'udp';
  host: string;
  /** The host is an IPv4 address: no lookup. */
  isAddress: boolean;
  port: number;
  protocol: 'TCP' | 'UDP';
}

export interface WhyInput {
  manifests: ClusterManifests;
  client: Client;
  target: Target;
  mode: WhyMode;
  resolver: ResolverLibrary;
  kubelet: KubeletDnsSettings;
  clusterCIDR: string;
}

/** What the steps hand on to the next. */
export interface PathState {
  /** The address the name resolved to (or the literal address). */
  address: string | null;
  /** The address came from a resolver outside the cluster: not a cluster name. */
  upstream: boolean;
  service: Service | null;
  servicePort: ServicePort | null;
  /** How the Service was reached: its ClusterIP, an external IP, a load-balancer IP, a node port. */
  entry: 'clusterIP' | 'externalIP' | 'loadBalancerIP' | 'nodePort' | 'pod' | null;
  /** Where the packet goes, ADDR:PORT: after the rules' DNAT, or the pod addressed directly. */
  dnat: string | null;
}

export interface WhyVerdict {
  reachable: boolean;
  /** The step that broke, or null. */
  step: StepName | null;
  message: string;
  fix: string | null;
}

export interface WhyReport {
  from: string;
  to: string;
  mode: WhyMode;
  client: { kind: Client['kind']; node: string; sourceIP: string; hostNetwork: boolean };
  steps: WhyStep[];
  verdict: WhyVerdict;
}

export function step(name: StepName, status: StepStatus, summary: string, details: string[] = [], fix: string | null = null, data: Record<string, unknown> = {}): WhyStep {
  return { step: name, status, summary, details, fix, data };
}

export function skipped(name: StepName, why: string): WhyStep {
  return step(name, 'skipped', why);
}
