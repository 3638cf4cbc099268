import type { Pod } from './objects.ts';

/**
 * Why a pod is not serving, read from its status the way an operator reads `kubectl get pods` and
 * `kubectl describe pod`: the STATUS column (kubectl's printPod, pkg/printers/internalversion/
 * printers.go: status.reason, then the first init container not done as `Init:REASON` or
 * `Init:i/n`, then the containers' waiting or terminated reason, last container first, and
 * `Terminating` once deletionTimestamp is set), the RESTARTS column (the sum of restartCount), and
 * one sentence per fact that decided it, naming the field it comes from.
 *
 * The waiting reasons are the kubelet's own words (pkg/kubelet/kuberuntime/kuberuntime_container.go
 * and pkg/kubelet/images: CrashLoopBackOff is the back-off of a container that keeps exiting,
 * ErrImagePull the failed pull and ImagePullBackOff the back-off after it, CreateContainerConfigError
 * a missing Secret or ConfigMap key, ContainerCreating/PodInitializing still starting). A pod the
 * scheduler could not place carries PodScheduled=False with reason Unschedulable and the scheduler's
 * message ("0/3 nodes are available: ...", pkg/scheduler/schedule_one.go handleSchedulingFailure).
 */

/** core/v1 ContainerState: exactly one of the three is set. */
export interface ContainerState {
  waiting?: { reason?: string; message?: string };
  running?: { startedAt?: string };
  terminated?: { exitCode?: number; signal?: number; reason?: string; message?: string };
}

/** core/v1 ContainerStatus, the fields read here (the manifests keep every field they carry). */
export interface ContainerStatusDetail {
  name: string;
  ready?: boolean;
  restartCount?: number;
  started?: boolean;
  image?: string;
  state?: ContainerState;
  lastState?: ContainerState;
}

/** core/v1 PodStatus fields beyond objects.ts's PodStatus. */
export interface PodStatusDetail {
  reason?: string;
  message?: string;
  containerStatuses?: ContainerStatusDetail[];
  initContainerStatuses?: ContainerStatusDetail[];
}

export interface PodStatusReport {
  /** What `kubectl get pods` prints in STATUS. */
  status: string;
  /** What `kubectl get pods` prints in RESTARTS (init containers' count while initializing). */
  restarts: number;
  /** One sentence per fact, most decisive first; empty for a Running pod whose containers are all ready. */
  reasons: string[];
}

function detail(pod: Pod): PodStatusDetail {
  // The manifest loader keeps every status field (zod looseObject), so the wider view is sound.
  return (pod.status ?? {}) as PodStatusDetail;
}

function stateWords(s: ContainerState | undefined): string {
  if (s?.waiting) return `waiting (${s.waiting.reason ?? 'no reason'})`;
  if (s?.running) return 'running';
  if (s?.terminated) return `terminated (${terminatedWords(s.terminated)})`;
  return 'no state reported';
}

function terminatedWords(t: NonNullable<ContainerState['terminated']>): string {
  const code = t.signal ? `signal ${t.signal}` : `exit code ${t.exitCode ?? 0}`;
  return t.reason ? `${t.reason}, ${code}` : code;
}

const quoted = (m: string | undefined) => (m ? `: ${JSON.stringify(m)}` : '');

/** The sentence for one container's waiting reason, with what an operator does about it. */
function waitingSentence(kind: string, c: ContainerStatusDetail, image: string | undefined): string {
  const w = c.state!.waiting!;
  const reason = w.reason ?? '';
  const who = `${kind} ${c.name}`;
  const restarts = c.restartCount ?? 0;
  switch (reason) {
    case 'CrashLoopBackOff': {
      const last = c.lastState?.terminated ? `, last ${terminatedWords(c.lastState.terminated)}` : '';
      return `${who}: CrashLoopBackOff after ${restarts} restart(s)${last}: the container keeps exiting and the kubelet backs off restarting it (kubectl logs --previous shows why)`;
    }
    case 'ErrImagePull':
    case 'ImagePullBackOff':
      return `${who}: ${reason}${image ? ` for image ${JSON.stringify(image)}` : ''}${quoted(w.message)}: the image cannot be pulled (name, tag, registry credentials)`;
    case 'InvalidImageName':
      return `${who}: InvalidImageName${quoted(w.message)}`;
    case 'CreateContainerConfigError':
    case 'CreateContainerError':
      return `${who}: ${reason}${quoted(w.message)}: the kubelet cannot create the container (a missing Secret or ConfigMap key, a bad volume)`;
    case 'ContainerCreating':
    case 'PodInitializing':
      return `${who}: ${reason}: still starting`;
    default:
      return `${who}: waiting (${reason || 'no reason'})${quoted(w.message)}`;
  }
}

