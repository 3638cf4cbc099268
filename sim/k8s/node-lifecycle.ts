import type { Simulator } from '../engine/simulator.ts';
import { SECOND, type Nanos } from '../engine/time.ts';
import type { ApiServer } from './apiserver.ts';
import type { Node, NodeCondition, Pod } from './objects.ts';
import { withDeletion, withReady } from './pod-status.ts';
import { formatTimestamp } from './timestamps.ts';

/**
 * What happens in the control plane after a node stops (kubernetes/kubernetes
 * pkg/controller/nodelifecycle/node_lifecycle_controller.go and pkg/controller/tainteviction):
 * - the kubelet renews its Lease every 10 s (a quarter of the 40 s lease duration,
 *   pkg/kubelet/nodelease); the node lifecycle controller checks every nodeMonitorPeriod (5 s) and
 *   declares the node's Ready condition Unknown once the last renewal is older than
 *   nodeMonitorGracePeriod (monitorNodeHealth / tryUpdateNodeHealth, "Kubelet stopped posting node
 *   status."), taints it node.kubernetes.io/unreachable:NoExecute, and marks every pod on it not Ready
 *   (controllerutil.MarkPodsNotReady: each pod's Ready condition set False through the API);
 * - pods tolerate that taint for podEvictionTimeout (the DefaultTolerationSeconds admission plugin gives
 *   300 s); then the taint eviction controller deletes them (a graceful delete that nobody confirms, as
 *   the kubelet is gone: the pods stay Terminating) and their ReplicaSets create replacements.
 * The controller acts only on nodes reported failed through `nodeFailed` (healthy nodes' heartbeats
 * are not simulated: they change nothing).
 */
export interface NodeLifecycleOptions {
  /**
   * --node-monitor-grace-period; default 50s, upstream's since v1.32 (kubernetes/kubernetes#126287,
   * pkg/controller/nodelifecycle/config/v1alpha1/defaults.go), and the scenario
   * schema's default.
   */
  nodeMonitorGracePeriod?: Nanos;
  /** --node-monitor-period; default 5s. */
  nodeMonitorPeriod?: Nanos;
  /** Lease renew interval; default 10s. */
  leaseRenewInterval?: Nanos;
  /** tolerationSeconds of the not-ready/unreachable NoExecute tolerations; default 300s. */
  podEvictionTimeout?: Nanos;
}

const CLIENT = 'kube-controller-manager/node-lifecycle';
export const TAINT_UNREACHABLE = 'node.kubernetes.io/unreachable';

export interface NodeFailureRecord {
  node: string;
  failedAt: Nanos;
  lastHeartbeat: Nanos;
  notReadyAt: Nanos;
  evictAt: Nanos;
}

export class NodeLifecycleController {
  readonly gracePeriod: Nanos;
  readonly monitorPeriod: Nanos;
  readonly renewInterval: Nanos;
  readonly evictionTimeout: Nanos;
  readonly failures: NodeFailureRecord[] = [];
  private readonly monitorPhase: Nanos;

  constructor(
    readonly sim: Simulator,
    readonly api: ApiServer,
    o: NodeLifecycleOptions = {},
  ) {
    this.gracePeriod = o.nodeMonitorGracePeriod ?? 50 * SECOND;
    this.monitorPeriod = o.nodeMonitorPeriod ?? 5 * SECOND;
    this.renewInterval = o.leaseRenewInterval ?? 10 * SECOND;
    this.evictionTimeout = o.podEvictionTimeout ?? 300 * SECOND;
    this.monitorPhase = Math.floor(sim.rng('k8s/node-lifecycle/monitor-phase').random() * this.monitorPeriod);
  }

  /** The node's kubelet stopped at `sim.now` (its last Lease renewal is the one before now). */
  nodeFailed(node: string): NodeFailureRecord {
    const now = this.sim.now;
    const phase = Math.floor(this.sim.rng(`k8s/kubelet/${node}/lease-phase`).random() * this.renewInterval);
    const lastHeartbeat = now < phase ? now : phase + Math.floor((now - phase) / this.renewInterval) * this.renewInterval;
    const stale = lastHeartbeat + this.gracePeriod;
    // The first monitor pass that finds the lease older than the grace period.
    const k = Math.floor((stale - this.monitorPhase) / this.monitorPeriod) + 1;
    const notReadyAt = Math.max(now, this.monitorPhase + k * this.monitorPeriod);
    const rec: NodeFailureRecord = { node, failedAt: now, lastHeartbeat, notReadyAt, evictAt: notReadyAt + this.evictionTimeout };
    this.failures.push(rec);
    this.sim.scheduleAt(notReadyAt, markNotReady, { c: this, rec });
    this.sim.scheduleAt(rec.evictAt, evict, { c: this, rec });
    return rec;
  }

  /** @internal */
  markNodeNotReady(rec: NodeFailureRecord): void {
    const now = this.sim.now;
    const ts = formatTimestamp(now);
    this.api.submit<Node>({
      kind: 'Node',
      key: rec.node,
      client: CLIENT,
      mutate: (cur) => {
        if (!cur) return undefined;
        const conds: NodeCondition[] = (cur.status?.conditions ?? []).filter((c) => c.type !== 'Ready');
        conds.push({ type: 'Ready', status: 'Unknown', reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.', lastHeartbeatTime: formatTimestamp(rec.lastHeartbeat), lastTransitionTime: ts });
        const taints = [...(cur.spec.taints ?? []).filter((t) => t.key !== TAINT_UNREACHABLE), { key: TAINT_UNREACHABLE, effect: 'NoExecute' as const }];
        return { ...cur, spec: { ...cur.spec, taints }, status: { ...cur.status, conditions: conds } };
      },
    });
    for (const p of this.podsOn(rec.node)) {
      this.api.submit<Pod>({ kind: 'Pod', key: `${p.metadata.namespace}/${p.metadata.name}`, client: CLIENT, mutate: (cur) => (cur && cur.metadata.uid === p.metadata.uid ? withReady(cur, false, now, undefined, rec.failedAt) : undefined) });
    }
  }

  /** @internal */
  evictPods(rec: NodeFailureRecord): void {
    const now = this.sim.now;
    for (const p of this.podsOn(rec.node)) {
      if (p.metadata.deletionTimestamp !== undefined) continue;
      const grace = (p.spec.terminationGracePeriodSeconds ?? 30) * SECOND;
      this.api.submit<Pod>({
        kind: 'Pod',
        key: `${p.metadata.namespace}/${p.metadata.name}`,
        client: 'kube-controller-manager/taint-eviction-controller',
        mutate: (cur) => (cur && cur.metadata.uid === p.metadata.uid && cur.metadata.deletionTimestamp === undefined ? withDeletion(cur, grace, now) : undefined),
      });
    }
  }

  private podsOn(node: string): Pod[] {
    const out: Pod[] = [];
    for (const p of this.api.list<Pod>('Pod')) if (p.spec.nodeName === node) out.push(p);
    return out;
  }
}

function markNotReady(r: { c: NodeLifecycleController; rec: NodeFailureRecord }): void {
  r.c.markNodeNotReady(r.rec);
}
function evict(r: { c: NodeLifecycleController; rec: NodeFailureRecord }): void {
  r.c.evictPods(r.rec);
}
