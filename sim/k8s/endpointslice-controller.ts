import type { Simulator } from '../engine/simulator.ts';
import type { Nanos } from '../engine/time.ts';
import { DELETE, type ApiServer, type WatchEvent } from './apiserver.ts';
import { DEFAULT_MAX_ENDPOINTS_PER_SLICE, reconcileEndpointSlices } from './endpointslice-reconciler.ts';
import { isPodReady, objectKey, type EndpointSlice, type Node, type Pod, type Service } from './objects.ts';
import { hasSelector, selectorMatches } from './selector.ts';
import { EndpointSliceTopology } from './endpointslice-topology.ts';
import type { TopologyCache } from './topology-cache.ts';
import { readyTransitionTime, stoppedServingTime } from './sim-times.ts';
import { formatTimestampNano } from './timestamps.ts';

/**
 * The EndpointSlice controller of kube-controller-manager (kubernetes/kubernetes
 * pkg/controller/endpointslice/endpointslice_controller.go) on simulated time:
 *
 * - informers: Services and Pods, each a watch with the API server's delivery delay;
 * - a work queue of Service keys with client-go's semantics (k8s.io/client-go/util/workqueue queue.go
 *   and delaying_queue.go): a Service change is `Add`ed at once (onServiceUpdate), a pod change is
 *   `AddAfter(key, endpointUpdatesBatchPeriod)` (addPod/updatePod/deletePod; the period is
 *   --endpointslice-updates-batch-period, default 0); a key waiting in the delaying queue keeps the
 *   earlier of its ready times; a key already queued (dirty) is not queued twice, so changes that land
 *   within one period share one sync; a key added while a worker syncs it is queued again when the
 *   worker calls Done, so a change during a sync is never lost;
 * - `concurrentSyncs` workers (--concurrent-service-endpoint-syncs, default 5); a worker runs the
 *   reconciler (endpointslice-reconciler.ts) and then, as the reconciler's finalize() does, issues its
 *   creates, then updates, then deletes one API call after another, staying busy until the last one
 *   commits;
 * - each sync stamps endpoints.kubernetes.io/last-change-trigger-time with the earliest pod/Service
 *   change not yet reflected (pkg/controller/util/endpoint/trigger_time_tracker.go: a pod's trigger is
 *   its Ready condition's lastTransitionTime, a Service's its creationTimestamp); the exact ns is
 *   carried on the watch events (WatchEvent.triggerTime).
 *
 * The controller keeps the slices it wrote as they were committed (what the EndpointSliceTracker makes
 * sure the real controller's cache shows before it syncs again), so it does not watch slices. The
 * simulated sync itself takes no time: its cost in the real controller (ms) is below the API write
 * latency that follows it.
 */
export interface EndpointSliceControllerOptions {
  maxEndpointsPerSlice?: number;
  /** --endpointslice-updates-batch-period; default 0. */
  batchPeriod?: Nanos;
  /** --concurrent-service-endpoint-syncs; default 5. */
  concurrentSyncs?: number;
  /**
   * The TopologyCache: syncs write topology-mode Auto and trafficDistribution hints, and the controller
   * watches Nodes (endpointslice-topology.ts). Undefined: hints are left as they are and Nodes are not
   * watched (runs without topology).
   */
  topologyCache?: TopologyCache;
}

export interface SliceCommit {
  service: string;
  slice: EndpointSlice;
  /** The version it replaced (undefined for ADDED). */
  previous: EndpointSlice | undefined;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  triggerTime: Nanos;
  /**
   * The earliest instant a pod this sync turned not Ready had stopped answering (its crash, its node's
   * failure; sim-times.ts stoppedServingTime), else triggerTime: the start of the stale-endpoint
   * window, which the API's trigger time (the Ready write) would start late.
   */
  stoppedAt: Nanos;
  committedAt: Nanos;
}

