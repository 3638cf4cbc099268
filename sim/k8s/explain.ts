import { InputError } from '../io/input-error.ts';
import type { ClusterManifests } from './manifests.ts';
import { podHasIP } from './pod-endpoint.ts';
import { podCondition, type EndpointSlice, type Pod, type Service, type ServicePort } from './objects.ts';
import { podStatusReport, statusPhrase } from './pod-status-reason.ts';
import { checkTargetPort, targetPortProblem } from './target-port.ts';
import { hasSelector, selectorMatches, selectorMismatch } from './selector.ts';
import { endpointSlicesForService, nodeLookup, type StaticEndpointsOptions } from './static-endpoints.ts';

/**
 * `svcsim endpoints --explain NS/SVC`: why each pod is or is not an endpoint of a Service, in the
 * order an operator checks when `kubectl get endpointslices` shows nothing useful. Each verdict names
 * the exact thing that decided it (the label that differs, the condition that is not True, the port
 * name that no container declares), following the controller's own tests in
 * staging/src/k8s.io/endpointslice (utils.go podToEndpoint/FindPort, util ShouldPodBeInEndpoints).
 * A pod that is not Ready is explained from its status as kubectl shows it (pod-status-reason.ts:
 * CrashLoopBackOff with its restarts, image pulls, Unschedulable with the scheduler's message, init
 * containers), and each Service port's targetPort is checked against the containers (target-port.ts).
 */

export interface PodVerdict {
  pod: string; // namespace/name
  /** in: the pod is an endpoint (perhaps not ready); out: it is not in any slice. */
  outcome: 'in' | 'out';
  ready?: boolean;
  serving?: boolean;
  terminating?: boolean;
  /** What `kubectl get pods` shows in STATUS (and RESTARTS when not 0): "CrashLoopBackOff, 7 restarts". */
  status: string;
  /** Why, most decisive first. */
  reasons: string[];
}

export interface ServiceExplanation {
  service: string;
  summary: string[];
  /** For a Service with no ready endpoints: the most likely cause, stated first. */
  likelyCause?: string;
  pods: PodVerdict[];
  slices: EndpointSlice[];
}

function fmtSelector(sel: Readonly<Record<string, string>>): string {
  return Object.keys(sel)
    .sort()
    .map((k) => `${k}=${sel[k]}`)
    .join(',');
}

function portLabel(sp: ServicePort): string {
  return `${sp.name ? `"${sp.name}" ` : ''}${sp.port}/${sp.protocol ?? 'TCP'}`;
}

/**
 * Why a pod is not Ready: the container states kubectl shows when the status carries them, else the
 * conditions alone (a failing readiness probe or a container still starting).
 */
export function readinessReason(pod: Pod): string {
  const r = podStatusReport(pod);
  if (r.reasons.length > 0) return r.reasons.join('; ');
  const ready = podCondition(pod, 'Ready');
  const cr = podCondition(pod, 'ContainersReady');
  const phase = pod.status?.phase ?? 'no phase';
  if (ready === undefined) return `no Ready condition in status.conditions (phase ${phase})`;
  const crText = cr === undefined ? 'no ContainersReady condition' : `ContainersReady=${cr}`;
  return `condition Ready=${ready} (${crText}, phase ${phase}): a failing readiness probe or a container still starting`;
}

/** Why a pod has no IP yet: the scheduler's or the kubelet's reason when the status carries one. */
export function noIPReason(pod: Pod): string {
  const r = podStatusReport(pod);
  if (r.reasons.length > 0) return `no pod IP (status.podIP empty): ${r.reasons.join('; ')}`;
  return `no pod IP (status.podIP empty, phase ${pod.status?.phase ?? 'unknown'}): not started or not yet scheduled`;
}

/** The sentences of the Service ports whose targetPort this pod does not serve, or serves doubtfully. */
export function portProblems(service: Service, pod: Pod): string[] {
  const out: string[] = [];
  for (const sp of service.spec.ports ?? []) {
    const why = targetPortProblem(sp, checkTargetPort(pod, sp));
    if (why) out.push(why);
  }
  return out;
}

