import type { Simulator } from '../engine/simulator.ts';
import type { RandomStream } from '../engine/random.ts';
import { MINUTE, SECOND, type Nanos } from '../engine/time.ts';
import type { ApiServer } from './apiserver.ts';
import type { DeploymentController } from './deployment-controller.ts';
import type { Kubelet } from './kubelet.ts';
import type { NodeDrainer } from './node-drain.ts';
import type { NodeLifecycleController } from './node-lifecycle.ts';
import type { Deployment, Pod } from './objects.ts';
import type { ReplicaSetController } from './replicaset-controller.ts';
import { withDeletion } from './pod-status.ts';
import { selectorMatches } from './selector.ts';
import { InputError } from '../io/input-error.ts';
import { formatTimestampNano } from './timestamps.ts';

/**
 * Workload churn: the operator and failure actions that change endpoints during a run, each done the
 * way it is done to a real cluster, through the API, leaving the rest to the controllers:
 * - rolling-update: `kubectl rollout restart` (the pod template gets the
 *   kubectl.kubernetes.io/restartedAt annotation; staging/src/k8s.io/kubectl/pkg/polymorphichelpers/
 *   objectrestarter.go) with the given maxSurge/maxUnavailable and grace period; the Deployment
 *   controller then rolls the pods;
 * - pod-kill: `kubectl delete pod` of random pods at a Poisson rate (grace period as configured, 0 when
 *   gracefulTermination is false); the ReplicaSet controller replaces them;
 * - scale: `kubectl scale` of a Deployment up by `fraction` of its replicas (at least one; one replica
 *   when fraction is not given), then back down at the next event;
 * - node-failure: a node's kubelet and pods stop (kubelet.ts fail), the node lifecycle controller
 *   notices and evicts (node-lifecycle.ts);
 * - container-crash: a random running pod's container exits at a Poisson rate (ratePerMinute, or
 *   fraction of the pods per minute, as pod-kill); nothing is deleted: its kubelet marks it not Ready
 *   and restarts it with CrashLoopBackOff (kubelet.ts crash);
 * - node-drain: a node is cordoned, tainted ToBeDeletedByClusterAutoscaler, its pods evicted with
 *   graceful termination, and the Node deleted (node-drain.ts), `fraction` of the nodes (default one)
 *   at each event, at most `count` nodes in all; a node stays undrained so the pods have somewhere to go.
 * Durations are integer ns, as the resolved scenario gives them.
 */
export type ChurnKind = 'rolling-update' | 'pod-kill' | 'scale' | 'node-failure' | 'container-crash' | 'node-drain';

export interface ChurnSpec {
  kind: ChurnKind;
  /** First event; default 0. */
  start?: Nanos;
  /** Interval between events (rolling-update, scale, node-failure, node-drain). */
  every: Nanos;
  /** pod-kill: pods deleted per minute, cluster-wide; container-crash: crashes per minute. */
  ratePerMinute?: number;
  /** rolling-update: share of Deployments per event; pod-kill: share of pods per minute; scale: replicas added, relative; node-failure, node-drain: share of nodes per event. */
  fraction?: number;
  maxSurge?: number | string;
  maxUnavailable?: number | string;
  gracefulTermination?: boolean;
  terminationGracePeriod?: Nanos;
  /** node-drain: most nodes drained in the run (default: no limit). */
  count?: number;
  /** node-drain: cordon to taint, taint to eviction, eviction to the Node's deletion (node-drain.ts defaults). */
  taintAfter?: Nanos;
  evictAfter?: Nanos;
  deleteAfter?: Nanos;
  /** rolling-update: the workload's Deployments (default) or CoreDNS (`kubectl -n kube-system rollout restart deployment coredns`). */
  target?: 'workloads' | 'coredns';
  /**
   * rolling-update, scale, pod-kill, container-crash: only these Deployments (`namespace/name`).
   * rolling-update rolls every one of them at each event unless `fraction` says a share.
   */
  deployments?: readonly string[];
  /** pod-kill, container-crash: only pods carrying all these labels (`kubectl delete pod -l k=v`). */
  selector?: Readonly<Record<string, string>>;
}

export interface ChurnTargets {
  sim: Simulator;
  api: ApiServer;
  deployments: readonly string[];
  /** kube-system/coredns in clusters with DNS (coredns.ts). */
  coreDnsDeployment?: string;
  deploymentController: DeploymentController;
  replicaSetController: ReplicaSetController;
  kubelets: ReadonlyMap<string, Kubelet>;
  nodeLifecycle: NodeLifecycleController;
  nodeDrainer: NodeDrainer;
}

