/**
 * The Kubernetes API objects the simulator needs, shaped and named exactly as the API serves them
 * (k8s.io/api core/v1, discovery/v1, apps/v1), so that YAML from `kubectl get -o yaml` maps onto these
 * types field for field. Only the fields the model reads are declared; anything else in a manifest is
 * ignored, not rejected.
 *
 * Objects are treated as immutable versions: the API server stores one frozen version per
 * resourceVersion, and every watcher receives a reference to that same version (no per-watcher copies).
 * Code that changes an object builds a new one.
 *
 * Timestamps stay RFC 3339 strings as the API writes them (`deletionTimestamp`, `lastTransitionTime`);
 * the dynamic models keep the simulated instants in nanoseconds beside the objects, not inside them.
 */

/** Where: k8s.io/apimachinery/pkg/apis/meta/v1 ObjectMeta. */
export interface ObjectMeta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  uid?: string;
  /** Opaque to clients; here the decimal string of the API server's counter at the last write. */
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  /** Set when a graceful delete starts; the object stays until its finalizers/grace period end. */
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  ownerReferences?: OwnerReference[];
  generateName?: string;
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface TypeMeta {
  apiVersion: string;
  kind: string;
}

export type Protocol = 'TCP' | 'UDP' | 'SCTP';

// ---------------------------------------------------------------------------------------------------
// core/v1 Node