export function explainService(m: ClusterManifests, ref: string, options: StaticEndpointsOptions = {}): ServiceExplanation {
  const { service, ns, name } = findService(m, ref);
  const slices = endpointSlicesForService(m, service, options);
  const sel = service.spec.selector;
  const key = `${ns}/${name}`;
  const pods: PodVerdict[] = [];
  const { summary, ready } = summaryLines(service, slices);

  if (service.spec.type === 'ExternalName') {
    return { service: key, summary, likelyCause: 'the Service is type ExternalName: DNS answers with a CNAME and no endpoints exist by design', pods, slices };
  }
  if (!hasSelector(sel)) {
    return {
      service: key,
      summary,
      likelyCause:
        `the Service has no selector, so the EndpointSlice controller does not manage its endpoints: ` +
        (slices.length ? `${slices.length} user-managed EndpointSlice(s) found` : 'create EndpointSlices labelled kubernetes.io/service-name=' + name + ' yourself, or add a selector'),
      pods,
      slices,
    };
  }

  // Verdict per pod: every pod of the namespace, plus pods elsewhere that the selector would match.
  const nodes = nodeLookup(m.nodes);
  for (const p of m.pods) if (p.metadata.namespace === ns || selectorMatches(sel, p.metadata.labels)) pods.push(podVerdict(p, service, ns, sel, slices, nodes));
  return { service: key, summary, likelyCause: ready > 0 ? portCause(service, m.pods, ns, sel) : likelyCause(service, m.pods, ns, sel, pods), pods, slices };
}

/** The Service `ref` (NAMESPACE/NAME, or NAME in default) names; an input error listing some when none matches. */
function findService(m: ClusterManifests, ref: string): { service: Service; ns: string; name: string } {
  const slash = ref.indexOf('/');
  const ns = slash >= 0 ? ref.slice(0, slash) : 'default';
  const name = slash >= 0 ? ref.slice(slash + 1) : ref;
  const service = m.services.find((s) => s.metadata.namespace === ns && s.metadata.name === name);
  if (!service) {
    const known = m.services.map((s) => `${s.metadata.namespace}/${s.metadata.name}`).slice(0, 10);
    throw new InputError('--explain', 'NAMESPACE/SERVICE naming a Service in the manifests', JSON.stringify(ref), known.length ? `Services: ${known.join(', ')}` : 'the manifests hold no Service');
  }
  return { service, ns, name };
}

/** The Service's selector, type and ports, and its endpoints by condition; `ready` counts the ready ones. */
function summaryLines(service: Service, slices: readonly EndpointSlice[]): { summary: string[]; ready: number } {
  const sel = service.spec.selector;
  let ready = 0;
  let serving = 0;
  let terminating = 0;
  for (const s of slices) {
    for (const e of s.endpoints) {
      if (e.conditions?.ready) ready++;
      if (e.conditions?.serving) serving++;
      if (e.conditions?.terminating) terminating++;
    }
  }
  const total = slices.reduce((n, s) => n + s.endpoints.length, 0);
  const summary = [
    `selector: ${hasSelector(sel) ? fmtSelector(sel) : '(none)'}; type ${service.spec.type ?? 'ClusterIP'}; ports ${(service.spec.ports ?? []).map((p) => `${portLabel(p)} -> ${p.targetPort ?? p.port}`).join(', ') || '(none)'}`,
    `endpoints: ${total} in ${slices.length} EndpointSlice(s): ${ready} ready, ${serving} serving, ${terminating} terminating`,
  ];
  return { summary, ready };
}

