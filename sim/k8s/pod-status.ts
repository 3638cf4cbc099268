import type { Nanos } from '../engine/time.ts';
import type { Pod, PodCondition, PodPhase } from './objects.ts';
import { condition, markStoppedServing } from './sim-times.ts';
import { formatTimestamp } from './timestamps.ts';

/**
 * Pure builders of the pod versions the kubelet and controllers write. Each returns a new version
 * that shares everything it does not change with `cur` (labels above all: the EndpointSlice
 * controller compares label maps by identity first), as the objects are immutable versions.
 */

/**
 * The Ready and ContainersReady conditions set to `ready` at `t` (the kubelet's status manager writes
 * both: pkg/kubelet/status/generate.go GeneratePodReadyCondition / GenerateContainersReadyCondition).
 * A condition whose status does not change keeps its lastTransitionTime (status_manager.go
 * updateLastTransitionTime), so the trigger time the EndpointSlice controller reads stays the instant
 * of the transition. `stoppedAt` (a crash, a node failure) records when the pod actually stopped
 * answering, before this write (sim-times.ts markStoppedServing).
 */
export function withReady(cur: Pod, ready: boolean, t: Nanos, reason?: string, stoppedAt?: Nanos): Pod {
  const status = ready ? 'True' : 'False';
  const old = cur.status?.conditions ?? [];
  const out: PodCondition[] = [];
  let sawReady = false;
  let sawContainers = false;
  for (const c of old) {
    if (c.type === 'Ready' || c.type === 'ContainersReady') {
      if (c.type === 'Ready') sawReady = true;
      else sawContainers = true;
      out.push(c.status === status ? c : condition(c.type, status, t, ready ? undefined : reason ?? 'ContainersNotReady'));
    } else out.push(c);
  }
  if (!sawContainers) out.push(condition('ContainersReady', status, t, ready ? undefined : reason ?? 'ContainersNotReady'));
  if (!sawReady) out.push(condition('Ready', status, t, ready ? undefined : reason ?? 'ContainersNotReady'));
  if (!ready && stoppedAt !== undefined) {
    // Only a condition that transitions now stands for this stop (an already False one keeps its own).
    for (const c of out) if (c.type === 'Ready' && !old.includes(c)) markStoppedServing(c, stoppedAt);
  }
  return { ...cur, status: { ...cur.status, conditions: out } };
}

/** The status the kubelet reports once the sandbox has an IP and the containers run (Ready False until probed). */
export function withStarted(cur: Pod, podIP: string, hostIP: string | undefined, t: Nanos, ready: boolean): Pod {
  const conds: PodCondition[] = [
    condition('PodScheduled', 'True', t),
    condition('Initialized', 'True', t),
    condition('PodReadyToStartContainers', 'True', t),
  ];
  const base: Pod = {
    ...cur,
    status: {
      ...cur.status,
      phase: 'Running',
      podIP,
      podIPs: [{ ip: podIP }],
      ...(hostIP !== undefined ? { hostIP } : {}),
      startTime: formatTimestamp(t),
      conditions: conds,
      containerStatuses: cur.spec.containers.map((c) => ({ name: c.name, ready, restartCount: 0, started: true })),
    },
  };
  return withReady(base, ready, t);
}

/** The containers' status after a crash: not running, not ready (restartCount counts restarts done). */
export function withContainerExited(cur: Pod): Pod {
  const cs = (cur.status?.containerStatuses ?? cur.spec.containers.map((c) => ({ name: c.name, ready: false, restartCount: 0 }))).map((c) => ({ ...c, ready: false, started: false }));
  return { ...cur, status: { ...cur.status, containerStatuses: cs } };
}

/** The containers running again after their `restartCount`-th restart. */
export function withContainerRestarted(cur: Pod, restartCount: number, ready: boolean): Pod {
  const cs = (cur.status?.containerStatuses ?? cur.spec.containers.map((c) => ({ name: c.name, ready: false, restartCount: 0 }))).map((c) => ({ ...c, ready, started: true, restartCount }));
  return { ...cur, status: { ...cur.status, containerStatuses: cs } };
}

/** Containers terminated: the terminal phase (kubelet sets it for deleted pods since v1.27) and Ready False. */
export function withTerminated(cur: Pod, phase: Extract<PodPhase, 'Succeeded' | 'Failed'>, t: Nanos): Pod {
  const p = withReady(cur, false, t, 'PodCompleted');
  return { ...p, status: { ...p.status, phase } };
}

/**
 * A graceful delete as the API server records it (k8s.io/apiserver registry/rest/delete.go
 * BeforeDelete): deletionTimestamp = now + grace, deletionGracePeriodSeconds = grace (whole seconds,
 * rounded up here). The object stays until the kubelet confirms with a delete of grace 0.
 */
export function withDeletion(cur: Pod, graceNs: Nanos, now: Nanos): Pod {
  const grace = Math.ceil(graceNs / 1e9);
  return { ...cur, metadata: { ...cur.metadata, deletionTimestamp: formatTimestamp(now + grace * 1e9), deletionGracePeriodSeconds: grace } };
}

export function isTerminal(pod: Pod): boolean {
  const p = pod.status?.phase;
  return p === 'Succeeded' || p === 'Failed';
}
