import type { Simulator } from '../engine/simulator.ts';
import { SECOND } from '../engine/time.ts';
import type { ApiServer, WatchEvent } from './apiserver.ts';
import { isPodReady, objectKey, type Pod, type ReplicaSet } from './objects.ts';
import { isTerminal, withDeletion } from './pod-status.ts';
import type { Scheduler } from './scheduler.ts';

/**
 * The ReplicaSet controller (kubernetes/kubernetes pkg/controller/replicaset/replica_set.go), enough to
 * replace pods and drive rollouts:
 * - informers on ReplicaSets and Pods (watch delay); a pod belongs to the ReplicaSet named by its
 *   controller ownerReference;
 * - syncReplicaSet counts the active pods (controller.FilterActivePods: not terminal, no
 *   deletionTimestamp) against spec.replicas and creates or deletes the difference (manageReplicas;
 *   at most burstReplicas = 500 per sync);
 * - expectations (controller_utils.go ControllerExpectations): creates and deletes issued but not yet
 *   seen through the informer count as done, so a sync between a write and its watch event does not
 *   act twice;
 * - pods to delete are ranked as getPodsToDelete / ActivePodsWithRanks do: unscheduled before
 *   scheduled, pending before running, not ready before ready, then the most recently created first;
 * - a deleted pod gets its own terminationGracePeriodSeconds (a graceful delete);
 * - status.replicas / readyReplicas / availableReplicas are written when they change (minReadySeconds
 *   0: available = ready), which is what the Deployment controller reads.
 * New pods are placed by `scheduler` and created already bound (spec.nodeName).
 */

const CLIENT = 'kube-controller-manager/replicaset';
const BURST_REPLICAS = 500;

interface RSState {
  key: string;
  rs: ReplicaSet | undefined;
  pods: Set<string>;
  /** Expectations: creates issued not yet observed, pod keys deleted not yet observed as deleting. */
  pendingCreates: number;
  pendingDeletes: Set<string>;
  reported: { replicas: number; ready: number } | undefined;
}

export class ReplicaSetController {
  podsCreated = 0;
  podsDeleted = 0;
  private readonly sets = new Map<string, RSState>();
  private readonly pods = new Map<string, Pod>();

  constructor(
    readonly sim: Simulator,
    readonly api: ApiServer,
    readonly scheduler: Scheduler,
  ) {}

  start(): void {
    for (const p of this.api.list<Pod>('Pod')) this.observePod(objectKey(p.metadata), p, undefined);
    for (const rs of this.api.list<ReplicaSet>('ReplicaSet')) this.state(objectKey(rs.metadata)).rs = rs;
    for (const st of this.sets.values()) this.sync(st);
    this.api.watch({ name: CLIENT, kind: 'ReplicaSet', sendInitialEvents: false, handler: (e) => this.onReplicaSet(e as WatchEvent<ReplicaSet>) });
    this.api.watch({ name: CLIENT, kind: 'Pod', sendInitialEvents: false, handler: (e) => this.onPod(e as WatchEvent<Pod>) });
  }

  /** Active pods of a ReplicaSet as the informer sees them. */
  activePods(rsKey: string): Pod[] {
    const st = this.sets.get(rsKey);
    if (!st) return [];
    const out: Pod[] = [];
    for (const k of st.pods) {
      const p = this.pods.get(k)!;
      if (isActive(p)) out.push(p);
    }
    return out;
  }

  private state(key: string): RSState {
    let st = this.sets.get(key);
    if (!st) this.sets.set(key, (st = { key, rs: undefined, pods: new Set(), pendingCreates: 0, pendingDeletes: new Set(), reported: undefined }));
    return st;
  }

  private onReplicaSet(e: WatchEvent<ReplicaSet>): void {
    const st = this.state(e.key);
    st.rs = e.type === 'DELETED' ? undefined : e.object;
    if (st.rs && e.previous && e.previous.spec === st.rs.spec) return; // a status write: nothing to manage
    this.sync(st);
  }

  private onPod(e: WatchEvent<Pod>): void {
    const st = this.observePod(e.key, e.type === 'DELETED' ? undefined : e.object, e.previous);
    if (st) this.sync(st);
  }

  /** Pods this controller placed (counted on their node at placement), until the informer sees them. */
  private readonly placedByUs = new Set<string>();

  /** Updates the informer cache, the expectations and the scheduler's pod counts; returns the owner's state. */
  private observePod(key: string, pod: Pod | undefined, previous: Pod | undefined): RSState | undefined {
    const old = this.pods.get(key);
    if (pod) this.pods.set(key, pod);
    else this.pods.delete(key);
    const any = (pod ?? previous ?? old)!;
    const node = any.spec.nodeName;
    if (node !== undefined) {
      const wasActive = old !== undefined && isActive(old);
      const nowActive = pod !== undefined && isActive(pod);
      if (wasActive && !nowActive) this.scheduler.adjust(node, -1);
      if (!wasActive && nowActive && old === undefined && !this.placedByUs.delete(key)) this.scheduler.adjust(node, 1);
    }
    const ref = ownerKey(any);
    if (ref === undefined) return undefined;
    const st = this.state(ref);
    if (pod && !old) {
      st.pods.add(key);
      if (st.pendingCreates > 0) st.pendingCreates--;
    }
    if (!pod) st.pods.delete(key);
    if (!pod || pod.metadata.deletionTimestamp !== undefined) st.pendingDeletes.delete(key);
    return st;
  }