/** Why pod `p` is or is not an endpoint of `service` (in namespace `ns`, selector `sel`), the decisive check first. */
function podVerdict(p: Pod, service: Service, ns: string, sel: Readonly<Record<string, string>>, slices: readonly EndpointSlice[], nodes: ReturnType<typeof nodeLookup>): PodVerdict {
  const pk = `${p.metadata.namespace}/${p.metadata.name}`;
  const status = statusPhrase(podStatusReport(p));
  const out = (reason: string): PodVerdict => ({ pod: pk, outcome: 'out', status, reasons: [reason] });
  if (p.metadata.namespace !== ns) return out(`namespace ${p.metadata.namespace}: a Service only selects pods in its own namespace (${ns})`);
  const mm = selectorMismatch(sel, p.metadata.labels);
  if (mm) {
    const have = mm.have === undefined ? `has no label ${mm.key}` : `has ${mm.key}=${mm.have}`;
    return out(`selector mismatch: label ${mm.key}: the pod ${have}, the selector wants ${mm.key}=${mm.want}`);
  }
  const phase = p.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') return out(`phase ${phase}: a terminated pod is never an endpoint`);
  if (!podHasIP(p)) return out(noIPReason(p));
  if (nodes && p.spec.nodeName !== undefined && !nodes(p.spec.nodeName) && !service.spec.publishNotReadyAddresses) {
    return out(`node ${p.spec.nodeName} not found: the controller skips pods on unknown nodes`);
  }
  const ep = slices.flatMap((s) => s.endpoints).find((e) => e.targetRef?.name === p.metadata.name && e.targetRef?.namespace === p.metadata.namespace);
  const c = ep?.conditions ?? {};
  const reasons: string[] = [];
  if (p.metadata.deletionTimestamp !== undefined) {
    reasons.push(
      `terminating (deletionTimestamp ${p.metadata.deletionTimestamp}): ready=false; ` +
        (c.serving ? 'still serving while it passes readiness, until its grace period ends' : 'not serving'),
    );
  }
  if (!c.serving && !service.spec.publishNotReadyAddresses) reasons.push(`not Ready: ${readinessReason(p)}`);
  else if (!c.serving) reasons.push(`not Ready (${readinessReason(p)}), but published: publishNotReadyAddresses is true`);
  reasons.push(...portProblems(service, p));
  if (reasons.length === 0) reasons.push('ready');
  return { pod: pk, outcome: 'in', ready: c.ready === true, serving: c.serving === true, terminating: c.terminating === true, status, reasons };
}

/**
 * With ready endpoints, the remaining trap is the targetPort: a name that resolves for no selected
 * pod, or a number that no selected pod declares while each declares its ports (target-port.ts).
 */
function portCause(service: Service, all: readonly Pod[], ns: string, sel: Readonly<Record<string, string>>): string | undefined {
  const selected = all.filter((p) => p.metadata.namespace === ns && selectorMatches(sel, p.metadata.labels) && podHasIP(p));
  if (selected.length === 0) return undefined;
  for (const sp of service.spec.ports ?? []) {
    const checks = selected.map((p) => checkTargetPort(p, sp));
    if (checks.every((c) => c.kind === 'named-missing')) {
      return `service port ${portLabel(sp)}: targetPort "${sp.targetPort}" is not the name of a ${sp.protocol ?? 'TCP'} container port in any selected pod, so no endpoint serves that port`;
    }
    const broken = checks.find((c) => c.kind === 'undeclared-break');
    if (broken && checks.every((c) => c.kind === 'undeclared-break')) {
      return `service port ${portLabel(sp)}: targetPort ${sp.targetPort} is not a port the selected pods' containers declare (${broken.declared}): the endpoints exist, but connections go to a port nothing is declared to listen on`;
    }
  }
  return undefined;
}