export interface ChurnCounts {
  rollouts: number;
  podKills: number;
  scaleEvents: number;
  nodeFailures: number;
  containerCrashes: number;
  nodeDrains: number;
}

const CLIENT = 'kubectl';

interface Source {
  churn: Churn;
  spec: ChurnSpec;
  rng: RandomStream;
  events: number;
  /** scale: the Deployment scaled up at the previous event and its added replicas. */
  scaled: { key: string; by: number } | undefined;
  /** node-drain: nodes this source drained. */
  drained: number;
}

function fire(s: Source): void {
  s.churn.fire(s);
}

export class Churn {
  readonly counts: ChurnCounts = { rollouts: 0, podKills: 0, scaleEvents: 0, nodeFailures: 0, containerCrashes: 0, nodeDrains: 0 };
  private readonly sources: Source[] = [];

  constructor(
    readonly t: ChurnTargets,
    specs: readonly ChurnSpec[],
  ) {
    specs.forEach((spec, i) => this.sources.push({ churn: this, spec, rng: t.sim.rng(`k8s/churn/${i}/${spec.kind}`), events: 0, scaled: undefined, drained: 0 }));
  }

  start(): void {
    this.sources.forEach((s, i) => this.checkTargets(s, i));
    for (const s of this.sources) {
      const first = s.spec.kind === 'pod-kill' || s.spec.kind === 'container-crash' ? this.nextKillDelay(s) : 0;
      if (first !== Infinity) this.t.sim.scheduleAt(Math.max(this.t.sim.now, (s.spec.start ?? 0) + first), fire, s);
    }
  }

  /** @internal */
  fire(s: Source): void {
    const sim = this.t.sim;
    switch (s.spec.kind) {
      case 'rolling-update':
        this.rollingUpdate(s);
        break;
      case 'pod-kill':
        this.killPod(s);
        {
          const d = this.nextKillDelay(s);
          if (d !== Infinity) sim.schedule(d, fire, s);
        }
        return;
      case 'container-crash':
        this.crashContainer(s);
        {
          const d = this.nextKillDelay(s);
          if (d !== Infinity) sim.schedule(d, fire, s);
        }
        return;
      case 'scale':
        this.scale(s);
        break;
      case 'node-failure':
        this.failNodes(s);
        break;
      case 'node-drain':
        this.drainNodes(s);
        if (s.spec.count !== undefined && s.drained >= s.spec.count) return;
        break;
    }
    s.events++;
    sim.schedule(s.spec.every, fire, s);
  }

  /** Named Deployments must exist and a selector must match some pod (a study of nothing is a mistake). */
  private checkTargets(s: Source, i: number): void {
    const onWorkloads = ['rolling-update', 'scale', 'pod-kill', 'container-crash'].includes(s.spec.kind) && s.spec.target !== 'coredns';
    if (onWorkloads && this.t.deployments.length === 0) throw new InputError(`churn[${i}]`, `a cluster with Deployments for kind ${s.spec.kind}`, 'none (the manifests have no Deployment)');
    const known = new Set(this.t.deployments);
    s.spec.deployments?.forEach((key, j) => {
      if (!known.has(key)) {
        const some = this.t.deployments.slice(0, 5).join(', ') + (this.t.deployments.length > 5 ? ', ...' : '');
        throw new InputError(`churn[${i}].deployments[${j}]`, `a Deployment of the cluster (${some || 'none'})`, key);
      }
    });
    if (s.spec.selector && this.selectedPods(s).length === 0) {
      const text = Object.entries(s.spec.selector).map(([k, v]) => `${k}=${v}`).join(',');
      throw new InputError(`churn[${i}].selector`, `labels of some running pod${s.spec.deployments ? ' of the named Deployments' : ''}`, `${text} (no pod matches)`);
    }
  }

  /** The source's Deployments: the named ones, else every one of the workload. */
  private targets(s: Source): readonly string[] {
    return s.spec.deployments ?? this.t.deployments;
  }

  /** Active pods with an IP of the source's Deployments carrying its selector's labels, in creation order. */
  private selectedPods(s: Source, eligible: (key: string, p: Pod) => boolean = () => true): Pod[] {
    const selector = s.spec.selector ?? {};
    const out: Pod[] = [];
    for (const dk of this.targets(s)) {
      const ns = dk.slice(0, dk.indexOf('/'));
      for (const rs of this.t.deploymentController.replicaSetsOf(dk)) {
        for (const p of this.t.replicaSetController.activePods(`${ns}/${rs.name}`)) {
          if (p.status?.podIP && selectorMatches(selector, p.metadata.labels) && eligible(`${ns}/${p.metadata.name}`, p)) out.push(p);
        }
      }
    }
    return out;
  }

