import type { Nanos } from '../engine/time.ts';
import type { KubeObject, Pod, PodCondition } from './objects.ts';
import { formatTimestamp, parseTimestamp } from './timestamps.ts';

/**
 * Exact simulated instants behind the API's timestamps. The API writes metav1.Time with whole
 * seconds, which is what the real controller reads (so real trigger-time annotations are only
 * second-accurate); the simulator keeps the exact nanosecond beside each condition object it creates,
 * so latency measurements are not blurred by that rounding. Objects read from manifests fall back to
 * parsing the string.
 */
const exact = new WeakMap<object, Nanos>();

/** A pod condition that changed at `t`, carrying both the API string and the exact instant. */
export function condition(type: string, status: 'True' | 'False' | 'Unknown', t: Nanos, reason?: string): PodCondition {
  const c: PodCondition = { type, status, lastProbeTime: null, lastTransitionTime: formatTimestamp(t) };
  if (reason) c.reason = reason;
  exact.set(c, t);
  return c;
}

/**
 * When the pod stopped answering, if that was before its Ready condition went False: a container
 * crash (the kubelet notices at its next PLEG relist) or a node failure (the node lifecycle controller
 * notices after its grace period). Not an API field: the start of the simulator's stale-endpoint
 * window and of the EndpointChangeRecord's t0, while the API's lastTransitionTime stays the instant
 * the condition was written.
 */
const stopped = new WeakMap<object, Nanos>();

/** Marks a Ready=False condition as standing for a pod that stopped answering at `at`. */
export function markStoppedServing(c: PodCondition, at: Nanos): void {
  stopped.set(c, at);
}

/** The instant the pod stopped answering if it is not Ready: the recorded stop, else the transition; -1 when Ready or unknown. */
export function stoppedServingTime(pod: Pod): Nanos {
  const cs = pod.status?.conditions;
  if (!cs) return -1;
  for (const c of cs) {
    if (c.type !== 'Ready') continue;
    if (c.status === 'True') return -1;
    return stopped.get(c) ?? readyTransitionTime(pod);
  }
  return -1;
}

/** getPodTriggerTime: the Ready condition's lastTransitionTime (exact when known); -1 without one. */
export function readyTransitionTime(pod: Pod | KubeObject): Nanos {
  if (pod.kind !== 'Pod') {
    const c = pod.metadata.creationTimestamp;
    const t = c ? parseTimestamp(c) : NaN;
    return Number.isNaN(t) ? -1 : t;
  }
  const cs = pod.status?.conditions;
  if (!cs) return -1;
  for (const c of cs) {
    if (c.type !== 'Ready') continue;
    const e = exact.get(c);
    if (e !== undefined) return e;
    const t = c.lastTransitionTime ? parseTimestamp(c.lastTransitionTime) : NaN;
    return Number.isNaN(t) ? -1 : t;
  }
  return -1;
}