interface ServiceState {
  key: string;
  service: Service | undefined;
  slices: EndpointSlice[];
  /** The earliest stop instant among the pods the last triggerTime() found changed (Infinity: none). */
  stoppedAt: Nanos;
  /** trigger_time_tracker state: last trigger time seen per pod name, and for the Service. */
  lastPodTriggers: Map<string, Nanos>;
  lastServiceTrigger: Nanos;
  /** Work queue: in the dirty set (queued, or to be queued again when its sync is done). */
  dirty: boolean;
  /** Work queue: a worker is syncing it. */
  processing: boolean;
  /** Delaying queue: when the pending AddAfter makes it ready; -1 when none waits. */
  waitingUntil: Nanos;
}

const CLIENT = 'kube-controller-manager/endpointslice';

interface Timer {
  c: EndpointSliceController;
  st: ServiceState;
  at: Nanos;
}
function waitOver(t: Timer): void {
  t.c.onWaitOver(t.st, t.at);
}

/** One slice write of a sync: creates, then updates, then deletes, each after the previous commits. */
interface SyncWrites {
  c: EndpointSliceController;
  st: ServiceState;
  worker: number;
  ops: { op: 'create' | 'update' | 'delete'; slice: EndpointSlice }[];
  next: number;
  triggerTime: Nanos;
  stoppedAt: Nanos;
}

export class EndpointSliceController {
  readonly maxEndpointsPerSlice: number;
  readonly batchPeriod: Nanos;
  readonly concurrentSyncs: number;
  /** Syncs run and slice writes issued (creates + updates + deletes). */
  syncs = 0;
  sliceWrites = 0;
  /** Called when one of this controller's slice writes commits (metrics hook). */
  onSliceCommit?: (c: SliceCommit) => void;

  private readonly services = new Map<string, ServiceState>();
  private readonly pods = new Map<string, Pod>();
  /** Pods by `namespace\0label=value`, to find a Service's pods without scanning the namespace. */
  private readonly podIndex = new Map<string, Set<string>>();
  /** Services by `namespace\0key=value` of their first selector pair. */
  private readonly serviceIndex = new Map<string, Set<string>>();
  /** The work queue's FIFO of dirty keys not being processed. */
  private readonly queue: ServiceState[] = [];
  private queueHead = 0;
  /** Idle worker ids (each writes as its own API client, so workers do not wait for each other). */
  private readonly idleWorkers: number[] = [];
  private readonly nodes: ((name: string) => Node | undefined) | undefined;
  /** The Node informer and hint counters, with a TopologyCache. */
  readonly topology: EndpointSliceTopology | undefined;

  constructor(
    readonly sim: Simulator,
    readonly api: ApiServer,
    options: EndpointSliceControllerOptions = {},
  ) {
    this.maxEndpointsPerSlice = options.maxEndpointsPerSlice ?? DEFAULT_MAX_ENDPOINTS_PER_SLICE;
    this.batchPeriod = options.batchPeriod ?? 0;
    this.concurrentSyncs = options.concurrentSyncs ?? 5;
    for (let i = this.concurrentSyncs - 1; i >= 0; i--) this.idleWorkers.push(i);
    this.nodes = (name) => api.get<Node>('Node', name);
    this.topology = options.topologyCache ? new EndpointSliceTopology(api, options.topologyCache, (key) => this.add(this.state(key))) : undefined;
  }

  /**
   * LIST then WATCH, as informers start: caches are filled from the store, existing slices are
   * adopted, every Service is queued once (the initial full sync), then changes arrive by watch.
   */
  start(): void {
    for (const s of this.api.list<EndpointSlice>('EndpointSlice')) {
      const svc = s.metadata.labels?.['kubernetes.io/service-name'];
      if (svc === undefined || s.metadata.labels?.['endpointslice.kubernetes.io/managed-by'] !== 'endpointslice-controller.k8s.io') continue;
      this.state(`${s.metadata.namespace}/${svc}`).slices.push(s);
    }
    for (const p of this.api.list<Pod>('Pod')) this.setPod(objectKey(p.metadata), p, undefined);
    for (const s of this.api.list<Service>('Service')) this.setService(objectKey(s.metadata), s, false);
    this.topology?.start();
    for (const st of this.services.values()) this.add(st);
    this.api.watch({ name: 'kube-controller-manager/endpointslice', kind: 'Service', sendInitialEvents: false, handler: (e) => this.onService(e as WatchEvent<Service>) });
    this.api.watch({ name: 'kube-controller-manager/endpointslice', kind: 'Pod', sendInitialEvents: false, handler: (e) => this.onPod(e as WatchEvent<Pod>) });
  }