  private sync(st: RSState): void {
    const rs = st.rs;
    if (!rs) return;
    const want = rs.spec.replicas ?? 1;
    const active: Pod[] = [];
    for (const k of st.pods) {
      const p = this.pods.get(k)!;
      if (isActive(p) && !st.pendingDeletes.has(k)) active.push(p);
    }
    const have = active.length + st.pendingCreates;
    if (have < want) this.create(st, rs, Math.min(want - have, BURST_REPLICAS));
    else if (have > want && st.pendingCreates === 0) this.remove(st, active, Math.min(have - want, BURST_REPLICAS));
    this.reportStatus(st, rs, active);
  }

  /**
   * The owner reference and name prefix the pods of one ReplicaSet share (immutable), keyed by its spec:
   * status writes make new versions of the ReplicaSet but keep its spec object.
   */
  private readonly podMeta = new WeakMap<object, { prefix: string; owners: Pod['metadata']['ownerReferences'] }>();

  private create(st: RSState, rs: ReplicaSet, n: number): void {
    const ns = rs.metadata.namespace ?? 'default';
    let shared = this.podMeta.get(rs.spec);
    if (!shared) {
      const owners = [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: rs.metadata.name, uid: rs.metadata.uid ?? '', controller: true, blockOwnerDeletion: true }];
      this.podMeta.set(rs.spec, (shared = { prefix: `${rs.metadata.name}-`, owners }));
    }
    for (let i = 0; i < n; i++) {
      const node = this.scheduler.place();
      if (node === undefined) return; // nothing schedulable: the pod would stay Pending
      const name = this.api.generateName('Pod', ns, shared.prefix);
      const key = `${ns}/${name}`;
      const tmpl = rs.spec.template;
      const pod: Pod = {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          name,
          namespace: ns,
          generateName: shared.prefix,
          labels: tmpl.metadata?.labels ?? {},
          ownerReferences: shared.owners,
        },
        spec: { ...tmpl.spec, nodeName: node },
        status: { phase: 'Pending' },
      };
      st.pendingCreates++;
      this.placedByUs.add(key);
      this.podsCreated++;
      this.api.submit<Pod>({ kind: 'Pod', key, client: CLIENT, mutate: (cur) => (cur ? undefined : pod) });
    }
  }

  private remove(st: RSState, active: Pod[], n: number): void {
    active.sort(deletionRank);
    for (let i = 0; i < n && i < active.length; i++) {
      const p = active[i]!;
      const key = objectKey(p.metadata);
      st.pendingDeletes.add(key);
      this.podsDeleted++;
      const grace = (p.spec.terminationGracePeriodSeconds ?? 30) * SECOND;
      const now = this.sim.now;
      this.api.submit<Pod>({
        kind: 'Pod',
        key,
        client: CLIENT,
        mutate: (cur) => (cur && cur.metadata.uid === p.metadata.uid && cur.metadata.deletionTimestamp === undefined ? withDeletion(cur, grace, now) : undefined),
      });
    }
  }

  private reportStatus(st: RSState, rs: ReplicaSet, active: Pod[]): void {
    let ready = 0;
    for (const p of active) if (isPodReady(p)) ready++;
    const replicas = active.length;
    if (st.reported && st.reported.replicas === replicas && st.reported.ready === ready) return;
    if (!st.reported && rs.status?.replicas === replicas && rs.status?.readyReplicas === ready) {
      st.reported = { replicas, ready };
      return;
    }
    st.reported = { replicas, ready };
    this.api.submit<ReplicaSet>({
      kind: 'ReplicaSet',
      key: st.key,
      client: CLIENT,
      mutate: (cur) => (cur ? { ...cur, status: { ...cur.status, replicas, readyReplicas: ready, availableReplicas: ready, observedGeneration: cur.metadata.generation ?? 1 } } : undefined),
    });
  }
}

export function isActive(p: Pod): boolean {
  return p.metadata.deletionTimestamp === undefined && !isTerminal(p);
}

function ownerKey(p: Pod): string | undefined {
  for (const o of p.metadata.ownerReferences ?? []) if (o.controller && o.kind === 'ReplicaSet') return `${p.metadata.namespace ?? 'default'}/${o.name}`;
  return undefined;
}

/** ActivePodsWithRanks' order, the pods to delete first at the front. */
function deletionRank(a: Pod, b: Pod): number {
  const sa = a.spec.nodeName === undefined ? 0 : 1;
  const sb = b.spec.nodeName === undefined ? 0 : 1;
  if (sa !== sb) return sa - sb;
  const pa = phaseRank(a);
  const pb = phaseRank(b);
  if (pa !== pb) return pa - pb;
  const ra = isPodReady(a) ? 1 : 0;
  const rb = isPodReady(b) ? 1 : 0;
  if (ra !== rb) return ra - rb;
  // Newer first: creationTimestamp is whole seconds, the resourceVersion of creation breaks ties.
  const ca = a.metadata.creationTimestamp ?? '';
  const cb = b.metadata.creationTimestamp ?? '';
  if (ca !== cb) return ca < cb ? 1 : -1;
  return a.metadata.name < b.metadata.name ? 1 : a.metadata.name > b.metadata.name ? -1 : 0;
}

function phaseRank(p: Pod): number {
  const ph = p.status?.phase;
  return ph === 'Pending' ? 0 : ph === 'Unknown' ? 1 : 2;
}