function likelyCause(service: Service, all: readonly Pod[], ns: string, sel: Readonly<Record<string, string>>, verdicts: PodVerdict[]): string {
  const inNs = all.filter((p) => p.metadata.namespace === ns);
  const selected = inNs.filter((p) => selectorMatches(sel, p.metadata.labels));
  if (selected.length === 0) {
    const elsewhere = all.filter((p) => p.metadata.namespace !== ns && selectorMatches(sel, p.metadata.labels));
    if (elsewhere.length > 0) {
      const where = [...new Set(elsewhere.map((p) => p.metadata.namespace))].join(', ');
      return `no pod in namespace ${ns} matches the selector ${fmtSelector(sel)}; ${elsewhere.length} matching pod(s) are in namespace ${where}`;
    }
    if (inNs.length === 0) return `no pods in namespace ${ns} at all (selector ${fmtSelector(sel)})`;
    // The closest pods: fewest selector keys that differ. Name the label and both values.
    let best = Infinity;
    let closest: Pod[] = [];
    for (const p of inNs) {
      let d = 0;
      for (const k in sel) if (p.metadata.labels?.[k] !== sel[k]) d++;
      if (d < best) {
        best = d;
        closest = [p];
      } else if (d === best) closest.push(p);
    }
    const mm = selectorMismatch(sel, closest[0]!.metadata.labels)!;
    const values = [...new Set(closest.map((p) => p.metadata.labels?.[mm.key]))].map((v) => (v === undefined ? '(absent)' : v));
    return (
      `selector mismatch: no pod in ${ns} matches ${fmtSelector(sel)}; the closest ${closest.length} pod(s) ` +
      `(${closest.slice(0, 3).map((p) => p.metadata.name).join(', ')}${closest.length > 3 ? ', ...' : ''}) ` +
      `differ in label ${mm.key}: ${values.join(', ')} where the selector wants ${mm.want}` +
      (best > 1 ? ` (and ${best - 1} other label(s))` : '')
    );
  }
  const phaseTerminal = selected.filter((p) => p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed');
  const withIP = selected.filter((p) => podHasIP(p) && !phaseTerminal.includes(p));
  if (withIP.length === 0) {
    if (phaseTerminal.length === selected.length) return `all ${selected.length} selected pod(s) have terminated (phase Succeeded/Failed)`;
    const first = selected.find((p) => !phaseTerminal.includes(p))!;
    const r = podStatusReport(first);
    if (r.reasons.length > 0) return `${selected.length} pod(s) match the selector but none has a pod IP yet: ${first.metadata.name} is ${statusPhrase(r)}: ${r.reasons.join('; ')}`;
    return `${selected.length} pod(s) match the selector but none has a pod IP yet: they are Pending (not scheduled, image pull, or the network plugin has not set them up)`;
  }
  const inVerdicts = verdicts.filter((v) => v.outcome === 'in');
  if (inVerdicts.length === 0) return `the ${withIP.length} selected pod(s) with an IP are on nodes the cluster does not know`;
  if (inVerdicts.every((v) => v.terminating)) return `all ${inVerdicts.length} selected pod(s) are terminating: endpoints stay ready=false until replacements become Ready`;
  const notReady = withIP.filter((p) => podCondition(p, 'Ready') !== 'True');
  if (notReady.length > 0) return `${notReady.length} of ${withIP.length} selected pod(s) are not Ready: ${readinessReason(notReady[0]!)}`;
  return portCause(service, all, ns, sel) ?? 'no ready endpoint for an unexplained reason';
}

export function formatExplanation(e: ServiceExplanation): string {
  const lines: string[] = [`Service ${e.service}`];
  for (const s of e.summary) lines.push(`  ${s}`);
  if (e.likelyCause) lines.push(`  likely cause: ${e.likelyCause}`);
  if (e.pods.length) {
    lines.push('pods:');
    const w = Math.max(...e.pods.map((p) => p.pod.length));
    for (const p of e.pods) {
      const state = (p.outcome === 'out' ? 'OUT' : `IN  ready=${p.ready} serving=${p.serving} terminating=${p.terminating}`) + `  (${p.status})`;
      lines.push(`  ${p.pod.padEnd(w)}  ${state}`);
      for (const r of p.reasons) lines.push(`  ${''.padEnd(w)}    - ${r}`);
    }
  }
  return lines.join('\n') + '\n';
}
