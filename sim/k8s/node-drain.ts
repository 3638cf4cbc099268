import type { Simulator } from '../engine/simulator.ts';
import type { RandomStream } from '../engine/random.ts';
import { SECOND, type Nanos } from '../engine/time.ts';
import { DELETE, type ApiServer } from './apiserver.ts';
import type { Kubelet } from './kubelet.ts';
import type { Node, Pod } from './objects.ts';
import { isTerminal, withDeletion } from './pod-status.ts';
import { SIM_EPOCH_UNIX_SECONDS } from './timestamps.ts';

/**
 * A node drained and removed the way a cluster autoscaler scale-down (or an operator's
 * `kubectl drain` then node deletion) does it, through the API:
 * 1. cordon: spec.unschedulable = true (kubectl's cordon; the autoscaler does it too with
 *    --cordon-node-before-terminating); the scheduler stops placing pods there (NodeUnschedulable);
 * 2. after `taintAfter`: the taint ToBeDeletedByClusterAutoscaler=<unix seconds>:NoSchedule
 *    (kubernetes/autoscaler cluster-autoscaler/utils/taints/taints.go MarkToBeDeleted). kube-proxy's
 *    /healthz fails from here on (proxy_health.go NodeEligible, KEP-3836);
 * 3. after `evictAfter`: every pod bound to the node is evicted: a graceful delete with the
 *    drain's grace period, or the pod's own terminationGracePeriodSeconds (kubectl drain
 *    --grace-period -1, the Eviction API's default). The pods go Terminating (their endpoints:
 *    ready false, serving true while they still serve, terminating true) and their ReplicaSets
 *    create replacements, which the scheduler places on other nodes;
 * 4. after `deleteAfter`: the VM goes (its kubelet and every pod left on it stop answering) and the
 *    Node object is deleted. Pods still bound to the deleted node are force-deleted by the pod
 *    garbage collector (kubernetes/kubernetes pkg/controller/podgc/gc_controller.go gcOrphaned:
 *    a pass every gcCheckPeriod 20 s, for nodes missing longer than quarantineTime 40 s).
 * Each step is reported to `onEvent` listeners at its commit (eviction: at the instant it starts).
 */
export interface DrainTiming {
  /** Cordon to the autoscaler taint. Default 0. */
  taintAfter?: Nanos;
  /** Taint to the evictions. Default 0. */
  evictAfter?: Nanos;
  /** Evictions to the Node's deletion. Default 60 s. */
  deleteAfter?: Nanos;
  /** The evictions' grace period; undefined: each pod's terminationGracePeriodSeconds. */
  grace?: Nanos;
}

export type NodeDrainEventKind = 'cordoned' | 'tainted' | 'evicting' | 'deleted';

export interface NodeDrainEvent {
  node: string;
  kind: NodeDrainEventKind;
  at: Nanos;
}

export interface NodeDrainRecord {
  node: string;
  startedAt: Nanos;
  cordonedAt: Nanos;
  taintedAt: Nanos;
  evictingAt: Nanos;
  deletedAt: Nanos;
  podsEvicted: number;
}

export const TAINT_TO_BE_DELETED = 'ToBeDeletedByClusterAutoscaler';
const CLIENT = 'cluster-autoscaler';
const POD_GC_PERIOD = 20 * SECOND;
const POD_GC_QUARANTINE = 40 * SECOND;

interface Step {
  d: NodeDrainer;
  rec: NodeDrainRecord;
  timing: Required<Omit<DrainTiming, 'grace'>> & { grace: Nanos | undefined };
}

function taintStep(s: Step): void {
  s.d.taint(s);
}
function evictStep(s: Step): void {
  s.d.evict(s);
}
function deleteStep(s: Step): void {
  s.d.deleteNode(s);
}
function podGcStep(s: Step): void {
  s.d.collectOrphans(s.rec.node);
}

export class NodeDrainer {
  readonly records: NodeDrainRecord[] = [];
  private readonly draining = new Set<string>();
  private readonly listeners: ((e: NodeDrainEvent) => void)[] = [];
  private gcRng: RandomStream | undefined;
  private gcPhase = -1;

  constructor(
    readonly sim: Simulator,
    readonly api: ApiServer,
    readonly kubelets: ReadonlyMap<string, Kubelet>,
  ) {}

  onEvent(cb: (e: NodeDrainEvent) => void): void {
    this.listeners.push(cb);
  }

  /** Whether the node's drain has started (it stays so once deleted). */
  isDraining(node: string): boolean {
    return this.draining.has(node);
  }

