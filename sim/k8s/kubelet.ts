import type { Simulator, EventHandle } from '../engine/simulator.ts';
import type { RandomStream } from '../engine/random.ts';
import { SECOND, type Nanos } from '../engine/time.ts';
import { DELETE, type ApiServer, type WatchEvent } from './apiserver.ts';
import { formatIPv4, parseIPv4, type Cidr } from '../net/ipv4.ts';
import { PodIPAllocator } from './ipam.ts';
import type { Latency } from './latency.ts';
import { objectKey, type Pod } from './objects.ts';
import type { PodNetwork } from './pod-network.ts';
import { isTerminal, withContainerExited, withContainerRestarted, withReady, withStarted, withTerminated } from './pod-status.ts';

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
 *   hearing of the deletion the kubelet sends SIGTERM; the process keeps accepting until it exits by
 *   itself (`exitAfterSigterm`, an app that drains then exits) or the grace period ends (SIGKILL),
 *   whichever comes first; with grace 0 it stops at once. Probes keep running while it
 *   terminates, so the pod stays Ready (the endpoint is ready=false, serving=true, terminating=true).
 *   When the process is gone the IP refuses; the kubelet reports the terminal phase and Ready=False,
 *   tears the sandbox down (the IP is released: unreachable) and confirms the deletion with a
 *   grace-0 delete (status_manager.go canBeDeleted).
 * - A crash (`crash`): the container's process exits, so its IP refuses at once. The kubelet notices at
 *   its next PLEG relist (pkg/kubelet/pleg/generic.go, every 1 s: kubelet.go genericPlegRelistPeriod)
 *   and, the container not running, writes Ready=False whatever the probes say (the prober manager's
 *   UpdatePodStatus gives a non-running container ready=false, pkg/kubelet/prober/prober_manager.go;
 *   with or without a readiness probe). The pod's stop instant is the crash (sim-times.ts). Then, per
 *   spec.restartPolicy (default Always; a crash is a non-zero exit, so OnFailure restarts too), the
 *   container restarts with the CrashLoopBackOff delay of pkg/kubelet/kuberuntime
 *   (kuberuntime_manager.go doBackOff over a flowcontrol.Backoff of 10 s doubling to 300 s: the first
 *   crash restarts at once, the next ones wait 10 s, 20 s, ... 5 min; the backoff forgets a container
 *   that ran 10 min, twice the cap). The new container answers as soon as it runs (its own startup
 *   time is not modelled); the kubelet sees it at the following relist and then writes its status:
 *   Ready without a probe, else readiness from Failure with the prober's manual trigger (worker.go: a
 *   new container ID resets the result to its initial value). With restartPolicy Never the pod ends Failed: its sandbox goes
 *   (the IP is released) and the pod object stays for its ReplicaSet to replace.
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
  /**
   * Each pod's own probe (a cluster read from manifests: its pod template's readinessProbe,
   * manifest-live.ts templateProbe); when given it replaces `readinessProbe`.
   */
  probeOf?: (pod: Pod) => ProbeSpec | undefined;
  /**
   * SIGTERM to the process's exit (an app that drains, then exits), capped by the grace period.
   * undefined: the process serves until the grace period ends (SIGKILL).
   */
  exitAfterSigterm?: Sampler;
  /** Delay of the kubelet's pod watch (defaults to the API server's). */
  watchLatency?: Latency;
}

type Phase = 'starting' | 'running' | 'crashed' | 'terminating' | 'stopped' | 'gone';