export interface NodeCondition {
  type: 'Ready' | 'MemoryPressure' | 'DiskPressure' | 'PIDPressure' | 'NetworkUnavailable' | string;
  status: ConditionStatus;
  lastHeartbeatTime?: string;
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface NodeAddress {
  type: 'InternalIP' | 'ExternalIP' | 'Hostname' | 'InternalDNS' | 'ExternalDNS';
  address: string;
}

export interface Node extends TypeMeta {
  apiVersion: 'v1';
  kind: 'Node';
  metadata: ObjectMeta;
  spec: {
    podCIDR?: string;
    podCIDRs?: string[];
    providerID?: string;
    unschedulable?: boolean;
    taints?: { key: string; value?: string; effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute' }[];
  };
  status?: {
    addresses?: NodeAddress[];
    conditions?: NodeCondition[];
    /** Resource quantities (`cpu: "4"`, `"3500m"`): what the topology cache shares zones by. */
    allocatable?: Record<string, string>;
  };
}

// ---------------------------------------------------------------------------------------------------
// core/v1 Pod

export interface ContainerPort {
  name?: string;
  containerPort: number;
  protocol?: Protocol; // defaults to TCP
  hostPort?: number;
  hostIP?: string;
}

/** core/v1 Probe: the timing fields the kubelet's prober uses (pkg/kubelet/prober/worker.go). */
export interface Probe {
  httpGet?: { path?: string; port: number | string; scheme?: 'HTTP' | 'HTTPS' };
  tcpSocket?: { port: number | string };
  exec?: { command: string[] };
  grpc?: { port: number; service?: string };
  /** Defaults: initialDelaySeconds 0, periodSeconds 10, timeoutSeconds 1, successThreshold 1, failureThreshold 3. */
  initialDelaySeconds?: number;
  periodSeconds?: number;
  timeoutSeconds?: number;
  successThreshold?: number;
  failureThreshold?: number;
}

export interface Container {
  name: string;
  image?: string;
  ports?: ContainerPort[];
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  startupProbe?: Probe;
}

export type PodPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';

export interface PodCondition {
  type: 'Ready' | 'ContainersReady' | 'Initialized' | 'PodScheduled' | 'PodReadyToStartContainers' | string;
  status: ConditionStatus;
  lastProbeTime?: string | null;
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

export interface PodIP {
  ip: string;
}

export interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  nodeName?: string;
  /** Defaults to 30 (core/v1 DefaultTerminationGracePeriodSeconds). */
  terminationGracePeriodSeconds?: number;
  hostNetwork?: boolean;
  hostname?: string;
  subdomain?: string;
  /** Defaults to ClusterFirst (core/v1 defaults.go); read by kubelet's GetPodDNS. */
  dnsPolicy?: 'ClusterFirst' | 'ClusterFirstWithHostNet' | 'Default' | 'None';
  dnsConfig?: { nameservers?: string[]; searches?: string[]; options?: { name: string; value?: string }[] };
  restartPolicy?: 'Always' | 'OnFailure' | 'Never';
}

export interface PodStatus {
  phase?: PodPhase;
  conditions?: PodCondition[];
  podIP?: string;
  podIPs?: PodIP[];
  hostIP?: string;
  startTime?: string;
  containerStatuses?: { name: string; ready: boolean; restartCount: number; started?: boolean }[];
}

export interface Pod extends TypeMeta {
  apiVersion: 'v1';
  kind: 'Pod';
  metadata: ObjectMeta;
  spec: PodSpec;
  status?: PodStatus;
}

// ---------------------------------------------------------------------------------------------------
// core/v1 Service

export type ServiceType = 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'ExternalName';

export interface ServicePort {
  name?: string;
  protocol?: Protocol; // defaults to TCP
  appProtocol?: string;
  port: number;
  /** A number, or the name of a container port resolved per pod (defaults to `port`). */
  targetPort?: number | string;
  nodePort?: number;
}

export interface ServiceSpec {
  type?: ServiceType; // defaults to ClusterIP
  clusterIP?: string; // "None" for headless
  clusterIPs?: string[];
  ipFamilies?: ('IPv4' | 'IPv6')[];
  ipFamilyPolicy?: 'SingleStack' | 'PreferDualStack' | 'RequireDualStack';
  ports?: ServicePort[];
  /** Absent/empty selector: the controller does not manage the Service's EndpointSlices. */
  selector?: Record<string, string>;
  sessionAffinity?: 'None' | 'ClientIP';
  sessionAffinityConfig?: { clientIP?: { timeoutSeconds?: number } }; // default 10800
  externalTrafficPolicy?: 'Cluster' | 'Local';
  internalTrafficPolicy?: 'Cluster' | 'Local';
  healthCheckNodePort?: number;
  loadBalancerIP?: string;
  loadBalancerSourceRanges?: string[];
  externalIPs?: string[];
  externalName?: string;
  publishNotReadyAddresses?: boolean;
  trafficDistribution?: string;
}

export interface LoadBalancerIngress {
  ip?: string;
  hostname?: string;
  ipMode?: 'VIP' | 'Proxy';
  ports?: { port: number; protocol: Protocol; error?: string }[];
}

export interface Service extends TypeMeta {
  apiVersion: 'v1';
  kind: 'Service';
  metadata: ObjectMeta;
  spec: ServiceSpec;
  status?: { loadBalancer?: { ingress?: LoadBalancerIngress[] } };
}

// ---------------------------------------------------------------------------------------------------
// discovery.k8s.io/v1 EndpointSlice

export type AddressType = 'IPv4' | 'IPv6' | 'FQDN';

export interface EndpointConditions {
  /** Pod Ready and not terminating (or publishNotReadyAddresses). */
  ready?: boolean;
  /** Pod Ready, regardless of terminating. */
  serving?: boolean;
  /** Pod has a deletionTimestamp. */
  terminating?: boolean;
}

export interface ObjectReference {
  kind?: string;
  namespace?: string;
  name?: string;
  uid?: string;
  resourceVersion?: string;
}

export interface EndpointHints {
  forZones?: { name: string }[];
  forNodes?: { name: string }[];
}

export interface Endpoint {
  addresses: string[];
  conditions?: EndpointConditions;
  hostname?: string;
  targetRef?: ObjectReference;
  nodeName?: string;
  zone?: string;
  hints?: EndpointHints;
}

export interface EndpointPort {
  name?: string; // "" when the Service port is unnamed
  protocol?: Protocol;
  port?: number;
  appProtocol?: string;
}

export interface EndpointSlice extends TypeMeta {
  apiVersion: 'discovery.k8s.io/v1';
  kind: 'EndpointSlice';
  metadata: ObjectMeta;
  addressType: AddressType;
  endpoints: Endpoint[];
  ports?: EndpointPort[];
}

/** Labels and annotations the EndpointSlice controller sets (discovery/v1 well-known names). */
export const LABEL_SERVICE_NAME = 'kubernetes.io/service-name';
export const LABEL_MANAGED_BY = 'endpointslice.kubernetes.io/managed-by';
export const CONTROLLER_NAME = 'endpointslice-controller.k8s.io';
export const ANNOTATION_LAST_CHANGE_TRIGGER_TIME = 'endpoints.kubernetes.io/last-change-trigger-time';
export const LABEL_HEADLESS = 'service.kubernetes.io/headless';

// ---------------------------------------------------------------------------------------------------
// apps/v1 Deployment and ReplicaSet (enough for rollouts)

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }[];
}

