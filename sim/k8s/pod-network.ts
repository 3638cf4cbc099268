import type { Nanos } from '../engine/time.ts';

/**
 * What a pod IP does with a new connection right now: the question a data-plane model asks when
 * kube-proxy's rules still send traffic to an endpoint the control plane is removing.
 *
 * - accepting:   the pod's process listens (running, or terminating but not yet exited);
 * - refusing:    the IP is up but nothing listens (crashed container, process exited, sandbox not yet
 *                torn down): the kernel answers SYN with RST, a fast failure;
 * - unreachable: the IP answers nothing (node down, sandbox gone): SYNs time out.
 *
 * The kubelet model writes it; this module imports nothing of the network layers (k8s knows nothing
 * of the kernel); addresses are the strings the API carries.
 */
export type PodIPState = 'accepting' | 'refusing' | 'unreachable';

/**
 * Whatever tells a data-plane model what a pod IP does with a new connection: the kubelets' PodNetwork
 * when the control plane runs, ALWAYS_ACCEPTING when the cluster is static.
 */
export interface PodIPStates {
  state(ip: string): PodIPState;
}

/** A static cluster's pods: every endpoint accepts for the whole run. */
export const ALWAYS_ACCEPTING: PodIPStates = { state: () => 'accepting' };

export interface PodIPEntry {
  pod: string; // namespace/name
  node: string;
  state: PodIPState;
  /** The pod passes its readiness probe (the kubelet's view, before any API write). */
  passingReadiness: boolean;
  since: Nanos;
}

export type PodIPListener = (ip: string, entry: PodIPEntry) => void;

export class PodNetwork implements PodIPStates {
  private readonly byIP = new Map<string, PodIPEntry>();
  private readonly listeners: PodIPListener[] = [];

  /** State of an IP; an IP no pod holds is unreachable. */
  state(ip: string): PodIPState {
    return this.byIP.get(ip)?.state ?? 'unreachable';
  }

  /** True when a connection to this IP would be accepted now. */
  answers(ip: string): boolean {
    return this.byIP.get(ip)?.state === 'accepting';
  }

  /** Accepting and passing readiness: a healthy backend. */
  isServing(ip: string): boolean {
    const e = this.byIP.get(ip);
    return e !== undefined && e.state === 'accepting' && e.passingReadiness;
  }

  entry(ip: string): PodIPEntry | undefined {
    return this.byIP.get(ip);
  }

  /** Called on every change (data-plane models that track backends subscribe here). */
  subscribe(l: PodIPListener): void {
    this.listeners.push(l);
  }

  get size(): number {
    return this.byIP.size;
  }

  /** @internal kubelet: record a change. */
  set(ip: string, pod: string, node: string, state: PodIPState, passingReadiness: boolean, now: Nanos): void {
    let e = this.byIP.get(ip);
    if (!e) this.byIP.set(ip, (e = { pod, node, state, passingReadiness, since: now }));
    else if (e.state === state && e.passingReadiness === passingReadiness && e.pod === pod) return;
    else {
      e.pod = pod;
      e.node = node;
      e.state = state;
      e.passingReadiness = passingReadiness;
      e.since = now;
    }
    for (const l of this.listeners) l(ip, e);
  }

  /** @internal kubelet: the sandbox is gone and the IP is free again. */
  release(ip: string, pod: string, now: Nanos): void {
    const e = this.byIP.get(ip);
    if (!e || e.pod !== pod) return;
    e.state = 'unreachable';
    e.passingReadiness = false;
    e.since = now;
    for (const l of this.listeners) l(ip, e);
    this.byIP.delete(ip);
  }
}
