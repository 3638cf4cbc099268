import type { Simulator, EventHandle } from '../engine/simulator.ts';
import type { RandomStream } from '../engine/random.ts';
import { SECOND, type Nanos } from '../engine/time.ts';
import { DELETE, type ApiServer, type WatchEvent } from './apiserver.ts';
import { formatIPv4, parseIPv4, PodIPAllocator, type Cidr } from './ipam.ts';
import type { Latency } from './latency.ts';
import { objectKey, type Pod } from './objects.ts';
import type { PodNetwork } from './pod-network.ts';
import { isTerminal, withReady, withStarted, withTerminated } from './pod-status.ts';

/**
 * The kubelet of one node, reduced to what decides when a pod's IP answers and when its Ready
 * condition changes (kubernetes/kubernetes pkg/kubelet):
 *
 * - It watches its node's pods (the `spec.nodeName=<node>` field selector, pkg/kubelet/config/apiserver.go)
 *   with the API server's watch delay.
 * - Startup: a new pod's sandbox gets an IP (host-local IPAM over the node's pod CIDR, ipam.ts) and its
 *   containers run `podStartupLatency` after the pod's creation (the SLI "pod startup latency" of
 *   sig-scalability, image pull included). The kubelet then writes phase Running, podIP, Ready=False.
 * - Readiness (pkg/kubelet/prober/worker.go): a worker per pod ticks every `period` from the pod's
 *   admission; the prober manager triggers one probe at once when the container starts
 *   (prober_manager.go UpdatePodStatus: manualTriggerCh); a probe before `initialDelay` has passed since
 *   the container started is skipped; the result changes only after `successThreshold` consecutive
 *   successes or `failureThreshold` consecutive failures (doProbe's resultRun); the readiness result
 *   starts as Failure. A probe of a listening container succeeds, of a refusing one fails at once, of an
 *   unreachable one fails after `timeout`. Ticks whose outcome cannot change anything (the result is
 *   settled and the container's state has not changed) are not simulated: the next tick is computed
 *   from the worker's phase when the state changes, which gives the same instants.
 * - The Ready and ContainersReady conditions are written through the API server with its write delay
 *   (pkg/kubelet/status/status_manager.go), lastTransitionTime at the probe's instant.
 * - Graceful termination (pkg/kubelet/kubelet.go syncTerminatingPod, kuberuntime killContainer): on
 *   hearing of the deletion the kubelet sends SIGTERM; the process keeps accepting until the grace
 *   period ends (then SIGKILL), or, with grace 0, stops at once. Probes keep running while it
 *   terminates, so the pod stays Ready (the endpoint is ready=false, serving=true, terminating=true).
 *   When the process is gone the IP refuses; the kubelet reports the terminal phase and Ready=False,
 *   tears the sandbox down (the IP is released: unreachable) and confirms the deletion with a
 *   grace-0 delete (status_manager.go canBeDeleted).
 * - A crash (`crash`): the process stops listening at once (refusing); readiness probes then fail and
 *   after `failureThreshold` of them the pod is marked not Ready; it answers again after `downFor`.
 * - Node failure (`fail`): the kubelet and every pod on the node stop answering at once (unreachable);
 *   nothing more is written for them (the node lifecycle controller takes over, node-lifecycle.ts).
 *
 * The pod network table (pod-network.ts) is updated at each of these instants.
 */

export type Sampler = (rng: RandomStream) => Nanos;

/** core/v1 Probe timing in ns (the scenario's controlPlane.readinessProbe). */
export interface ProbeSpec {
  initialDelay: Nanos;
  period: Nanos;
  timeout: Nanos;
  successThreshold: number;
  failureThreshold: number;
}

/** core/v1 Probe defaults (pkg/apis/core/v1/defaults.go SetDefaults_Probe). */
export const DEFAULT_PROBE: ProbeSpec = { initialDelay: 0, period: 10 * SECOND, timeout: 1 * SECOND, successThreshold: 1, failureThreshold: 3 };

export interface KubeletOptions {
  nodeName: string;
  nodeIP?: string;
  /** The node's spec.podCIDR. */
  podCIDR: Cidr;
  podNetwork: PodNetwork;
  /** From the pod's creation to its containers running. */
  podStartupLatency: Sampler;
  /** undefined: the pods have no readiness probe and are Ready as soon as they run. */
  readinessProbe?: ProbeSpec;
  /** Delay of the kubelet's pod watch (defaults to the API server's). */
  watchLatency?: Latency;
}