export interface PodTemplateSpec {
  metadata?: Partial<ObjectMeta>;
  spec: PodSpec;
}

export interface DeploymentStrategy {
  type?: 'RollingUpdate' | 'Recreate';
  /** Int or percentage string; defaults 25% / 25% (apps/v1 defaults). */
  rollingUpdate?: { maxSurge?: number | string; maxUnavailable?: number | string };
}

export interface Deployment extends TypeMeta {
  apiVersion: 'apps/v1';
  kind: 'Deployment';
  metadata: ObjectMeta;
  spec: {
    replicas?: number; // default 1
    selector: LabelSelector;
    template: PodTemplateSpec;
    strategy?: DeploymentStrategy;
    minReadySeconds?: number;
    revisionHistoryLimit?: number;
    progressDeadlineSeconds?: number;
    paused?: boolean;
  };
  status?: {
    observedGeneration?: number;
    replicas?: number;
    updatedReplicas?: number;
    readyReplicas?: number;
    availableReplicas?: number;
    unavailableReplicas?: number;
  };
}

export interface ReplicaSet extends TypeMeta {
  apiVersion: 'apps/v1';
  kind: 'ReplicaSet';
  metadata: ObjectMeta;
  spec: {
    replicas?: number;
    selector: LabelSelector;
    template: PodTemplateSpec;
    minReadySeconds?: number;
  };
  status?: { replicas?: number; readyReplicas?: number; availableReplicas?: number; observedGeneration?: number };
}

/** Any object the simulator reads or serves. */
export type KubeObject = Node | Pod | Service | EndpointSlice | Deployment | ReplicaSet;
export type Kind = KubeObject['kind'];

/** What `kubectl get -o yaml` prints for several objects. */
export interface List<T extends KubeObject = KubeObject> {
  apiVersion: 'v1';
  kind: 'List';
  items: T[];
  metadata?: { resourceVersion?: string };
}

// ---------------------------------------------------------------------------------------------------
// Helpers that only read objects (no behaviour lives here).

/** `namespace/name`, the key the API server and informers use (cache.MetaNamespaceKeyFunc). */
export function objectKey(meta: ObjectMeta): string {
  return (meta.namespace ? meta.namespace + '/' : '') + meta.name;
}

/** The status of a pod condition, or undefined when the pod does not carry it. */
export function podCondition(pod: Pod, type: string): ConditionStatus | undefined {
  const c = pod.status?.conditions;
  if (!c) return undefined;
  for (let i = 0; i < c.length; i++) if (c[i]!.type === type) return c[i]!.status;
  return undefined;
}

/** podutil.IsPodReady: the Ready condition is True. */
export function isPodReady(pod: Pod): boolean {
  return podCondition(pod, 'Ready') === 'True';
}

/** Default grace period (core/v1 DefaultTerminationGracePeriodSeconds = 30). */
export const DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS = 30;
/** Default ClientIP affinity timeout (core/v1 DefaultClientIPServiceAffinitySeconds = 10800). */
export const DEFAULT_CLIENT_IP_AFFINITY_SECONDS = 10800;
