import { z } from 'zod';
import { InputError, combineInputErrors } from '../io/input-error.ts';
import { Problems } from '../io/problems.ts';
import { printableMessage } from '../io/excerpt.ts';
import { formatPath, locate, locatePosition, readYamlFile, parseYamlText, type YamlSource } from '../io/yaml-source.ts';
import { cidrSize, formatIPv4, parseIPv4 } from '../net/ipv4.ts';
import { parseNetworkCidr } from './ipam.ts';
import type { Deployment, EndpointSlice, KubeObject, Node, Pod, ReplicaSet, Service } from './objects.ts';
import { cpuMilli } from './cpu-quantity.ts';

/**
 * Reads Kubernetes manifests as `kubectl get -o yaml` prints them: a YAML stream of objects, or a
 * `kind: List` with `items`, or both. Fields the simulator reads are validated (zod); everything else
 * (managedFields, status fields we ignore...) passes through untouched. The API server's defaults that
 * the models rely on are applied here as the API server would (core/v1 defaults.go: Service port
 * protocol TCP, targetPort = port; container port protocol TCP; namespace "default").
 *
 * Every mistake names file:line:col, the document, the object and the field path; the independent
 * mistakes of a stream (each bad object, each bad field of an object) are reported together.
 */

export interface ClusterManifests {
  nodes: Node[];
  pods: Pod[];
  services: Service[];
  endpointSlices: EndpointSlice[];
  deployments: Deployment[];
  replicaSets: ReplicaSet[];
  /** Objects of kinds this tool skips (`Kind namespace/name`, in file order): a run lists them as ignored. */
  ignored?: string[];
}

export function emptyManifests(): ClusterManifests {
  return { nodes: [], pods: [], services: [], endpointSlices: [], deployments: [], replicaSets: [], ignored: [] };
}

// ---------------------------------------------------------------------------------------------------
// Schemas: the fields we read, with the words an operator would use for "expected".

const name = z.string({ error: 'a name (string)' }).min(1, { error: 'a non-empty name' });
const stringMap = z.record(z.string(), z.string({ error: 'a string value (quote numbers and booleans: "1", "true")' }), {
  error: 'a map of string to string',
});
const port = z
  .number({ error: 'a port number 1-65535' })
  .int({ error: 'a whole port number 1-65535' })
  .min(1, { error: 'a port number 1-65535' })
  .max(65535, { error: 'a port number 1-65535' });
const protocol = z.enum(['TCP', 'UDP', 'SCTP'], { error: 'one of TCP, UDP, SCTP' });
const nonNegInt = z.number({ error: 'a whole number >= 0' }).int({ error: 'a whole number >= 0' }).min(0, { error: 'a whole number >= 0' });
const posInt = z.number({ error: 'a whole number >= 1' }).int({ error: 'a whole number >= 1' }).min(1, { error: 'a whole number >= 1' });
const ipv4or6 = z
  .string({ error: 'an IP address' })
  .regex(/^(\d{1,3}(\.\d{1,3}){3}|[0-9a-fA-F:]+:[0-9a-fA-F:.]*)$/, { error: 'an IP address' });
const intOrPercent = z.union([nonNegInt, z.string().regex(/^\d+%$/)], { error: 'a whole number or a percentage such as "25%"' });

/**
 * IsValidPortName (k8s.io/apimachinery pkg/util/validation/validation.go), which the API server applies
 * to container port names and to a string targetPort: 1-15 characters of a-z, 0-9 and '-', at least one
 * letter (so "8080" is refused: a number must be written as a number), no leading, trailing or double
 * dash. The reason is the API's own wording.
 */
export function portNameProblem(s: string): string | undefined {
  if (s.length === 0 || s.length > 15) return 'must be no more than 15 characters';
  if (!/^[-a-z0-9]+$/.test(s)) return 'must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)';
  if (!/[a-z]/.test(s)) return 'must contain at least one letter (a-z)';
  if (s.includes('--')) return 'must not contain consecutive hyphens';
  if (s.startsWith('-') || s.endsWith('-')) return 'must not begin or end with a hyphen';
  return undefined;
}

function portNameIssue(s: string, ctx: z.RefinementCtx): void {
  const why = portNameProblem(s);
  if (why) ctx.addIssue({ code: 'custom', message: `a port number or a port name (IANA_SVC_NAME), which ${why}` });
}