type Phase = 'starting' | 'running' | 'terminating' | 'stopped' | 'gone';

/** What the kubelet holds for one pod. */
interface PodRuntime {
  kubelet: Kubelet;
  key: string;
  pod: Pod;
  phase: Phase;
  ip: string | undefined;
  /** The process answers connections (false while crashed or after exit). */
  listening: boolean;
  admittedAt: Nanos;
  startedAt: Nanos;
  /** Probe worker: cached result (true = Success), last raw result and its run length. */
  probeReady: boolean;
  lastResult: boolean | undefined;
  resultRun: number;
  /** The Ready status last written (or being written) to the API. */
  reportedReady: boolean;
  probeTimer: EventHandle | undefined;
  timer: EventHandle | undefined;
}

function onStart(rt: PodRuntime): void {
  rt.timer = undefined;
  rt.kubelet.containerStarted(rt);
}
function onProbeTick(rt: PodRuntime): void {
  rt.probeTimer = undefined;
  rt.kubelet.probe(rt, false);
}
function onManualProbe(rt: PodRuntime): void {
  rt.kubelet.probe(rt, true);
}
function onExit(rt: PodRuntime): void {
  rt.timer = undefined;
  rt.kubelet.processExited(rt);
}
function onRecover(rt: PodRuntime): void {
  rt.timer = undefined;
  rt.kubelet.recovered(rt);
}

export class Kubelet {
  readonly nodeName: string;
  readonly ipam: PodIPAllocator;
  /** False once the node has failed. */
  alive = true;
  /** Status writes issued. */
  statusWrites = 0;
  private readonly pods = new Map<string, PodRuntime>();
  private readonly rng: RandomStream;
  private readonly client: string;

  constructor(
    readonly sim: Simulator,
    readonly api: ApiServer,
    readonly options: KubeletOptions,
  ) {
    this.nodeName = options.nodeName;
    this.ipam = new PodIPAllocator(options.podCIDR);
    this.rng = sim.rng(`k8s/kubelet/${options.nodeName}/startup`);
    this.client = `kubelet/${options.nodeName}`;
  }

  /**
   * Adopts the pods the API already holds for this node as running (a cluster that exists before the
   * run starts: each Ready pod listens and its probe result is settled), then watches for changes.
   * `podsOnNode` spares a scan of every pod when the caller has them grouped by node.
   */
  start(podsOnNode?: Iterable<Pod>): void {
    for (const p of podsOnNode ?? this.api.list<Pod>('Pod')) {
      if (p.spec.nodeName !== this.nodeName) continue;
      const ip = p.status?.podIP;
      if (!ip || p.status?.phase !== 'Running') {
        this.admit(p, this.sim.now);
        continue;
      }
      const ready = p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
      const rt = this.runtime(p, 'running');
      rt.ip = ip;
      rt.listening = true;
      rt.startedAt = this.sim.now;
      rt.probeReady = ready;
      rt.lastResult = ready;
      rt.resultRun = ready ? Infinity : 0;
      rt.reportedReady = ready;
      this.ipam.reserve(parseIPv4(ip));
      this.options.podNetwork.set(ip, rt.key, this.nodeName, 'accepting', ready, this.sim.now);
      if (!ready) this.scheduleProbe(rt);
      if (p.metadata.deletionTimestamp !== undefined) this.terminate(rt);
    }
    this.api.watch({
      name: this.client,
      kind: 'Pod',
      nodeName: this.nodeName,
      sendInitialEvents: false,
      ...(this.options.watchLatency ? { latency: this.options.watchLatency } : {}),
      handler: (e) => this.onPod(e as WatchEvent<Pod>),
    });
  }

  /** Pods this kubelet runs (not yet torn down). */
  get podCount(): number {
    return this.pods.size;
  }

  private runtime(pod: Pod, phase: Phase): PodRuntime {
    const rt: PodRuntime = {
      kubelet: this,
      key: objectKey(pod.metadata),
      pod,
      phase,
      ip: undefined,
      listening: false,
      admittedAt: this.sim.now,
      startedAt: -1,
      probeReady: false,
      lastResult: undefined,
      resultRun: 0,
      reportedReady: false,
      probeTimer: undefined,
      timer: undefined,
    };
    this.pods.set(rt.key, rt);
    return rt;
  }