  private grace(spec: ChurnSpec): Nanos {
    return spec.gracefulTermination === false ? 0 : spec.terminationGracePeriod ?? 30 * SECOND;
  }

  private pickDistinct<T>(rng: RandomStream, items: readonly T[], n: number): T[] {
    const pool = items.slice();
    const out: T[] = [];
    for (let i = 0; i < n && pool.length > 0; i++) {
      const j = Math.floor(rng.random() * pool.length);
      out.push(pool[j]!);
      pool[j] = pool[pool.length - 1]!;
      pool.pop();
    }
    return out;
  }

  private rollingUpdate(s: Source): void {
    const deps = s.spec.target === 'coredns' ? (this.t.coreDnsDeployment ? [this.t.coreDnsDeployment] : []) : this.targets(s);
    const named = s.spec.deployments !== undefined;
    const n = s.spec.fraction !== undefined ? Math.max(1, Math.ceil(s.spec.fraction * deps.length)) : named ? deps.length : 1;
    const restartedAt = formatTimestampNano(this.t.sim.now);
    // Every named Deployment at once needs no draw.
    const picked = named && n >= deps.length ? deps : this.pickDistinct(s.rng, deps, n);
    for (const key of picked) {
      this.counts.rollouts++;
      this.t.api.submit<Deployment>({ kind: 'Deployment', key, client: CLIENT, mutate: (cur) => (cur ? this.restarted(s.spec, cur, restartedAt) : undefined) });
    }
  }

  /**
   * `kubectl rollout restart` (objectrestarter.go): the template gets the restartedAt annotation.
   * A study that sets maxSurge, maxUnavailable or the grace period also writes those (strategy and
   * template) with the same patch; otherwise the Deployment keeps its own.
   */
  private restarted(spec: ChurnSpec, cur: Deployment, restartedAt: string): Deployment {
    const tm = cur.spec.template;
    const own = cur.spec.strategy?.rollingUpdate;
    const setsStrategy = spec.maxSurge !== undefined || spec.maxUnavailable !== undefined;
    const rollingUpdate = { maxSurge: spec.maxSurge ?? own?.maxSurge ?? '25%', maxUnavailable: spec.maxUnavailable ?? own?.maxUnavailable ?? '25%' };
    const setsGrace = spec.gracefulTermination === false || spec.terminationGracePeriod !== undefined;
    const metadata = { ...tm.metadata, annotations: { ...(tm.metadata?.annotations ?? {}), 'kubectl.kubernetes.io/restartedAt': restartedAt } };
    return {
      ...cur,
      metadata: { ...cur.metadata, generation: (cur.metadata.generation ?? 1) + 1 },
      spec: {
        ...cur.spec,
        strategy: setsStrategy ? { type: 'RollingUpdate', rollingUpdate } : cur.spec.strategy,
        template: { metadata, spec: setsGrace ? { ...tm.spec, terminationGracePeriodSeconds: Math.ceil(this.grace(spec) / SECOND) } : tm.spec },
      },
    };
  }

  private nextKillDelay(s: Source): Nanos {
    let perMinute = s.spec.ratePerMinute;
    if (perMinute === undefined) perMinute = (s.spec.fraction ?? 0) * this.t.api.count('Pod');
    if (!(perMinute > 0)) return Infinity;
    return Math.max(1, Math.round(s.rng.exponential(MINUTE / perMinute)));
  }

  /**
   * A random active pod with an IP (a random Deployment, then a random pod of it), or undefined.
   * With a selector: uniformly among the matching pods of the source's Deployments.
   */
  private pickPod(s: Source, eligible: (key: string, p: Pod) => boolean = () => true): { ns: string; pod: Pod } | undefined {
    if (s.spec.selector) {
      const pods = this.selectedPods(s, eligible);
      if (pods.length === 0) return undefined;
      const pod = pods[Math.floor(s.rng.random() * pods.length)]!;
      return { ns: pod.metadata.namespace ?? 'default', pod };
    }
    const deps = this.targets(s);
    if (deps.length === 0) return undefined;
    // A random Deployment, then a random active pod of it (uniform over pods when Deployments are alike).
    const dk = deps[Math.floor(s.rng.random() * deps.length)]!;
    const ns = dk.slice(0, dk.indexOf('/'));
    const candidates: Pod[] = [];
    for (const rs of this.t.deploymentController.replicaSetsOf(dk)) {
      for (const p of this.t.replicaSetController.activePods(`${ns}/${rs.name}`)) if (p.status?.podIP && eligible(`${ns}/${p.metadata.name}`, p)) candidates.push(p);
    }
    if (candidates.length === 0) return undefined;
    return { ns, pod: candidates[Math.floor(s.rng.random() * candidates.length)]! };
  }