const objectMeta = z.looseObject({
  name,
  namespace: name.optional(),
  labels: stringMap.optional(),
  annotations: stringMap.optional(),
  uid: z.string({ error: 'a string' }).optional(),
  resourceVersion: z.string({ error: 'a string' }).optional(),
  generation: nonNegInt.optional(),
  deletionTimestamp: z.string({ error: 'an RFC 3339 timestamp' }).optional(),
  deletionGracePeriodSeconds: nonNegInt.optional(),
});

const probe = z.looseObject({
  initialDelaySeconds: nonNegInt.optional(),
  periodSeconds: posInt.optional(),
  timeoutSeconds: posInt.optional(),
  successThreshold: posInt.optional(),
  failureThreshold: posInt.optional(),
});

const container = z.looseObject({
  name,
  ports: z
    .array(
      z.looseObject({
        name: z.string({ error: 'a port name (IANA_SVC_NAME)' }).superRefine(portNameIssue).optional(),
        containerPort: port,
        protocol: protocol.optional(),
      }),
      { error: 'a list of container ports' },
    )
    .optional(),
  readinessProbe: probe.optional(),
});

const podSpec = z.looseObject({
  containers: z.array(container, { error: 'a list of containers' }).min(1, { error: 'at least one container' }),
  initContainers: z.array(container).optional(),
  nodeName: z.string({ error: 'a node name' }).optional(),
  terminationGracePeriodSeconds: nonNegInt.optional(),
  hostname: z.string().optional(),
  subdomain: z.string().optional(),
  hostNetwork: z.boolean({ error: 'true or false' }).optional(),
  dnsPolicy: z.enum(['ClusterFirst', 'ClusterFirstWithHostNet', 'Default', 'None'], { error: 'one of ClusterFirst, ClusterFirstWithHostNet, Default, None' }).optional(),
  dnsConfig: z
    .looseObject({
      nameservers: z.array(ipv4or6, { error: 'a list of IP addresses' }).optional(),
      searches: z.array(z.string({ error: 'a search domain' }), { error: 'a list of search domains' }).optional(),
      options: z.array(z.looseObject({ name: z.string({ error: 'an option name' }).min(1, { error: 'an option name' }), value: z.string({ error: 'a string value (quote numbers: "2")' }).optional() }), { error: 'a list of {name, value}' }).optional(),
    })
    .optional(),
}).superRefine((spec, ctx) => {
  // validatePodDNSConfig (pkg/apis/core/validation): dnsPolicy None needs at least one nameserver.
  if (spec.dnsPolicy === 'None' && !(spec.dnsConfig?.nameservers?.length)) {
    ctx.addIssue({ code: 'custom', path: ['dnsConfig', 'nameservers'], message: 'at least one DNS nameserver when dnsPolicy is None' });
  }
});

const condition = z.looseObject({
  type: z.string({ error: 'a condition type' }),
  status: z.enum(['True', 'False', 'Unknown'], { error: 'one of "True", "False", "Unknown"' }),
});

/** core/v1 ContainerStatus and ContainerState: what `svcsim endpoints --explain` and `svcsim why` read. */
const containerState = z.looseObject({
  waiting: z.looseObject({ reason: z.string({ error: 'a string' }).optional(), message: z.string({ error: 'a string' }).optional() }).optional(),
  running: z.looseObject({}).optional(),
  terminated: z
    .looseObject({ exitCode: z.number({ error: 'a whole number' }).int({ error: 'a whole number' }).optional(), signal: nonNegInt.optional(), reason: z.string({ error: 'a string' }).optional() })
    .optional(),
});
const containerStatus = z.looseObject({
  name,
  ready: z.boolean({ error: 'true or false' }).optional(),
  restartCount: nonNegInt.optional(),
  started: z.boolean({ error: 'true or false' }).optional(),
  state: containerState.optional(),
  lastState: containerState.optional(),
});