  /** The slices this controller has committed for a Service (`namespace/name`). */
  slicesOf(serviceKey: string): readonly EndpointSlice[] {
    return this.services.get(serviceKey)?.slices ?? [];
  }

  private state(key: string): ServiceState {
    let s = this.services.get(key);
    if (!s) {
      s = { key, service: undefined, slices: [], stoppedAt: Infinity, lastPodTriggers: new Map(), lastServiceTrigger: -1, dirty: false, processing: false, waitingUntil: -1 };
      this.services.set(key, s);
    }
    return s;
  }

  // ---- informers

  private onService(e: WatchEvent<Service>): void {
    this.setService(e.key, e.type === 'DELETED' ? undefined : e.object, true);
    this.add(this.state(e.key));
  }

  private setService(key: string, svc: Service | undefined, _live: boolean): void {
    const st = this.state(key);
    const old = st.service;
    if (old) {
      const ik = firstSelectorKey(old);
      if (ik !== undefined) this.serviceIndex.get(ik)?.delete(key);
    }
    st.service = svc;
    if (svc) {
      const ik = firstSelectorKey(svc);
      if (ik !== undefined) {
        let set = this.serviceIndex.get(ik);
        if (!set) this.serviceIndex.set(ik, (set = new Set()));
        set.add(key);
      }
    }
  }

  private onPod(e: WatchEvent<Pod>): void {
    const old = this.pods.get(e.key);
    const pod = e.type === 'DELETED' ? undefined : e.object;
    // GetPodUpdateProjectionKey: ignore updates that change nothing an endpoint shows.
    if (old && pod && !podEndpointsChanged(old, pod)) {
      this.setPod(e.key, pod, old);
      return;
    }
    this.setPod(e.key, pod, old);
    const affected = new Set<string>();
    if (old) this.servicesFor(old, affected);
    if (pod) this.servicesFor(pod, affected);
    for (const k of affected) this.addAfter(this.state(k), this.batchPeriod);
  }

  /**
   * The index keys (`namespace\0label=value`) of a labels object. The pods of one ReplicaSet share their
   * labels object (immutable versions), so the keys are built once per template, not once per pod.
   */
  private readonly labelKeys = new WeakMap<object, Map<string, string[]>>();
  private indexKeys(ns: string, labels: Readonly<Record<string, string>> | undefined): string[] {
    if (!labels) return [];
    let byNs = this.labelKeys.get(labels);
    if (!byNs) this.labelKeys.set(labels, (byNs = new Map()));
    let keys = byNs.get(ns);
    if (!keys) {
      keys = [];
      for (const k in labels) keys.push(`${ns}\0${k}=${labels[k]}`);
      byNs.set(ns, keys);
    }
    return keys;
  }

  private setPod(key: string, pod: Pod | undefined, old: Pod | undefined): void {
    const ns = (pod ?? old)!.metadata.namespace ?? 'default';
    if (old && old.metadata.labels !== pod?.metadata.labels) {
      for (const ik of this.indexKeys(ns, old.metadata.labels)) this.podIndex.get(ik)?.delete(key);
    }
    if (pod) {
      this.pods.set(key, pod);
      if (!old || old.metadata.labels !== pod.metadata.labels) {
        for (const ik of this.indexKeys(ns, pod.metadata.labels)) {
          let set = this.podIndex.get(ik);
          if (!set) this.podIndex.set(ik, (set = new Set()));
          set.add(key);
        }
      }
    } else this.pods.delete(key);
  }

  /** getServicesForPod through the index: candidate Services by each of the pod's labels. */
  private servicesFor(pod: Pod, into: Set<string>): void {
    const ns = pod.metadata.namespace ?? 'default';
    const labels = pod.metadata.labels ?? {};
    for (const ik of this.indexKeys(ns, pod.metadata.labels)) {
      const set = this.serviceIndex.get(ik);
      if (!set) continue;
      for (const sk of set) {
        const svc = this.services.get(sk)!.service!;
        if (selectorMatches(svc.spec.selector!, labels)) into.add(sk);
      }
    }
  }