  private onPod(e: WatchEvent<Pod>): void {
    if (!this.alive) return;
    const rt = this.pods.get(e.key);
    if (e.type === 'DELETED') {
      // Deleted without our confirmation (a forced delete): kill and tear down now.
      if (rt && rt.phase !== 'gone') {
        this.cancelTimers(rt);
        this.stopListening(rt);
        this.teardown(rt);
      }
      return;
    }
    const pod = e.object;
    if (!rt) {
      if (pod.metadata.deletionTimestamp === undefined && !isTerminal(pod)) this.admit(pod, e.committedAt);
      return;
    }
    rt.pod = pod;
    if (pod.metadata.deletionTimestamp !== undefined && (rt.phase === 'starting' || rt.phase === 'running')) this.terminate(rt);
  }

  // ---- startup

  private admit(pod: Pod, createdAt: Nanos): void {
    const rt = this.runtime(pod, 'starting');
    const at = Math.max(this.sim.now, createdAt + this.options.podStartupLatency(this.rng));
    rt.timer = this.sim.scheduleAt(at, onStart, rt);
  }

  /** @internal */
  containerStarted(rt: PodRuntime): void {
    const ipn = this.ipam.allocate();
    if (ipn === undefined) return; // node's pod CIDR exhausted: the sandbox cannot start (CNI error)
    const ip = formatIPv4(ipn);
    const now = this.sim.now;
    rt.ip = ip;
    rt.phase = 'running';
    rt.listening = true;
    rt.startedAt = now;
    const probe = this.options.readinessProbe;
    const ready = probe === undefined;
    rt.probeReady = ready;
    rt.reportedReady = ready;
    this.options.podNetwork.set(ip, rt.key, this.nodeName, 'accepting', ready, now);
    this.write(rt, (cur) => withStarted(cur, ip, this.options.nodeIP, now, ready));
    if (probe) {
      this.scheduleProbe(rt);
      this.sim.schedule(0, onManualProbe, rt);
    }
  }

  // ---- readiness probe

  /** Schedules the worker's next tick strictly after now (ticks at admittedAt + k * period). */
  private scheduleProbe(rt: PodRuntime): void {
    const probe = this.options.readinessProbe;
    if (!probe || rt.probeTimer !== undefined) return;
    const k = Math.floor((this.sim.now - rt.admittedAt) / probe.period) + 1;
    rt.probeTimer = this.sim.scheduleAt(rt.admittedAt + k * probe.period, onProbeTick, rt);
  }

  /** @internal one probe (a tick or the manual trigger). */
  probe(rt: PodRuntime, manual: boolean): void {
    if (!this.alive || rt.phase === 'gone' || rt.phase === 'starting' || rt.phase === 'stopped') return;
    const probe = this.options.readinessProbe!;
    if (!manual) this.scheduleProbe(rt);
    if (this.sim.now - rt.startedAt < probe.initialDelay) return;
    if (rt.listening) this.probeResult(rt, true);
    else this.probeResult(rt, false);
  }

  /** @internal doProbe's result bookkeeping. */
  probeResult(rt: PodRuntime, ok: boolean): void {
    if (rt.phase === 'gone' || rt.phase === 'stopped' || !this.alive) return;
    const probe = this.options.readinessProbe!;
    if (rt.lastResult === ok) rt.resultRun++;
    else {
      rt.lastResult = ok;
      rt.resultRun = 1;
    }
    if (ok !== rt.probeReady && rt.resultRun >= (ok ? probe.successThreshold : probe.failureThreshold)) {
      rt.probeReady = ok;
      this.options.podNetwork.set(rt.ip!, rt.key, this.nodeName, rt.listening ? 'accepting' : 'refusing', ok, this.sim.now);
      this.reportReady(rt, ok);
    }
    // Settled: the result equals what the container state gives, so ticks change nothing until it changes.
    if (rt.probeReady === rt.listening && rt.lastResult === rt.listening && rt.probeTimer !== undefined) {
      this.sim.cancel(rt.probeTimer);
      rt.probeTimer = undefined;
    }
  }

  private reportReady(rt: PodRuntime, ready: boolean): void {
    if (rt.reportedReady === ready) return;
    rt.reportedReady = ready;
    const t = this.sim.now;
    this.write(rt, (cur) => withReady(cur, ready, t));
  }

  // ---- crash