const podSchema = z.looseObject({
  metadata: objectMeta,
  spec: podSpec,
  status: z
    .looseObject({
      phase: z.enum(['Pending', 'Running', 'Succeeded', 'Failed', 'Unknown'], { error: 'one of Pending, Running, Succeeded, Failed, Unknown' }).optional(),
      conditions: z.array(condition).optional(),
      podIP: ipv4or6.optional(),
      podIPs: z.array(z.looseObject({ ip: ipv4or6 })).optional(),
      reason: z.string({ error: 'a string' }).optional(),
      containerStatuses: z.array(containerStatus, { error: 'a list of container statuses' }).optional(),
      initContainerStatuses: z.array(containerStatus, { error: 'a list of container statuses' }).optional(),
    })
    .optional(),
});

const servicePort = z.looseObject({
  name: z.string({ error: 'a port name' }).optional(),
  protocol: protocol.optional(),
  port,
  targetPort: z
    .union([port, z.string()], { error: 'a port number 1-65535 or the name of a container port (at most 15 lowercase letters, digits, dashes)' })
    .superRefine((v, ctx) => (typeof v === 'string' ? portNameIssue(v, ctx) : undefined))
    .optional(),
  nodePort: port.optional(),
  appProtocol: z.string().optional(),
});

const serviceSchema = z.looseObject({
  metadata: objectMeta,
  spec: z.looseObject({
    type: z.enum(['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'], { error: 'one of ClusterIP, NodePort, LoadBalancer, ExternalName' }).optional(),
    clusterIP: z.union([ipv4or6, z.literal('None'), z.literal('')], { error: 'an IP address or "None"' }).optional(),
    clusterIPs: z.array(z.union([ipv4or6, z.literal('None')], { error: 'an IP address or "None"' })).optional(),
    ipFamilies: z.array(z.enum(['IPv4', 'IPv6'], { error: 'IPv4 or IPv6' })).optional(),
    ports: z.array(servicePort, { error: 'a list of service ports' }).optional(),
    selector: stringMap.optional(),
    sessionAffinity: z.enum(['None', 'ClientIP'], { error: 'None or ClientIP' }).optional(),
    sessionAffinityConfig: z
      .looseObject({ clientIP: z.looseObject({ timeoutSeconds: z.number().int().min(1).max(86400, { error: 'seconds 1-86400' }).optional() }).optional() })
      .optional(),
    externalTrafficPolicy: z.enum(['Cluster', 'Local'], { error: 'Cluster or Local' }).optional(),
    internalTrafficPolicy: z.enum(['Cluster', 'Local'], { error: 'Cluster or Local' }).optional(),
    publishNotReadyAddresses: z.boolean({ error: 'true or false' }).optional(),
    externalIPs: z.array(ipv4or6).optional(),
    loadBalancerSourceRanges: z.array(z.string({ error: 'a CIDR' })).optional(),
    healthCheckNodePort: port.optional(),
    // validateServiceTrafficDistribution (pkg/apis/core/validation/validation.go): the values the
    // API accepts with PreferSameTrafficDistribution on (beta, default since v1.34).
    trafficDistribution: z.enum(['PreferClose', 'PreferSameZone', 'PreferSameNode'], { error: 'one of PreferClose, PreferSameZone, PreferSameNode' }).optional(),
  }).superRefine((spec, ctx) => {
    // The API server refuses it elsewhere (pkg/apis/core/validation/validation.go,
    // validateServiceExternalTrafficPolicy): kube-proxy would never serve it.
    if (spec.healthCheckNodePort !== undefined && !(spec.type === 'LoadBalancer' && spec.externalTrafficPolicy === 'Local')) {
      ctx.addIssue({ code: 'custom', path: ['healthCheckNodePort'], message: "healthCheckNodePort only when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'" });
    }
  }),
});

/** A CPU quantity as status.allocatable.cpu holds it (resource.Quantity: `4`, `3500m`). */
const cpuQuantity = z.union([z.string(), z.number()], { error: 'a CPU quantity such as 4 or 3500m' }).superRefine((v, ctx) => {
  if (cpuMilli(v) === undefined) ctx.addIssue({ code: 'custom', message: 'a CPU quantity such as 4 or 3500m' });
});

const nodeSchema = z.looseObject({
  metadata: objectMeta,
  spec: z.looseObject({ podCIDR: z.string().optional(), podCIDRs: z.array(z.string()).optional() }).optional(),
  status: z.looseObject({ allocatable: z.looseObject({ cpu: cpuQuantity.optional() }).optional() }).optional(),
});