function podScheduledSentence(pod: Pod): string | undefined {
  const c = pod.status?.conditions?.find((x) => x.type === 'PodScheduled');
  if (!c || c.status === 'True') return undefined;
  const why = c.reason ? ` reason ${c.reason}` : '';
  return `not scheduled: PodScheduled=${c.status}${why}${quoted(c.message)}`;
}

/** The first init container not done (kubectl's loop: exit code 0 is done, a started sidecar is done). */
function initBlocker(pod: Pod, d: PodStatusDetail): { status: string; sentence: string } | undefined {
  const statuses = d.initContainerStatuses ?? [];
  const specs = pod.spec.initContainers ?? [];
  for (let i = 0; i < statuses.length; i++) {
    const c = statuses[i]!;
    const t = c.state?.terminated;
    if (t && (t.exitCode ?? 0) === 0) continue;
    const sidecar = (specs.find((s) => s.name === c.name) as { restartPolicy?: string } | undefined)?.restartPolicy === 'Always';
    if (sidecar && c.started) continue;
    const image = specs.find((s) => s.name === c.name)?.image ?? c.image;
    if (t) {
      const status = t.reason ? `Init:${t.reason}` : t.signal ? `Init:Signal:${t.signal}` : `Init:ExitCode:${t.exitCode ?? 0}`;
      return { status, sentence: `init container ${c.name}: ${terminatedWords(t)} after ${c.restartCount ?? 0} restart(s): the app containers do not start until it succeeds` };
    }
    const w = c.state?.waiting;
    if (w?.reason && w.reason !== 'PodInitializing') return { status: `Init:${w.reason}`, sentence: waitingSentence('init container', c, image) };
    return { status: `Init:${i}/${specs.length}`, sentence: `init container ${c.name} (${i + 1} of ${specs.length}): ${stateWords(c.state)}: the app containers wait for it` };
  }
  return undefined;
}

/** kubectl's STATUS and RESTARTS for `pod`, with the sentences that explain them. */
export function podStatusReport(pod: Pod): PodStatusReport {
  const d = detail(pod);
  const reasons: string[] = [];
  let status: string = d.reason || pod.status?.phase || 'Unknown';
  let restarts = 0;
  const sched = podScheduledSentence(pod);
  if (sched) reasons.push(sched);
  if (d.reason) reasons.push(`status.reason ${d.reason}${quoted(d.message)}`);
  const init = initBlocker(pod, d);
  if (init) {
    status = init.status;
    restarts = (d.initContainerStatuses ?? []).reduce((n, c) => n + (c.restartCount ?? 0), 0);
    reasons.push(init.sentence);
  } else {
    const cs = d.containerStatuses ?? [];
    for (let i = cs.length - 1; i >= 0; i--) {
      const c = cs[i]!;
      restarts += c.restartCount ?? 0;
      const w = c.state?.waiting;
      const t = c.state?.terminated;
      if (w?.reason) status = w.reason;
      else if (t) status = t.reason || (t.signal ? `Signal:${t.signal}` : `ExitCode:${t.exitCode ?? 0}`);
    }
    for (const c of cs) {
      const image = pod.spec.containers.find((s) => s.name === c.name)?.image ?? c.image;
      if (c.state?.waiting) reasons.push(waitingSentence('container', c, image));
      else if (c.state?.terminated) reasons.push(`container ${c.name}: terminated (${terminatedWords(c.state.terminated)}) after ${c.restartCount ?? 0} restart(s)`);
      else if (c.ready === false) reasons.push(notReadySentence(pod, c));
    }
  }
  if (pod.metadata.deletionTimestamp !== undefined) {
    // printPod: a pod being deleted shows Terminating (Unknown when the node is lost).
    status = d.reason === 'NodeLost' ? 'Unknown' : 'Terminating';
  }
  return { status, restarts, reasons };
}

function notReadySentence(pod: Pod, c: ContainerStatusDetail): string {
  const spec = pod.spec.containers.find((s) => s.name === c.name);
  const restarts = c.restartCount ? `, ${c.restartCount} restart(s)` : '';
  if (c.state?.running && c.started === false) return `container ${c.name}: running, not started yet: its startupProbe has not passed${restarts}`;
  if (spec?.readinessProbe) return `container ${c.name}: running, not ready: its readinessProbe fails${restarts}`;
  return `container ${c.name}: ${stateWords(c.state)}, not ready${restarts}`;
}

/** `kubectl get pods` columns in one phrase: "CrashLoopBackOff, 7 restarts". */
export function statusPhrase(r: PodStatusReport): string {
  return r.restarts > 0 ? `${r.status}, ${r.restarts} restart${r.restarts === 1 ? '' : 's'}` : r.status;
}