  private killPod(s: Source): void {
    const picked = this.pickPod(s);
    if (!picked) return;
    const { ns, pod: victim } = picked;
    // `kubectl delete pod` without --grace-period: the pod's own terminationGracePeriodSeconds.
    const grace = s.spec.gracefulTermination === false || s.spec.terminationGracePeriod !== undefined ? this.grace(s.spec) : (victim.spec.terminationGracePeriodSeconds ?? 30) * SECOND;
    const now = this.t.sim.now;
    this.counts.podKills++;
    this.t.api.submit<Pod>({
      kind: 'Pod',
      key: `${ns}/${victim.metadata.name}`,
      client: CLIENT,
      mutate: (cur) => (cur && cur.metadata.uid === victim.metadata.uid && cur.metadata.deletionTimestamp === undefined ? withDeletion(cur, grace, now) : undefined),
    });
  }

  private crashContainer(s: Source): void {
    // Among the pods whose container runs now (one in CrashLoopBackOff cannot crash again).
    const kubeletOf = (p: Pod) => (p.spec.nodeName !== undefined ? this.t.kubelets.get(p.spec.nodeName) : undefined);
    const picked = this.pickPod(s, (key, p) => kubeletOf(p)?.isRunning(key) ?? false);
    if (!picked) return;
    if (kubeletOf(picked.pod)!.crash(`${picked.ns}/${picked.pod.metadata.name}`)) this.counts.containerCrashes++;
  }

  private scale(s: Source): void {
    this.counts.scaleEvents++;
    if (s.scaled) {
      const { key, by } = s.scaled;
      s.scaled = undefined;
      this.setReplicas(key, -by);
      return;
    }
    const deps = this.targets(s);
    if (deps.length === 0) return;
    const key = deps[Math.floor(s.rng.random() * deps.length)]!;
    const cur = this.t.api.get<Deployment>('Deployment', key);
    const replicas = cur?.spec.replicas ?? 1;
    const by = s.spec.fraction !== undefined ? Math.max(1, Math.round(replicas * s.spec.fraction)) : 1;
    s.scaled = { key, by };
    this.setReplicas(key, by);
  }

  private setReplicas(key: string, delta: number): void {
    this.t.api.submit<Deployment>({
      kind: 'Deployment',
      key,
      client: CLIENT,
      mutate: (cur) => (cur ? { ...cur, spec: { ...cur.spec, replicas: Math.max(0, (cur.spec.replicas ?? 1) + delta) } } : undefined),
    });
  }

  private failNodes(s: Source): void {
    const alive = [...this.t.kubelets.values()].filter((k) => k.alive);
    const n = s.spec.fraction !== undefined ? Math.max(1, Math.ceil(s.spec.fraction * this.t.kubelets.size)) : 1;
    for (const k of this.pickDistinct(s.rng, alive, n)) {
      this.counts.nodeFailures++;
      k.fail();
      this.t.nodeLifecycle.nodeFailed(k.nodeName);
    }
  }

  private drainNodes(s: Source): void {
    const drainer = this.t.nodeDrainer;
    const candidates = [...this.t.kubelets.values()].filter((k) => k.alive && !drainer.isDraining(k.nodeName));
    let n = s.spec.fraction !== undefined ? Math.max(1, Math.ceil(s.spec.fraction * this.t.kubelets.size)) : 1;
    if (s.spec.count !== undefined) n = Math.min(n, s.spec.count - s.drained);
    // One node stays: the evicted pods need somewhere to go.
    n = Math.min(n, candidates.length - 1);
    if (n <= 0) return;
    const grace = s.spec.gracefulTermination === false ? 0 : s.spec.terminationGracePeriod;
    for (const k of this.pickDistinct(s.rng, candidates, n)) {
      if (!drainer.drain(k.nodeName, { taintAfter: s.spec.taintAfter, evictAfter: s.spec.evictAfter, deleteAfter: s.spec.deleteAfter, grace })) continue;
      this.counts.nodeDrains++;
      s.drained++;
    }
  }
}
