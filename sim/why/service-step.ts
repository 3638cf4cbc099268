import { MANIFEST_SERVICE_CIDR, type ClusterManifests } from '../k8s/manifests.ts';
import { cidrContains, parseCidr, parseIPv4 } from '../net/ipv4.ts';
import type { Pod, Service, ServicePort } from '../k8s/objects.ts';
import { podHasIP } from '../k8s/pod-endpoint.ts';
import { podsSelectedBy } from '../k8s/static-endpoints.ts';
import { checkTargetPort, targetPortProblem, type TargetPortCheck } from '../k8s/target-port.ts';
import { nodeInternalIP } from './client.ts';
import { step, type PathState, type WhyInput, type WhyStep } from './types.ts';

/**
 * Step 2, the Service and its port: which Service owns the address (its ClusterIP, an external IP,
 * a load-balancer ingress IP, or a node's IP with a nodePort, the addresses kube-proxy writes rules
 * for), which of its ports the connection's port and protocol are, and that port's targetPort
 * against the selected pods' containers (target-port.ts: named ports per pod as FindPort resolves
 * them, numbers against the declared containerPorts).
 */
export function serviceStep(input: WhyInput, state: PathState): WhyStep {
  const { target, manifests: m } = input;
  const address = state.address!;
  const found = serviceAtAddress(m, address, target.port, target.protocol);
  if (!found) {
    const pod = m.pods.find((p) => p.status?.podIP === address || (p.status?.podIPs ?? []).some((x) => x.ip === address));
    if (pod) {
      state.entry = 'pod';
      state.dnat = `${address}:${target.port}`;
      // A headless Service (clusterIP None) has no rules: its DNS name answers with the ready pods' IPs.
      const headless = m.services.find((s) => s.spec.clusterIP === 'None' && podsSelectedBy(s, [pod]).length > 0);
      const via = headless ? ` (an endpoint of headless Service ${headless.metadata.namespace}/${headless.metadata.name}: its name answers with pod IPs, and kube-proxy writes no rules for it)` : ': no Service';
      return step('service', 'ok', `${address} is pod ${pod.metadata.namespace}/${pod.metadata.name}'s IP${via}; the packet goes to the pod directly`, [], null, { entry: 'pod', pod: `${pod.metadata.namespace}/${pod.metadata.name}`, headlessService: headless ? `${headless.metadata.namespace}/${headless.metadata.name}` : null });
    }
    if (state.upstream || outsideCluster(input, address)) {
      return step('service', 'skipped', `${address} is outside the cluster: no Service, kube-proxy leaves the packet alone`, [], null, { entry: null, outside: true });
    }
    return step('service', 'break', `no Service has the address ${address}`, servicesList(m), 'connect to a Service\'s ClusterIP or name (kubectl get svc -A)', { entry: null });
  }
  const { service, entry } = found;
  state.service = service;
  state.entry = entry;
  const ref = `${service.metadata.namespace}/${service.metadata.name}`;
  const sp = (service.spec.ports ?? []).find((p) => (entry === 'nodePort' ? p.nodePort === target.port : p.port === target.port) && (p.protocol ?? 'TCP') === target.protocol);
  const data: Record<string, unknown> = { service: ref, type: service.spec.type ?? 'ClusterIP', clusterIP: service.spec.clusterIP ?? null, entry };
  if (!sp) {
    const ports = (service.spec.ports ?? []).map(portText).join(', ') || 'none';
    const same = (service.spec.ports ?? []).find((p) => (p.protocol ?? 'TCP') === target.protocol);
    return step(
      'service',
      'break',
      `Service ${ref} (${entryText(entry, address)}) has no ${entry === 'nodePort' ? 'node port' : 'port'} ${target.port}/${target.protocol}; its ports: ${ports}`,
      [],
      same ? `connect to port ${entry === 'nodePort' ? same.nodePort : same.port}, or add port ${target.port} to the Service` : `add a ${target.protocol} port to the Service`,
      data,
    );
  }
  state.servicePort = sp;
  data.port = { name: sp.name ?? '', port: sp.port, protocol: sp.protocol ?? 'TCP', targetPort: sp.targetPort ?? sp.port, nodePort: sp.nodePort ?? null };
  const head = `Service ${ref} (${entryText(entry, address)}), port ${portText(sp)}`;
  return targetPortVerdict(head, service, sp, podsSelectedBy(service, m.pods).filter(podHasIP), data);
}