  private podsFor(svc: Service): Pod[] {
    const ik = firstSelectorKey(svc);
    if (ik === undefined) return [];
    const keys = this.podIndex.get(ik);
    if (!keys) return [];
    const sel = svc.spec.selector!;
    const out: Pod[] = [];
    for (const k of keys) {
      const p = this.pods.get(k)!;
      if (selectorMatches(sel, p.metadata.labels)) out.push(p);
    }
    return out;
  }

  // ---- work queue (client-go workqueue: dirty set, processing set, FIFO; delaying queue on top)

  private add(st: ServiceState): void {
    if (st.dirty) return;
    st.dirty = true;
    if (st.processing) return; // re-queued by done()
    this.queue.push(st);
    this.pump();
  }

  private addAfter(st: ServiceState, delay: Nanos): void {
    if (delay <= 0) return this.add(st);
    const at = this.sim.now + delay;
    if (st.waitingUntil >= 0 && st.waitingUntil <= at) return; // keeps the earlier ready time
    st.waitingUntil = at;
    this.sim.scheduleAt(at, waitOver, { c: this, st, at } satisfies Timer);
  }

  /** @internal the delaying queue's timer: a superseded timer (an earlier AddAfter replaced it) is ignored. */
  onWaitOver(st: ServiceState, at: Nanos): void {
    if (st.waitingUntil !== at) return;
    st.waitingUntil = -1;
    this.add(st);
  }

  private pump(): void {
    while (this.idleWorkers.length > 0 && this.queueHead < this.queue.length) {
      const st = this.queue[this.queueHead++]!;
      if (this.queueHead > 4096 && this.queueHead * 2 > this.queue.length) {
        this.queue.splice(0, this.queueHead);
        this.queueHead = 0;
      }
      st.dirty = false;
      st.processing = true;
      this.sync(st, this.idleWorkers.pop()!);
    }
  }

  /** @internal a worker finished a key (workqueue Done): a key that got dirty meanwhile goes back in the queue. */
  done(st: ServiceState, worker: number): void {
    st.processing = false;
    this.idleWorkers.push(worker);
    if (st.dirty) this.queue.push(st);
    this.pump();
  }

  /** Keys waiting in the queue or being synced (not counting keys waiting out a batch period). */
  get busy(): boolean {
    return this.queueHead < this.queue.length || this.idleWorkers.length < this.concurrentSyncs;
  }

  // ---- sync

  private sync(st: ServiceState, worker: number): void {
    this.syncs++;
    const svc = st.service;
    if (!svc || !hasSelector(svc.spec.selector) || svc.spec.type === 'ExternalName') {
      // Deleted Service: its slices go (the garbage collector does this through ownerReferences).
      // A Service without a selector: slices are the user's, left alone.
      const ops = !svc ? st.slices.map((s) => ({ op: 'delete' as const, slice: s })) : [];
      if (!svc) {
        st.lastPodTriggers.clear();
        this.topology?.serviceDeleted(st.key);
      }
      this.write(st, worker, ops, this.sim.now);
      return;
    }
    const pods = this.podsFor(svc);
    const triggerTime = this.triggerTime(st, svc, pods);
    const ns = svc.metadata.namespace;
    const ch = reconcileEndpointSlices({
      service: svc,
      pods,
      existing: st.slices,
      nodes: this.nodes,
      maxEndpointsPerSlice: this.maxEndpointsPerSlice,
      triggerTime: triggerTime >= 0 ? formatTimestampNano(triggerTime) : undefined,
      generateName: (prefix) => this.api.generateName('EndpointSlice', ns, prefix),
      ...(this.topology ? { hints: this.topology.context } : {}),
    });
    this.topology?.synced(st.key, ch.hints);
    const ops: SyncWrites['ops'] = [];
    for (const s of ch.create) ops.push({ op: 'create', slice: s });
    for (const s of ch.update) ops.push({ op: 'update', slice: s });
    for (const s of ch.delete) ops.push({ op: 'delete', slice: s });
    this.write(st, worker, ops, triggerTime >= 0 ? triggerTime : this.sim.now);
  }