const endpointSliceSchema = z.looseObject({
  metadata: objectMeta,
  addressType: z.enum(['IPv4', 'IPv6', 'FQDN'], { error: 'one of IPv4, IPv6, FQDN' }),
  endpoints: z
    .array(
      z.looseObject({
        addresses: z.array(z.string({ error: 'an address' }), { error: 'a list of addresses' }).min(1, { error: 'at least one address' }),
        conditions: z.looseObject({ ready: z.boolean().optional(), serving: z.boolean().optional(), terminating: z.boolean().optional() }).optional(),
        nodeName: z.string().optional(),
        zone: z.string().optional(),
      }),
      { error: 'a list of endpoints' },
    )
    .nullable()
    .optional(),
  ports: z
    .array(z.looseObject({ name: z.string().optional(), port: port.optional(), protocol: protocol.optional() }), { error: 'a list of ports' })
    .nullable()
    .optional(),
});

const labelSelector = z.looseObject({ matchLabels: stringMap.optional() });
const workloadSpec = z.looseObject({
  replicas: nonNegInt.optional(),
  selector: labelSelector,
  template: z.looseObject({ metadata: z.looseObject({ labels: stringMap.optional() }).optional(), spec: podSpec }),
});
const deploymentSchema = z.looseObject({
  metadata: objectMeta,
  spec: workloadSpec.extend({
    strategy: z
      .looseObject({
        type: z.enum(['RollingUpdate', 'Recreate'], { error: 'RollingUpdate or Recreate' }).optional(),
        rollingUpdate: z.looseObject({ maxSurge: intOrPercent.optional(), maxUnavailable: intOrPercent.optional() }).optional(),
      })
      .optional(),
  }),
});
const replicaSetSchema = z.looseObject({ metadata: objectMeta, spec: workloadSpec });

const SCHEMAS: Record<string, { apiVersion: string; schema: z.ZodType }> = {
  Node: { apiVersion: 'v1', schema: nodeSchema },
  Pod: { apiVersion: 'v1', schema: podSchema },
  Service: { apiVersion: 'v1', schema: serviceSchema },
  EndpointSlice: { apiVersion: 'discovery.k8s.io/v1', schema: endpointSliceSchema },
  Deployment: { apiVersion: 'apps/v1', schema: deploymentSchema },
  ReplicaSet: { apiVersion: 'apps/v1', schema: replicaSetSchema },
};

/** Real kinds that `kubectl get all -o yaml` and friends print and that this model has no use for. */
const SKIPPED_KINDS = new Set([
  'Endpoints', 'ConfigMap', 'Secret', 'ServiceAccount', 'Namespace', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob',
  'HorizontalPodAutoscaler', 'PodDisruptionBudget', 'Ingress', 'IngressClass', 'NetworkPolicy', 'Role', 'RoleBinding',
  'ClusterRole', 'ClusterRoleBinding', 'PersistentVolumeClaim', 'PersistentVolume', 'Event', 'Lease', 'ControllerRevision',
  'CustomResourceDefinition', 'StorageClass', 'LimitRange', 'ResourceQuota', 'PriorityClass',
]);

// ---------------------------------------------------------------------------------------------------

/**
 * Reads one or more manifest files into one set of objects (in file and document order). Every bad
 * object of every file is reported, each at its line and column; a file that is not valid YAML
 * reports its syntax errors alone, as its objects cannot be read.
 */
export function loadManifests(files: string | readonly string[]): ClusterManifests {
  const out = emptyManifests();
  const problems = new Problems();
  for (const f of typeof files === 'string' ? [files] : files) problems.run(() => addFromSource(readYamlFile(f, 'Kubernetes manifests in YAML'), out));
  problems.throwIfAny();
  allocateClusterIPs(out.services);
  return out;
}

/** Parses manifest text (`file` only names it in errors). */
export function parseManifests(text: string, file = '<manifest>'): ClusterManifests {
  const out = emptyManifests();
  addFromSource(parseYamlText(text, file), out);
  allocateClusterIPs(out.services);
  return out;
}

function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing (the field is missing)';
  if (v === null) return 'null';
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean') return `${typeof v} ${String(v)}`;
  if (Array.isArray(v)) return 'a list';
  return 'a map';
}