  /** The pod's process stops listening now; it listens again after `downFor` (default: never). */
  crash(podKey: string, downFor?: Nanos): boolean {
    const rt = this.pods.get(podKey);
    if (!this.alive || !rt || rt.phase !== 'running' || !rt.listening) return false;
    this.stopListening(rt);
    this.scheduleProbe(rt);
    if (downFor !== undefined) rt.timer = this.sim.schedule(downFor, onRecover, rt);
    return true;
  }

  /** @internal */
  recovered(rt: PodRuntime): void {
    if (!this.alive || rt.phase !== 'running') return;
    rt.listening = true;
    this.options.podNetwork.set(rt.ip!, rt.key, this.nodeName, 'accepting', rt.probeReady, this.sim.now);
    this.scheduleProbe(rt);
  }

  private stopListening(rt: PodRuntime): void {
    rt.listening = false;
    if (rt.ip !== undefined) this.options.podNetwork.set(rt.ip, rt.key, this.nodeName, 'refusing', rt.probeReady, this.sim.now);
  }

  // ---- termination

  private terminate(rt: PodRuntime): void {
    if (rt.phase === 'starting') {
      // Never started: nothing to kill; confirm the deletion.
      this.cancelTimers(rt);
      rt.phase = 'stopped';
      this.teardown(rt);
      return;
    }
    rt.phase = 'terminating';
    const grace = (rt.pod.metadata.deletionGracePeriodSeconds ?? rt.pod.spec.terminationGracePeriodSeconds ?? 30) * SECOND;
    if (rt.timer !== undefined) {
      this.sim.cancel(rt.timer); // a pending crash recovery
      rt.timer = undefined;
    }
    if (grace <= 0) this.processExited(rt);
    else rt.timer = this.sim.schedule(grace, onExit, rt);
  }

  /** @internal SIGKILL at the end of the grace period (or the process exited). */
  processExited(rt: PodRuntime): void {
    if (!this.alive || rt.phase !== 'terminating') return;
    if (rt.probeTimer !== undefined) {
      this.sim.cancel(rt.probeTimer);
      rt.probeTimer = undefined;
    }
    rt.phase = 'stopped';
    this.stopListening(rt);
    rt.probeReady = false;
    rt.reportedReady = false;
    const t = this.sim.now;
    // Status first (terminal phase: the container was killed, exit code 137 -> Failed; Ready False),
    // then sandbox teardown and the confirming delete.
    this.write(rt, (cur) => withTerminated(cur, 'Failed', t), () => this.teardown(rt));
  }

  private teardown(rt: PodRuntime): void {
    if (rt.phase === 'gone') return;
    rt.phase = 'gone';
    this.pods.delete(rt.key);
    if (rt.ip !== undefined) {
      if (this.alive) this.options.podNetwork.release(rt.ip, rt.key, this.sim.now);
      this.ipam.release(parseIPv4(rt.ip));
    }
    if (this.alive) this.api.submit<Pod>({ kind: 'Pod', key: rt.key, client: this.client, mutate: (cur) => (cur && cur.metadata.uid === rt.pod.metadata.uid ? DELETE : undefined) });
  }

  private cancelTimers(rt: PodRuntime): void {
    if (rt.timer !== undefined) this.sim.cancel(rt.timer);
    if (rt.probeTimer !== undefined) this.sim.cancel(rt.probeTimer);
    rt.timer = rt.probeTimer = undefined;
  }

  // ---- node failure

  /** The node stops: every pod IP on it goes unreachable now and the kubelet writes nothing more. */
  fail(): void {
    if (!this.alive) return;
    const now = this.sim.now;
    for (const rt of this.pods.values()) {
      this.cancelTimers(rt);
      if (rt.ip !== undefined) this.options.podNetwork.set(rt.ip, rt.key, this.nodeName, 'unreachable', false, now);
    }
    this.alive = false;
  }

  // ---- API writes

  /**
   * A status write of this pod through the API server. `mutate` builds the new version from the one
   * stored at commit time; a pod that was deleted or replaced (another uid) meanwhile is left alone.
   */
  private write(rt: PodRuntime, mutate: (cur: Pod) => Pod, then?: () => void): void {
    this.statusWrites++;
    const uid = rt.pod.metadata.uid;
    this.api.submit<Pod>({
      kind: 'Pod',
      key: rt.key,
      client: this.client,
      mutate: (cur) => (cur && cur.metadata.uid === uid ? mutate(cur) : undefined),
      ...(then ? { onCommit: () => then() } : {}),
    });
  }
}