  /** Starts draining `node` now; undefined when it is already draining. */
  drain(node: string, t: DrainTiming = {}): NodeDrainRecord | undefined {
    if (this.draining.has(node)) return undefined;
    this.draining.add(node);
    const rec: NodeDrainRecord = { node, startedAt: this.sim.now, cordonedAt: -1, taintedAt: -1, evictingAt: -1, deletedAt: -1, podsEvicted: 0 };
    this.records.push(rec);
    const step: Step = { d: this, rec, timing: { taintAfter: t.taintAfter ?? 0, evictAfter: t.evictAfter ?? 0, deleteAfter: t.deleteAfter ?? 60 * SECOND, grace: t.grace } };
    this.updateNode(node, (cur) => (cur.spec.unschedulable ? undefined : { ...cur, spec: { ...cur.spec, unschedulable: true } }), (at) => {
      rec.cordonedAt = at;
      this.emit(node, 'cordoned', at);
    });
    this.sim.schedule(step.timing.taintAfter, taintStep, step);
    return rec;
  }

  /** @internal */
  taint(s: Step): void {
    const { rec } = s;
    const value = String(SIM_EPOCH_UNIX_SECONDS + Math.floor(this.sim.now / SECOND));
    this.updateNode(
      rec.node,
      (cur) => ((cur.spec.taints ?? []).some((x) => x.key === TAINT_TO_BE_DELETED) ? undefined : { ...cur, spec: { ...cur.spec, taints: [...(cur.spec.taints ?? []), { key: TAINT_TO_BE_DELETED, value, effect: 'NoSchedule' }] } }),
      (at) => {
        rec.taintedAt = at;
        this.emit(rec.node, 'tainted', at);
      },
    );
    this.sim.schedule(s.timing.evictAfter, evictStep, s);
  }

  /** @internal */
  evict(s: Step): void {
    const { rec } = s;
    const now = this.sim.now;
    rec.evictingAt = now;
    this.emit(rec.node, 'evicting', now);
    for (const p of this.podsOn(rec.node)) {
      if (p.metadata.deletionTimestamp !== undefined || isTerminal(p)) continue;
      const grace = s.timing.grace ?? (p.spec.terminationGracePeriodSeconds ?? 30) * SECOND;
      rec.podsEvicted++;
      this.api.submit<Pod>({
        kind: 'Pod',
        key: `${p.metadata.namespace}/${p.metadata.name}`,
        client: CLIENT,
        mutate: (cur) => (cur && cur.metadata.uid === p.metadata.uid && cur.metadata.deletionTimestamp === undefined ? withDeletion(cur, grace, now) : undefined),
      });
    }
    this.sim.schedule(s.timing.deleteAfter, deleteStep, s);
  }

  /** @internal */
  deleteNode(s: Step): void {
    const { rec } = s;
    this.kubelets.get(rec.node)?.fail();
    this.api.submit<Node>({
      kind: 'Node',
      key: rec.node,
      client: CLIENT,
      mutate: (cur) => (cur ? DELETE : undefined),
      onCommit: (_stored, ev) => {
        if (!ev) return;
        rec.deletedAt = ev.committedAt;
        this.emit(rec.node, 'deleted', ev.committedAt);
        this.sim.scheduleAt(this.nextPodGc(ev.committedAt + POD_GC_QUARANTINE), podGcStep, s);
      },
    });
  }

  /** @internal the pod GC's force delete (grace 0) of the pods still bound to a deleted node. */
  collectOrphans(node: string): void {
    for (const p of this.podsOn(node)) {
      this.api.submit<Pod>({ kind: 'Pod', key: `${p.metadata.namespace}/${p.metadata.name}`, client: 'kube-controller-manager/pod-garbage-collector', mutate: (cur) => (cur && cur.metadata.uid === p.metadata.uid ? DELETE : undefined) });
    }
  }

  /** The first pod GC pass at or after `t` (passes every 20 s from a phase drawn once). */
  private nextPodGc(t: Nanos): Nanos {
    if (this.gcPhase < 0) {
      this.gcRng ??= this.sim.rng('k8s/podgc/phase');
      this.gcPhase = Math.floor(this.gcRng.random() * POD_GC_PERIOD);
    }
    return t <= this.gcPhase ? this.gcPhase : this.gcPhase + Math.ceil((t - this.gcPhase) / POD_GC_PERIOD) * POD_GC_PERIOD;
  }

  private updateNode(name: string, change: (cur: Node) => Node | undefined, committed: (at: Nanos) => void): void {
    this.api.submit<Node>({
      kind: 'Node',
      key: name,
      client: CLIENT,
      mutate: (cur) => (cur ? change(cur) : undefined),
      onCommit: (_stored, ev) => committed(ev ? ev.committedAt : this.sim.now),
    });
  }

  private emit(node: string, kind: NodeDrainEventKind, at: Nanos): void {
    for (const l of this.listeners) l({ node, kind, at });
  }

  private podsOn(node: string): Pod[] {
    const out: Pod[] = [];
    for (const p of this.api.list<Pod>('Pod')) if (p.spec.nodeName === node) out.push(p);
    return out;
  }
}