/** The kubelet's container restart backoff (pkg/kubelet/kubelet.go: backOffPeriod 10s, MaxContainerBackOff 300s). */
export const CRASH_BACKOFF_INITIAL = 10 * SECOND;
export const CRASH_BACKOFF_MAX = 300 * SECOND;
/** Generic PLEG relist period (kubelet.go genericPlegRelistPeriod). */
export const PLEG_RELIST_PERIOD = 1 * SECOND;

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
  /** Crash bookkeeping: when the process exited, restarts so far, the backoff entry (0: none) and its last update. */
  crashedAt: Nanos;
  /** Terminating: the process exits by itself (exit 0) before the grace period ends. */
  exitsByItself: boolean;
  restartCount: number;
  backoff: Nanos;
  backoffUpdated: Nanos;
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
function onCrashSeen(rt: PodRuntime): void {
  rt.timer = undefined;
  rt.kubelet.crashSeen(rt);
}
function onRestart(rt: PodRuntime): void {
  rt.timer = undefined;
  rt.kubelet.restarted(rt);
}
function onRestartSeen(rt: PodRuntime): void {
  rt.timer = undefined;
  rt.kubelet.restartSeen(rt);
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
  /** Offset of the PLEG relist ticks; drawn at the first crash (-1: not yet). */
  private plegPhase = -1;
  /** Draws of exitAfterSigterm (created when first needed). */
  private exitRng: RandomStream | undefined;

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

  /** The readiness probe of the pod `rt` runs. */
  private probeFor(rt: PodRuntime): ProbeSpec | undefined {
    return this.options.probeOf ? this.options.probeOf(rt.pod) : this.options.readinessProbe;
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
      crashedAt: -1,
      exitsByItself: false,
      restartCount: 0,
      backoff: 0,
      backoffUpdated: -1,
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
    if (pod.metadata.deletionTimestamp !== undefined && (rt.phase === 'starting' || rt.phase === 'running' || rt.phase === 'crashed')) this.terminate(rt);
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
    const probe = this.probeFor(rt);
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
    const probe = this.probeFor(rt);
    if (!probe || rt.probeTimer !== undefined) return;
    const k = Math.floor((this.sim.now - rt.admittedAt) / probe.period) + 1;
    rt.probeTimer = this.sim.scheduleAt(rt.admittedAt + k * probe.period, onProbeTick, rt);
  }

  /** @internal one probe (a tick or the manual trigger). */
  probe(rt: PodRuntime, manual: boolean): void {
    if (!this.alive || rt.phase === 'gone' || rt.phase === 'starting' || rt.phase === 'stopped' || rt.phase === 'crashed') return;
    const probe = this.probeFor(rt)!;
    if (!manual) this.scheduleProbe(rt);
    if (this.sim.now - rt.startedAt < probe.initialDelay) return;
    if (rt.listening) this.probeResult(rt, true);
    else this.probeResult(rt, false);
  }

  /** @internal doProbe's result bookkeeping. */
  probeResult(rt: PodRuntime, ok: boolean): void {
    if (rt.phase === 'gone' || rt.phase === 'stopped' || rt.phase === 'crashed' || !this.alive) return;
    const probe = this.probeFor(rt)!;
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

  /** The pod's container runs and answers here (what `crash` needs). */
  isRunning(podKey: string): boolean {
    const rt = this.pods.get(podKey);
    return this.alive && rt !== undefined && rt.phase === 'running' && rt.listening;
  }

  /** The pod's container exits now (a crash); false if it is not running here. */
  crash(podKey: string): boolean {
    const rt = this.pods.get(podKey);
    if (!this.alive || !rt || rt.phase !== 'running' || !rt.listening) return false;
    if (rt.timer !== undefined) this.sim.cancel(rt.timer); // the relist that would see the last restart
    rt.phase = 'crashed';
    rt.crashedAt = this.sim.now;
    if (rt.probeTimer !== undefined) {
      this.sim.cancel(rt.probeTimer);
      rt.probeTimer = undefined;
    }
    this.stopListening(rt);
    rt.timer = this.sim.scheduleAt(this.nextRelist(), onCrashSeen, rt);
    return true;
  }

  /** The next generic PLEG relist strictly after now (relists tick at a per-kubelet phase + k * 1 s). */
  private nextRelist(): Nanos {
    if (this.plegPhase < 0) this.plegPhase = Math.floor(this.sim.rng(`k8s/kubelet/${this.nodeName}/pleg-phase`).random() * PLEG_RELIST_PERIOD);
    const k = Math.floor((this.sim.now - this.plegPhase) / PLEG_RELIST_PERIOD) + 1;
    return this.plegPhase + Math.max(0, k) * PLEG_RELIST_PERIOD;
  }

  /** @internal PLEG saw the container die: Ready=False now, then the restart policy. */
  crashSeen(rt: PodRuntime): void {
    if (!this.alive || rt.phase !== 'crashed') return;
    const now = this.sim.now;
    const crashedAt = rt.crashedAt;
    rt.probeReady = false;
    rt.lastResult = undefined;
    rt.resultRun = 0;
    this.options.podNetwork.set(rt.ip!, rt.key, this.nodeName, 'refusing', false, now);
    rt.reportedReady = false;
    if ((rt.pod.spec.restartPolicy ?? 'Always') === 'Never') {
      rt.phase = 'stopped';
      this.write(rt, (cur) => withTerminated(withReady(cur, false, now, 'ContainersNotReady', crashedAt), 'Failed', now), () => this.teardown(rt, false));
      return;
    }
    this.write(rt, (cur) => withContainerExited(withReady(cur, false, now, 'ContainersNotReady', crashedAt)));
    // doBackOff: restart at once unless the container is in its backoff window since it exited.
    const inBackoff = rt.backoff > 0 && !(crashedAt - rt.backoffUpdated > 2 * CRASH_BACKOFF_MAX) && now - crashedAt < rt.backoff;
    const at = inBackoff ? crashedAt + rt.backoff : now;
    rt.timer = this.sim.scheduleAt(at, onRestart, rt);
  }

  /** @internal The container runs again (a new container ID): backoff advanced; the kubelet sees it at the next relist. */
  restarted(rt: PodRuntime): void {
    if (!this.alive || rt.phase !== 'crashed') return;
    const now = this.sim.now;
    // flowcontrol.Backoff.Next: a fresh (or expired) entry starts at the initial delay, else doubles to the cap.
    rt.backoff = rt.backoff === 0 || now - rt.backoffUpdated > 2 * CRASH_BACKOFF_MAX ? CRASH_BACKOFF_INITIAL : Math.min(2 * rt.backoff, CRASH_BACKOFF_MAX);
    rt.backoffUpdated = now;
    rt.restartCount++;
    rt.phase = 'running';
    rt.listening = true;
    rt.startedAt = now;
    rt.probeReady = false;
    this.options.podNetwork.set(rt.ip!, rt.key, this.nodeName, 'accepting', false, now);
    rt.timer = this.sim.scheduleAt(this.nextRelist(), onRestartSeen, rt);
  }

  /**
   * @internal The relist after the restart: the status shows the new container running, Ready at once
   * without a probe; with one, the prober manager's manual trigger probes it now (readiness from Failure).
   */
  restartSeen(rt: PodRuntime): void {
    if (!this.alive || rt.phase !== 'running') return;
    const now = this.sim.now;
    const probe = this.probeFor(rt);
    const ready = probe === undefined;
    const restarts = rt.restartCount;
    if (ready) {
      rt.probeReady = true;
      rt.reportedReady = true;
      this.options.podNetwork.set(rt.ip!, rt.key, this.nodeName, 'accepting', true, now);
    }
    this.write(rt, (cur) => withContainerRestarted(ready ? withReady(cur, true, now) : cur, restarts, ready));
    if (probe) {
      this.scheduleProbe(rt);
      this.sim.schedule(0, onManualProbe, rt);
    }
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
    if (rt.phase === 'crashed') {
      // Nothing runs to signal: the kubelet stops the sandbox without waiting out the grace period.
      this.cancelTimers(rt);
      rt.phase = 'terminating';
      this.processExited(rt);
      return;
    }
    rt.phase = 'terminating';
    const grace = (rt.pod.metadata.deletionGracePeriodSeconds ?? rt.pod.spec.terminationGracePeriodSeconds ?? 30) * SECOND;
    if (rt.timer !== undefined) {
      this.sim.cancel(rt.timer);
      rt.timer = undefined;
    }
    // The process exits by itself after draining (exitAfterSigterm), or is killed when the grace period ends.
    let exitIn = grace;
    if (grace > 0 && this.options.exitAfterSigterm) {
      this.exitRng ??= this.sim.rng(`k8s/kubelet/${this.nodeName}/exit`);
      exitIn = Math.min(grace, Math.max(0, this.options.exitAfterSigterm(this.exitRng)));
    }
    rt.exitsByItself = exitIn < grace;
    if (exitIn <= 0) this.processExited(rt);
    else rt.timer = this.sim.schedule(exitIn, onExit, rt);
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
    // Status first (terminal phase: killed, exit code 137 -> Failed; exited by itself, 0 -> Succeeded;
    // Ready False), then sandbox teardown and the confirming delete.
    const phase = rt.exitsByItself ? 'Succeeded' : 'Failed';
    this.write(rt, (cur) => withTerminated(cur, phase, t), () => this.teardown(rt));
  }

  /** Sandbox gone, IP released; `confirmDelete`: the grace-0 delete of a deleted pod (not of a pod that ended Failed). */
  private teardown(rt: PodRuntime, confirmDelete = true): void {
    if (rt.phase === 'gone') return;
    rt.phase = 'gone';
    this.pods.delete(rt.key);
    if (rt.ip !== undefined) {
      if (this.alive) this.options.podNetwork.release(rt.ip, rt.key, this.sim.now);
      this.ipam.release(parseIPv4(rt.ip));
    }
    if (this.alive && confirmDelete) this.api.submit<Pod>({ kind: 'Pod', key: rt.key, client: this.client, mutate: (cur) => (cur && cur.metadata.uid === rt.pod.metadata.uid ? DELETE : undefined) });
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