  /** ComputeEndpointLastChangeTriggerTime: the earliest trigger among pods/Service changed since the last sync; -1 if none. */
  private triggerTime(st: ServiceState, svc: Service, pods: Pod[]): Nanos {
    let min = Infinity;
    st.stoppedAt = Infinity;
    const seen = new Map<string, Nanos>();
    for (const p of pods) {
      const t = readyTransitionTime(p);
      if (t < 0) continue;
      seen.set(p.metadata.name, t);
      if (st.lastPodTriggers.get(p.metadata.name) !== t) {
        if (t < min) min = t;
        const stop = stoppedServingTime(p);
        if (stop >= 0 && stop < st.stoppedAt) st.stoppedAt = stop;
      }
    }
    const svcT = serviceTriggerTime(svc);
    if (st.lastServiceTrigger !== svcT && svcT < min) min = svcT;
    st.lastPodTriggers = seen;
    st.lastServiceTrigger = svcT;
    return min === Infinity ? -1 : min;
  }

  private write(st: ServiceState, worker: number, ops: SyncWrites['ops'], triggerTime: Nanos): void {
    const stoppedAt = Math.min(triggerTime, st.stoppedAt);
    st.stoppedAt = Infinity;
    if (ops.length === 0) return this.done(st, worker);
    this.sliceWrites += ops.length;
    this.issue({ c: this, st, worker, ops, next: 0, triggerTime, stoppedAt });
  }

  private issue(w: SyncWrites): void {
    const { op, slice } = w.ops[w.next]!;
    this.api.submit<EndpointSlice>({
      kind: 'EndpointSlice',
      key: `${slice.metadata.namespace}/${slice.metadata.name}`,
      client: `${CLIENT}/worker-${w.worker}`,
      triggerTime: w.triggerTime,
      mutate: (cur) => (op === 'delete' ? (cur ? DELETE : undefined) : op === 'update' && !cur ? undefined : slice),
      onCommit: (stored, ev) => this.committed(w, stored, ev),
    });
  }

  private committed(w: SyncWrites, stored: EndpointSlice | undefined, ev: WatchEvent<EndpointSlice> | undefined): void {
    const st = w.st;
    const name = w.ops[w.next]!.slice.metadata.name;
    const i = st.slices.findIndex((s) => s.metadata.name === name);
    if (stored) {
      if (i >= 0) st.slices[i] = stored;
      else st.slices.push(stored);
    } else if (i >= 0) st.slices.splice(i, 1);
    if (ev && this.onSliceCommit) {
      this.onSliceCommit({ service: st.key, slice: ev.object, previous: ev.previous, type: ev.type, triggerTime: ev.triggerTime, stoppedAt: Math.min(w.stoppedAt, ev.triggerTime), committedAt: ev.committedAt });
    }
    if (++w.next < w.ops.length) this.issue(w);
    else this.done(st, w.worker);
  }
}

function firstSelectorKey(svc: Service): string | undefined {
  const sel = svc.spec.selector;
  if (!hasSelector(sel)) return undefined;
  let first: string | undefined;
  for (const k in sel) if (first === undefined || k < first) first = k;
  return `${svc.metadata.namespace ?? 'default'}\0${first}=${sel[first!]}`;
}

function serviceTriggerTime(svc: Service): Nanos {
  return readyTransitionTime(svc);
}

/** util.podEndpointsChanged (plus the label check GetPodUpdateProjectionKey makes). */
function podEndpointsChanged(a: Pod, b: Pod): boolean {
  if (a.metadata.labels !== b.metadata.labels && JSON.stringify(a.metadata.labels) !== JSON.stringify(b.metadata.labels)) return true;
  if (a.metadata.deletionTimestamp !== b.metadata.deletionTimestamp) return true;
  if (isPodReady(a) !== isPodReady(b)) return true;
  if (a.status?.podIP !== b.status?.podIP) return true;
  if ((a.status?.phase === 'Failed' || a.status?.phase === 'Succeeded') !== (b.status?.phase === 'Failed' || b.status?.phase === 'Succeeded')) return true;
  if (a.spec.hostname !== b.spec.hostname || a.spec.subdomain !== b.spec.subdomain) return true;
  return false;
}