/** `namespace/name` (or the name alone) of an object this tool skips, for the list of ignored objects. */
function describeName(meta: unknown): string {
  const m = (meta ?? {}) as { name?: unknown; namespace?: unknown };
  const name = typeof m.name === 'string' ? m.name : '(no name)';
  return typeof m.namespace === 'string' ? `${m.namespace}/${name}` : name;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v = root;
  for (const k of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[k];
  }
  return v;
}

function addFromSource(src: YamlSource, out: ClusterManifests): void {
  const problems: Located[] = [];
  const report: Report = (path, d, e) => problems.push({ error: e, ...(locatePosition(src, path, d) ?? { line: 0, col: 0 }) });
  src.docs.forEach((doc, d) => {
    let raw: unknown;
    try {
      raw = doc.toJS({ maxAliasCount: 1000 }) as unknown;
    } catch (e) {
      // The YAML library refuses some documents only when converting them: an alias to an anchor
      // not set (`*filter`, an iptables dump given as manifests), or too many aliases.
      if (!(e instanceof Error) || e.name === 'TypeError') throw e;
      return report([], d, new InputError(`${locate(src, [], d)} (document ${d + 1})`, 'valid YAML', printableMessage(e.message)));
    }
    if (raw === null || raw === undefined) return; // an empty document (a trailing ---)
    const docLabel = `document ${d + 1}`;
    if (typeof raw !== 'object' || Array.isArray(raw)) {
      return report([], d, new InputError(`${locate(src, [], d)} (${docLabel})`, 'a Kubernetes object (a map with apiVersion and kind)', describeValue(raw)));
    }
    const kind = (raw as { kind?: unknown }).kind;
    if (kind === 'List') {
      const items = (raw as { items?: unknown }).items;
      if (items === null || items === undefined) return;
      if (!Array.isArray(items)) return report(['items'], d, new InputError(`${locate(src, ['items'], d)} (${docLabel}) items`, 'a list of objects', describeValue(items)));
      items.forEach((item, i) => addObject(src, d, ['items', i], item, out, report));
      return;
    }
    addObject(src, d, [], raw, out, report);
  });
  problems.sort((a, b) => a.line - b.line || a.col - b.col);
  if (problems.length > 0) throw combineInputErrors(problems.map((p) => p.error));
}

/** A manifest mistake, with its position to report the stream's mistakes in file order. */
interface Located {
  error: InputError;
  line: number;
  col: number;
}

type Report = (path: readonly (string | number)[], d: number, e: InputError) => void;

/**
 * Checks one object and adds it to `out`. An object without a kind this tool knows, or with the wrong
 * apiVersion, is one mistake (its fields cannot be judged); otherwise every field that fails the
 * schema is one.
 */
function addObject(src: YamlSource, d: number, base: (string | number)[], raw: unknown, out: ClusterManifests, report: Report): void {
  const place = (path: readonly (string | number)[], who = '') =>
    `${locate(src, [...base, ...path], d)} (document ${d + 1}${who}) ${formatPath([...base, ...path])}`;
  const fail = (path: readonly (string | number)[], e: InputError) => report([...base, ...path], d, e);
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return fail([], new InputError(place([]), 'a Kubernetes object (a map with apiVersion and kind)', describeValue(raw)));
  }
  const obj = raw as Record<string, unknown>;
  const kind = obj.kind;
  if (typeof kind !== 'string') {
    return fail(['kind'], new InputError(place(['kind']), 'the object kind (Service, Pod, EndpointSlice, Node, Deployment, ReplicaSet or List)', describeValue(kind)));
  }
  const entry = SCHEMAS[kind];
  if (!entry) {
    if (SKIPPED_KINDS.has(kind)) {
      out.ignored?.push(`${kind} ${describeName(obj.metadata)}`);
      return;
    }
    return fail(
      ['kind'],
      new InputError(place(['kind']), 'one of Service, Pod, EndpointSlice, Node, Deployment, ReplicaSet, List (or a kind this tool skips, such as ConfigMap)', JSON.stringify(kind)),
    );
  }
  const apiVersion = obj.apiVersion;
  if (apiVersion !== entry.apiVersion) {
    return fail(['apiVersion'], new InputError(place(['apiVersion']), `apiVersion ${entry.apiVersion} for kind ${kind}`, describeValue(apiVersion)));
  }
  const r = entry.schema.safeParse(obj);
  if (!r.success) {
    const meta = obj.metadata as { name?: unknown; namespace?: unknown } | undefined;
    const ns = typeof meta?.namespace === 'string' ? meta.namespace : kind === 'Node' ? '' : 'default';
    const who = typeof meta?.name === 'string' ? `, ${kind} ${ns ? ns + '/' : ''}${meta.name}` : `, ${kind}`;
    for (const issue of r.error.issues) {
      const path = issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p)) as (string | number)[];
      fail(path, new InputError(place(path, who), issue.message, describeValue(valueAt(obj, path))));
    }
    return;
  }
  addValid(r.data as KubeObject, out);
}