function targetPortVerdict(head: string, service: Service, sp: ServicePort, pods: Pod[], data: Record<string, unknown>): WhyStep {
  const checks = pods.map((p) => ({ pod: p, check: checkTargetPort(p, sp) }));
  data.targetPorts = checks.map(({ pod, check }) => ({ pod: `${pod.metadata.namespace}/${pod.metadata.name}`, ...checkData(check) }));
  const details = checks.map(({ pod, check }) => `pod ${pod.metadata.name}: ${targetPortProblem(sp, check) ?? checkText(check)}`);
  if (!service.spec.selector || Object.keys(service.spec.selector).length === 0) {
    return step('service', 'ok', `${head}: no selector, its endpoints are managed by hand`, details, null, data);
  }
  if (checks.length === 0) return step('service', 'ok', `${head}`, ['no selected pod has an IP yet: the targetPort is checked against none'], null, data);
  const kinds = new Set(checks.map((c) => c.check.kind));
  const all = (k: TargetPortCheck['kind']) => kinds.size === 1 && kinds.has(k);
  if (all('named-missing')) {
    return step('service', 'break', `${head}: no selected pod has a container port named "${sp.targetPort}"`, details, `name a container port "${sp.targetPort}" (protocol ${sp.protocol ?? 'TCP'}) in the pods, or set targetPort to the port's name or number`, data);
  }
  if (all('undeclared-break')) {
    const first = checks[0]!.check as Extract<TargetPortCheck, { kind: 'undeclared-break' }>;
    return step('service', 'break', `${head}: targetPort ${first.port} is not a port the containers declare (${first.declared})`, details, `set the Service's targetPort to the port the container listens on (${first.declared})`, data);
  }
  if (kinds.has('named-missing') || kinds.has('undeclared-break') || kinds.has('undeclared-warning')) {
    return step('service', 'warning', `${head}: the targetPort does not fit every selected pod`, details, 'declare the port in every pod template, or fix the targetPort', data);
  }
  const resolved = checks.map((c) => c.check).find((c) => c.kind === 'resolved');
  const to = resolved && resolved.kind === 'resolved' ? `targetPort ${sp.targetPort}${resolved.named ? ` = ${resolved.port}` : ''}, declared by container ${resolved.container}` : `targetPort ${sp.targetPort ?? sp.port}`;
  return step('service', 'ok', `${head} -> ${to}`, details, null, data);
}

function checkData(c: TargetPortCheck): Record<string, unknown> {
  return { check: c.kind, port: 'port' in c ? c.port : null };
}

function checkText(c: TargetPortCheck): string {
  if (c.kind === 'resolved') return `${c.named ? 'resolves to' : 'declares'} ${c.port} (container ${c.container})`;
  if (c.kind === 'nothing-declared') return `no container declares ports: ${c.port} cannot be checked`;
  return c.kind;
}

function portText(p: ServicePort): string {
  return `${p.port}/${p.protocol ?? 'TCP'}${p.name ? ` (${p.name})` : ''}${p.nodePort ? ` nodePort ${p.nodePort}` : ''}`;
}

function entryText(entry: PathState['entry'], address: string): string {
  switch (entry) {
    case 'clusterIP':
      return `ClusterIP ${address}`;
    case 'externalIP':
      return `external IP ${address}`;
    case 'loadBalancerIP':
      return `load-balancer IP ${address}`;
    default:
      return `node port on ${address}`;
  }
}

/** Neither in the Service range (the manifests' ClusterIPs come from it), the pod range nor a node's address. */
function outsideCluster(input: WhyInput, address: string): boolean {
  const ip = parseIPv4(address);
  if (cidrContains(parseCidr(MANIFEST_SERVICE_CIDR), ip) || cidrContains(parseCidr(input.clusterCIDR), ip)) return false;
  return !input.manifests.nodes.some((n) => nodeInternalIP(n) === address);
}

function servicesList(m: ClusterManifests): string[] {
  return m.services.slice(0, 10).map((s) => `Service ${s.metadata.namespace}/${s.metadata.name}: ${s.spec.clusterIP ?? 'no ClusterIP'}`);
}

/** The Service kube-proxy would match for this destination, and how. */
export function serviceAtAddress(m: ClusterManifests, ip: string, port: number, protocol: string): { service: Service; entry: NonNullable<PathState['entry']> } | undefined {
  for (const s of m.services) {
    if (s.spec.clusterIP === ip || (s.spec.clusterIPs ?? []).includes(ip)) return { service: s, entry: 'clusterIP' };
  }
  for (const s of m.services) if ((s.spec.externalIPs ?? []).includes(ip)) return { service: s, entry: 'externalIP' };
  for (const s of m.services) if ((s.status?.loadBalancer?.ingress ?? []).some((i) => i.ip === ip)) return { service: s, entry: 'loadBalancerIP' };
  if (m.nodes.some((n) => nodeInternalIP(n) === ip)) {
    for (const s of m.services) {
      if (s.spec.type !== 'NodePort' && s.spec.type !== 'LoadBalancer') continue;
      if ((s.spec.ports ?? []).some((p) => p.nodePort === port && (p.protocol ?? 'TCP') === protocol)) return { service: s, entry: 'nodePort' };
    }
  }
  return undefined;
}