function addValid(o: KubeObject, out: ClusterManifests): void {
  applyDefaults(o);
  switch (o.kind) {
    case 'Node':
      out.nodes.push(o);
      break;
    case 'Pod':
      out.pods.push(o);
      break;
    case 'Service':
      out.services.push(o);
      break;
    case 'EndpointSlice':
      if (!o.endpoints) o.endpoints = [];
      out.endpointSlices.push(o);
      break;
    case 'Deployment':
      out.deployments.push(o);
      break;
    case 'ReplicaSet':
      out.replicaSets.push(o);
      break;
  }
}

/**
 * The service CIDR the API server allocates from for manifests that leave spec.clusterIP out:
 * kubeadm's --service-cluster-ip-range (the scenario schema's default too).
 */
export const MANIFEST_SERVICE_CIDR = '10.96.0.0/12';

/**
 * What the API server does on create for a Service without spec.clusterIP (pkg/registry/core/service/
 * storage/alloc.go): ipFamilyPolicy SingleStack and ipFamilies the cluster's primary family (IPv4
 * here), and a ClusterIP from the service CIDR (pkg/registry/core/service/ipallocator). The real
 * allocator picks at random, preferring the range above the static band reserved for manually chosen
 * IPs (KEP-3070: min(max(16, size/16), 256) addresses at the bottom); here, to be deterministic, the
 * first free address above that band, in document order, skipping every address a manifest names
 * (and .1, the `kubernetes` Service's). An explicit clusterIP without ipFamilies gets its own family.
 * `clusterIP: None` stays headless; ExternalName Services get no ClusterIP.
 */
function allocateClusterIPs(services: Service[]): void {
  const cidr = parseNetworkCidr(MANIFEST_SERVICE_CIDR);
  const used = new Set<number>([cidr.addr + 1]);
  for (const s of services) for (const ip of [s.spec.clusterIP, ...(s.spec.clusterIPs ?? [])]) if (ip && ip !== 'None' && !ip.includes(':')) used.add(parseIPv4(ip));
  let next = cidr.addr + Math.min(Math.max(16, cidrSize(cidr) / 16), 256);
  for (const s of services) {
    if (s.spec.type === 'ExternalName') continue;
    const cip = s.spec.clusterIP;
    if (cip === 'None') continue;
    if (cip && cip !== '') {
      s.spec.ipFamilies ??= [cip.includes(':') ? 'IPv6' : 'IPv4'];
      s.spec.ipFamilyPolicy ??= 'SingleStack';
      continue;
    }
    while (used.has(next)) next++;
    if (next >= cidr.addr + cidrSize(cidr) - 1) throw new InputError('spec.clusterIP', `room for more Services in ${MANIFEST_SERVICE_CIDR}`, `${used.size} addresses in use`);
    used.add(next);
    const ip = formatIPv4(next);
    s.spec.clusterIP = ip;
    s.spec.clusterIPs = [ip];
    s.spec.ipFamilies ??= ['IPv4'];
    s.spec.ipFamilyPolicy ??= 'SingleStack';
  }
}

/** The API server's defaulting for the fields the models read (pkg/apis/core/v1/defaults.go). */
function applyDefaults(o: KubeObject): void {
  if (o.kind !== 'Node' && !o.metadata.namespace) o.metadata.namespace = 'default';
  if (o.kind === 'Service') {
    for (const p of o.spec.ports ?? []) {
      p.protocol ??= 'TCP';
      p.targetPort ??= p.port;
    }
    o.spec.type ??= 'ClusterIP';
    o.spec.sessionAffinity ??= 'None';
  } else if (o.kind === 'Pod') {
    for (const c of [...o.spec.containers, ...(o.spec.initContainers ?? [])]) for (const p of c.ports ?? []) p.protocol ??= 'TCP';
  }
}
