/**
 * The Kubernetes control plane as the scenario model drives it: one object that builds a synthetic
 * cluster in the API server and runs the controllers that change it over simulated time. It knows
 * nothing of the kernel; the data plane asks it two things: which EndpointSlices each node's
 * kube-proxy hears of and when, and what a pod IP does with a connection right now.
 *
 *   const cp = new ControlPlane(sim, {
 *     nodes: 20, services: 1000, endpointsPerService: 10,
 *     watchLatency: (r) => Math.round(r.lognormal(Math.log(5e6), 0.99)),
 *     churn: [{ kind: 'rolling-update', start: 5 * SECOND, every: 10 * SECOND, fraction: 0.1 }],
 *   });
 *   for (const node of cp.nodes())                     // one watch per kube-proxy, each with its own delay
 *     cp.watchEndpointSlices(`kube-proxy/${node.name}`, (ev) => proxies[node.name].onSlice(ev));
 *   cp.onEndpointSliceCommit((c) => truth.apply(c));   // the API's view, at the commit instant
 *   cp.onEndpointChange((r) => latencies.add(r));      // t0 (pod side) and t1 (slice committed)
 *   cp.start();
 *   sim.run(60 * SECOND);
 *   cp.podIPState('10.244.3.7');                       // 'accepting' | 'refusing' | 'unreachable'
 *
 * Members:
 * - `new ControlPlane(sim, options)` writes the cluster (nodes, Services, Deployments, ReplicaSets,
 *   Ready pods, EndpointSlices) into `api` at sim.now, in steady state; `start()` starts the kubelets,
 *   the EndpointSlice, ReplicaSet, Deployment and node lifecycle controllers, and the churn sources.
 * - `services()`, `nodes()`: the cluster's Services (namespace, name, ClusterIP, port) and nodes.
 * - `watchEndpointSlices(name, onEvent)` / `watchServices(name, onEvent)`: a watch with its own delay
 *   stream (`k8s/apiserver/watch/<name>/<kind>`); existing objects first as ADDED, then changes in
 *   commit order. Call before or after start().
 * - `onEndpointSliceCommit(cb)`: every slice write the EndpointSlice controller commits (instant, slice,
 *   previous version, trigger time). `endpointSlices()` lists what the API holds now.
 * - `onEndpointChange(cb)`: for every endpoint whose slice entry changed, one record with the pod-side
 *   instant t0 (became Ready, stopped being Ready, started terminating, was deleted) and the slice
 *   commit t1 (EndpointChangeRecord). Network programming latency runs from t0 to a proxy's rules.
 * - `podIPState(ip)` and `podNetwork` (subscribe for changes): accepting / refusing / unreachable.
 * - `crashPod(podKey)`: the pod's container exits; the kubelet marks it not Ready and restarts it (see kubelet.ts).
 * - `onNodeDrain(cb)`: the steps of node-drain churn (cordoned, tainted, evicting, deleted), so a
 *   run can fail the node's kube-proxy /healthz on the taint and take the node out of load
 *   balancers on its deletion.
 * - `stats()`: counters for reports and benchmarks; `stats().hints` counts topology-hint fallbacks.
 * - Topology (docs/topology.md): `nodeZones`, `nodeCpus` and `serviceTopology` label the synthetic
 *   nodes with zones and CPU and give Services the topology-mode annotation or trafficDistribution;
 *   the EndpointSlice controller then writes hints (`topologyCache`) and watches Nodes.
 * All durations are integer ns. Delays are samplers `(rng) => ns` drawing from the component's own
 * stream, or `{ stream, sample }` to draw from one named stream.
 *
 * From a resolved scenario (sim/scenario/schema.ts): cluster.nodes, cluster.services.count and
 * .endpointsPerService, serviceCIDR, clusterCIDR pass as they are; nodeCIDRMaskSize only when the file
 * sets it (undefined picks a CIDR that holds the node's pods; the schema's default 24 holds 253, far
 * fewer than the synthetic studies put on a node); controlPlane.watchLatency, apiWriteLatency and
 * podStartupLatency through `samplerOf`; endpointSliceBatchPeriod, maxEndpointsPerSlice,
 * readinessProbe, nodeMonitorGracePeriod, podEvictionTimeout as they are; `churn` as it is (ChurnSpec
 * has the same fields), with `start` set to the warm-up where the file leaves it out.
 */
import type { Simulator } from '../engine/simulator.ts';
import type { RandomStream } from '../engine/random.ts';
import type { Nanos } from '../engine/time.ts';
import { ApiServer, type Watch, type WatchEvent } from './apiserver.ts';
import { Churn, type ChurnCounts, type ChurnSpec } from './churn.ts';
import { DeploymentController } from './deployment-controller.ts';
import { EndpointSliceController, type SliceCommit } from './endpointslice-controller.ts';
import { DEFAULT_PROBE, Kubelet, type ProbeSpec, type Sampler } from './kubelet.ts';
import { ZERO_LATENCY, type Latency } from './latency.ts';
import { NodeDrainer, type NodeDrainEvent } from './node-drain.ts';
import { NodeLifecycleController } from './node-lifecycle.ts';
import type { Endpoint, EndpointSlice, Pod, Service } from './objects.ts';
import { PodNetwork, type PodIPState } from './pod-network.ts';
import { ReplicaSetController } from './replicaset-controller.ts';
import { Scheduler } from './scheduler.ts';
import { readyTransitionTime, stoppedServingTime } from './sim-times.ts';
import { generateCluster, type SyntheticCluster, type SyntheticClusterOptions } from './synthetic-cluster.ts';
import { COREDNS_DEPLOYMENT } from './coredns.ts';
import type { HintsStats } from './endpointslice-topology.ts';
import { TopologyCache } from './topology-cache.ts';
import { asksForHints } from './topology-hints-reconcile.ts';
import type { TrafficDistribution } from './traffic-distribution-hints.ts';

export type { ChurnSpec, HintsStats, NodeDrainEvent, ProbeSpec, Sampler, SliceCommit, TrafficDistribution };

/** A delay: a sampler on the component's own stream, or a sampler on one named stream. */
export type Delay = Sampler | { stream: string; sample: Sampler };

export interface ControlPlaneOptions {
  nodes: number;
  services: number;
  endpointsPerService: number;
  /** Default 10.96.0.0/12. */
  serviceCIDR?: string;
  /** Default 10.244.0.0/16. */
  clusterCIDR?: string;
  /** Default 24. */
  nodeCIDRMaskSize?: number;
  /** Service port (default 80) and protocol (default TCP); pods listen on 8080. */
  port?: number;
  protocol?: 'TCP' | 'UDP' | 'SCTP';
  /** Watch delivery delay per event per watcher. Default 0. */
  watchLatency?: Delay;
  /** Client request to commit. Default 0. */
  apiWriteLatency?: Delay;
  /** Pod creation to containers running. Default 0. */
  podStartupLatency?: Delay;
  /** --endpointslice-updates-batch-period; default 0. */
  endpointSliceBatchPeriod?: Nanos;
  /** --max-endpoints-per-slice; default 100. */
  maxEndpointsPerSlice?: number;
  /** The workload's pod template spec.terminationGracePeriodSeconds (default 30): what a rollout's or scale-down's deletes of the existing pods honour. */
  terminationGracePeriodSeconds?: number;
  /** --concurrent-service-endpoint-syncs; default 5. */
  concurrentEndpointSyncs?: number;
  /** The pods' readiness probe; default the core/v1 defaults; null: no probe (Ready once running). */
  readinessProbe?: ProbeSpec | null;
  /** SIGTERM to the process's exit, capped by the grace period; default: it serves until the grace period ends. */
  appExitAfterSigterm?: Delay;
  /** Default 50s (upstream since v1.32, node-lifecycle.ts). */
  nodeMonitorGracePeriod?: Nanos;
  /** Default 300s. */
  podEvictionTimeout?: Nanos;
  churn?: readonly ChurnSpec[];
  /** CoreDNS behind kube-dns (coredns.ts), in runs with DNS. */
  coreDns?: SyntheticClusterOptions['coreDns'];
  /**
   * Writes the cluster instead of the synthetic one (a cluster from manifests: manifest-live.ts); the
   * counts above are then unused. `topologyCache` is the EndpointSlice controller's, kept when one of
   * the Services asks for hints (putManifestCluster feeds it and hints the slices it writes).
   */
  cluster?: (sim: Simulator, api: ApiServer, topologyCache: TopologyCache) => SyntheticCluster;
  /** Each pod's own readiness probe (manifest-live.ts templateProbe), in place of `readinessProbe`. */
  probeOf?: (pod: Pod) => ProbeSpec | undefined;
  /** topology.kubernetes.io/zone of node i (absent: no zone label) and its allocatable CPU in cores (absent: every node `cpusPerNode`, default 4). */
  nodeZones?: readonly string[];
  nodeCpus?: readonly number[];
  /** Per synthetic Service index: its topology fields (absent: none). */
  serviceTopology?: (service: number) => { topologyMode?: 'Auto'; trafficDistribution?: TrafficDistribution };
}

export type EndpointChangeKind = 'ready' | 'not-ready' | 'terminating' | 'not-serving' | 'serving' | 'added' | 'removed';

/** One endpoint's entry changed in a committed slice. */
export interface EndpointChangeRecord {
  /** `namespace/name` of the Service. */
  service: string;
  /** `namespace/name` of the pod. */
  pod: string;
  ip: string;
  change: EndpointChangeKind;
  /** The conditions the slice now carries (all false when removed). */
  ready: boolean;
  serving: boolean;
  terminating: boolean;
  /**
   * The pod-side instant: Ready condition's transition (ready, serving; for not-ready and not-serving
   * the instant the pod stopped answering when that came first: a crash, a node failure), the
   * commit of the deletionTimestamp (terminating), the pod's deletion or its last transition
   * (removed), the pod's creation (added while not ready). t1 when unknown.
   */
  t0: Nanos;
  /** The slice commit. */
  t1: Nanos;
  slice: string;
}

export interface ServiceInfo {
  namespace: string;
  name: string;
  key: string;
  clusterIP: string;
  port: number;
  protocol: 'TCP' | 'UDP' | 'SCTP';
}

export interface ControlPlaneStats {
  apiWrites: number;
  resourceVersion: number;
  endpointSliceSyncs: number;
  endpointSliceWrites: number;
  /** Pods the ReplicaSet controller created (replacements, surge, scale-up). */
  podsCreated: number;
  /**
   * Pods removed from the API server, whoever deleted them (kubectl's pod kills, ReplicaSet scale-down
   * in rollouts and scale events, the node lifecycle controller's evictions): a graceful delete counts
   * when it completes, once the kubelet confirms the containers stopped (status.go's final delete with
   * grace 0), so a pod still in its grace period at the end of a run is not counted yet.
   */
  podsDeleted: number;
  /** Pods the ReplicaSet controller asked to delete (scale-down); a subset of the deletions above, issued. */
  podsDeletedByReplicaSets: number;
  pods: number;
  endpointSlices: number;
  kubeletStatusWrites: number;
  deploymentSyncs: number;
  churn: ChurnCounts;
  /** Topology hints the EndpointSlice controller wrote or gave up on (all 0 in a run without topology). */
  hints: HintsStats;
}

interface PodTimes {
  createdAt: Nanos;
  readyAt: Nanos;
  notReadyAt: Nanos;
  terminatingAt: Nanos;
  deletedAt: Nanos;
  /** A 'removed' record was emitted: the entry can go once the pod is deleted. */
  removedFromSlices: boolean;
}

export class ControlPlane {
  readonly api: ApiServer;
  readonly podNetwork = new PodNetwork();
  readonly cluster: SyntheticCluster;
  readonly kubelets = new Map<string, Kubelet>();
  readonly endpointSliceController: EndpointSliceController;
  readonly replicaSetController: ReplicaSetController;
  readonly deploymentController: DeploymentController;
  readonly nodeLifecycle: NodeLifecycleController;
  readonly nodeDrainer: NodeDrainer;
  readonly scheduler: Scheduler;
  readonly churn: Churn;
  /** The EndpointSlice controller's TopologyCache; undefined in a run without zones, CPU or Service topology. */
  readonly topologyCache: TopologyCache | undefined;
  private readonly sliceCommitListeners: ((c: SliceCommit) => void)[] = [];
  private readonly changeListeners: ((r: EndpointChangeRecord) => void)[] = [];
  private readonly podTimes = new Map<string, PodTimes>();
  private started = false;

  constructor(
    readonly sim: Simulator,
    readonly options: ControlPlaneOptions,
  ) {
    this.api = new ApiServer(sim, { watchLatency: toLatency(sim, options.watchLatency), writeLatency: toLatency(sim, options.apiWriteLatency) });
    const synthTopology = options.nodeZones !== undefined || options.nodeCpus !== undefined || options.serviceTopology !== undefined;
    const cache = synthTopology || options.cluster ? new TopologyCache() : undefined;
    this.cluster = options.cluster ? options.cluster(sim, this.api, cache!) : generateCluster(sim, this.api, {
      nodes: options.nodes,
      services: options.services,
      endpointsPerService: options.endpointsPerService,
      serviceCIDR: options.serviceCIDR,
      clusterCIDR: options.clusterCIDR,
      nodeCIDRMaskSize: options.nodeCIDRMaskSize,
      port: options.port,
      protocol: options.protocol,
      maxEndpointsPerSlice: options.maxEndpointsPerSlice,
      terminationGracePeriodSeconds: options.terminationGracePeriodSeconds,
      ...(options.coreDns ? { coreDns: options.coreDns } : {}),
      ...(cache ? { topology: { nodeZones: options.nodeZones, nodeCpus: options.nodeCpus, serviceTopology: options.serviceTopology, cache } } : {}),
    });
    // A cluster from manifests keeps the cache when one of its Services asks for hints.
    this.topologyCache = options.cluster && !servicesAskForHints(this.api) ? undefined : cache;
    const startup = toLatency(sim, options.podStartupLatency);
    const probe = options.readinessProbe === null ? undefined : options.readinessProbe ?? DEFAULT_PROBE;
    const exit = options.appExitAfterSigterm === undefined ? undefined : toLatency(sim, options.appExitAfterSigterm);
    for (const n of this.cluster.nodes) {
      this.kubelets.set(
        n.name,
        new Kubelet(sim, this.api, {
          nodeName: n.name,
          nodeIP: n.ip,
          podCIDR: n.podCIDR,
          podNetwork: this.podNetwork,
          podStartupLatency: (r) => startup.draw(r),
          readinessProbe: probe,
          ...(options.probeOf ? { probeOf: options.probeOf } : {}),
          ...(exit ? { exitAfterSigterm: (r: RandomStream) => exit.draw(r) } : {}),
        }),
      );
    }
    this.endpointSliceController = new EndpointSliceController(sim, this.api, {
      batchPeriod: options.endpointSliceBatchPeriod ?? 0,
      maxEndpointsPerSlice: options.maxEndpointsPerSlice,
      concurrentSyncs: options.concurrentEndpointSyncs,
      ...(this.topologyCache ? { topologyCache: this.topologyCache } : {}),
    });
    this.endpointSliceController.onSliceCommit = (c) => this.sliceCommitted(c);
    const scheduler = (this.scheduler = new Scheduler(this.api));
    for (const n of this.cluster.nodes) scheduler.addNode(n.name);
    this.replicaSetController = new ReplicaSetController(sim, this.api, scheduler);
    this.deploymentController = new DeploymentController(sim, this.api);
    this.nodeLifecycle = new NodeLifecycleController(sim, this.api, { nodeMonitorGracePeriod: options.nodeMonitorGracePeriod, podEvictionTimeout: options.podEvictionTimeout });
    this.nodeDrainer = new NodeDrainer(sim, this.api, this.kubelets);
    this.churn = new Churn(
      {
        sim,
        api: this.api,
        deployments: this.cluster.deployments,
        ...(options.coreDns ? { coreDnsDeployment: COREDNS_DEPLOYMENT } : {}),
        deploymentController: this.deploymentController,
        replicaSetController: this.replicaSetController,
        kubelets: this.kubelets,
        nodeLifecycle: this.nodeLifecycle,
        nodeDrainer: this.nodeDrainer,
      },
      options.churn ?? [],
    );
  }

  /** Starts kubelets, controllers and churn (once). */
  start(): void {
    if (this.started) return;
    this.started = true;
    const byNode = new Map<string, Pod[]>();
    for (const p of this.api.list<Pod>('Pod')) {
      const n = p.spec.nodeName;
      if (n === undefined) continue;
      let l = byNode.get(n);
      if (!l) byNode.set(n, (l = []));
      l.push(p);
    }
    for (const [name, k] of this.kubelets) k.start(byNode.get(name) ?? []);
    this.endpointSliceController.start();
    this.scheduler.start();
    this.replicaSetController.start();
    this.deploymentController.start();
    if (this.changeListeners.length > 0) this.trackPodTimes();
    this.churn.start();
  }

  services(): ServiceInfo[] {
    return this.cluster.services.map((s) => {
      const i = s.key.indexOf('/');
      return { namespace: s.key.slice(0, i), name: s.key.slice(i + 1), key: s.key, clusterIP: s.clusterIP, port: s.port, protocol: s.protocol };
    });
  }

  nodes(): { name: string; ip: string }[] {
    return this.cluster.nodes.map((n) => ({ name: n.name, ip: n.ip }));
  }

  endpointSlices(): IterableIterator<EndpointSlice> {
    return this.api.list<EndpointSlice>('EndpointSlice');
  }

  watchEndpointSlices(watcherName: string, onEvent: (e: WatchEvent<EndpointSlice>) => void, o: { sendInitialEvents?: boolean } = {}): Watch {
    // The caller's function itself is the handler (one call per delivery, 5,000 watchers at scale).
    return this.api.watch({ name: watcherName, kind: 'EndpointSlice', sendInitialEvents: o.sendInitialEvents ?? true, handler: onEvent as (e: WatchEvent) => void });
  }

  watchServices(watcherName: string, onEvent: (e: WatchEvent<Service>) => void, o: { sendInitialEvents?: boolean } = {}): Watch {
    return this.api.watch({ name: watcherName, kind: 'Service', sendInitialEvents: o.sendInitialEvents ?? true, handler: (e) => onEvent(e as WatchEvent<Service>) });
  }

  onEndpointSliceCommit(cb: (c: SliceCommit) => void): void {
    this.sliceCommitListeners.push(cb);
  }

  /** Register before start() (pod-side instants are tracked from then on). */
  onEndpointChange(cb: (r: EndpointChangeRecord) => void): void {
    this.changeListeners.push(cb);
    if (this.started && this.changeListeners.length === 1) this.trackPodTimes();
  }

  /** Each step of a node drain (cordoned, tainted, evicting, deleted) at its instant (node-drain.ts). */
  onNodeDrain(cb: (e: NodeDrainEvent) => void): void {
    this.nodeDrainer.onEvent(cb);
  }

  podIPState(ip: string): PodIPState {
    return this.podNetwork.state(ip);
  }

  crashPod(podKey: string): boolean {
    const pod = this.api.get<Pod>('Pod', podKey);
    const k = pod?.spec.nodeName !== undefined ? this.kubelets.get(pod.spec.nodeName) : undefined;
    return k ? k.crash(podKey) : false;
  }

  stats(): ControlPlaneStats {
    let kubeletStatusWrites = 0;
    for (const k of this.kubelets.values()) kubeletStatusWrites += k.statusWrites;
    return {
      apiWrites: this.api.writes,
      resourceVersion: this.api.resourceVersion,
      endpointSliceSyncs: this.endpointSliceController.syncs,
      endpointSliceWrites: this.endpointSliceController.sliceWrites,
      podsCreated: this.replicaSetController.podsCreated,
      podsDeleted: this.api.deletions('Pod'),
      podsDeletedByReplicaSets: this.replicaSetController.podsDeleted,
      pods: this.api.count('Pod'),
      endpointSlices: this.api.count('EndpointSlice'),
      kubeletStatusWrites,
      deploymentSyncs: this.deploymentController.syncs,
      churn: { ...this.churn.counts },
      hints: { ...(this.endpointSliceController.topology?.stats ?? { fallbackEvents: 0, enabledEvents: 0, servicesWithHints: 0 }) },
    };
  }

  // ---- truth: pod-side instants and endpoint change records

  /** A watch without delay: it runs at each pod commit and keeps the instants records need. */
  private trackPodTimes(): void {
    this.api.watch({ name: 'control-plane/pod-times', kind: 'Pod', latency: ZERO_LATENCY, sendInitialEvents: false, handler: (e) => this.podEvent(e as WatchEvent<Pod>) });
  }

  private podEvent(e: WatchEvent<Pod>): void {
    let t = this.podTimes.get(e.key);
    if (!t) this.podTimes.set(e.key, (t = { createdAt: e.type === 'ADDED' ? e.committedAt : -1, readyAt: -1, notReadyAt: -1, terminatingAt: -1, deletedAt: -1, removedFromSlices: false }));
    if (e.type === 'DELETED') {
      t.deletedAt = e.committedAt;
      if (t.removedFromSlices) this.podTimes.delete(e.key);
      return;
    }
    const pod = e.object;
    const prev = e.previous;
    const ready = pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
    const wasReady = prev?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
    if (ready !== wasReady) {
      const at = readyTransitionTime(pod);
      // Not Ready: from when the pod stopped answering if that came first (a crash, a node failure).
      const stop = ready ? -1 : stoppedServingTime(pod);
      if (ready) t.readyAt = at >= 0 ? at : e.committedAt;
      else t.notReadyAt = stop >= 0 ? stop : at >= 0 ? at : e.committedAt;
    }
    if (pod.metadata.deletionTimestamp !== undefined && prev?.metadata.deletionTimestamp === undefined) t.terminatingAt = e.committedAt;
  }

  private sliceCommitted(c: SliceCommit): void {
    for (const l of this.sliceCommitListeners) l(c);
    if (this.changeListeners.length > 0) this.diffSlice(c);
  }

  private diffSlice(c: SliceCommit): void {
    const before = new Map<string, Endpoint>();
    for (const ep of c.previous?.endpoints ?? []) before.set(targetKey(ep), ep);
    const after = c.type === 'DELETED' ? [] : c.slice.endpoints;
    for (const ep of after) {
      const k = targetKey(ep);
      const old = before.get(k);
      before.delete(k);
      if (old === ep) continue;
      const kind = classify(old, ep);
      if (kind) this.emit(c, k, ep, kind);
    }
    for (const [k, ep] of before) this.emit(c, k, ep, 'removed');
  }

  private emit(c: SliceCommit, podKey: string, ep: Endpoint, change: EndpointChangeKind): void {
    const t = this.podTimes.get(podKey);
    const cond = ep.conditions ?? {};
    let t0 = -1;
    if (t) {
      switch (change) {
        case 'ready':
        case 'serving':
          t0 = t.readyAt;
          break;
        case 'not-ready':
        case 'not-serving':
          t0 = t.notReadyAt;
          break;
        case 'terminating':
          t0 = t.terminatingAt;
          break;
        case 'added':
          t0 = t.createdAt;
          break;
        case 'removed':
          t0 = t.deletedAt >= 0 ? t.deletedAt : Math.max(t.notReadyAt, t.terminatingAt);
          break;
      }
    }
    const removed = change === 'removed';
    const r: EndpointChangeRecord = {
      service: c.service,
      pod: podKey,
      ip: ep.addresses[0] ?? '',
      change,
      ready: !removed && cond.ready === true,
      serving: !removed && cond.serving === true,
      terminating: !removed && cond.terminating === true,
      t0: t0 >= 0 && t0 <= c.committedAt ? t0 : c.committedAt,
      t1: c.committedAt,
      slice: c.slice.metadata.name,
    };
    if (removed && t) {
      // Kept until the pod is deleted too (the endpoint usually leaves its slice before that).
      if (t.deletedAt >= 0) this.podTimes.delete(podKey);
      else t.removedFromSlices = true;
    }
    for (const l of this.changeListeners) l(r);
  }
}

/** Some Service carries the topology-mode annotation set to Auto or a spec.trafficDistribution. */
function servicesAskForHints(api: ApiServer): boolean {
  for (const s of api.list<Service>('Service')) if (asksForHints(s)) return true;
  return false;
}

function targetKey(ep: Endpoint): string {
  return `${ep.targetRef?.namespace ?? ''}/${ep.targetRef?.name ?? ep.addresses[0]}`;
}

function classify(old: Endpoint | undefined, ep: Endpoint): EndpointChangeKind | undefined {
  const n = ep.conditions ?? {};
  if (!old) return n.ready ? 'ready' : 'added';
  const o = old.conditions ?? {};
  if (n.ready !== o.ready) return n.ready ? 'ready' : n.terminating && !o.terminating ? 'terminating' : 'not-ready';
  if (n.terminating !== o.terminating) return n.terminating ? 'terminating' : 'ready';
  if (n.serving !== o.serving) return n.serving ? 'serving' : 'not-serving';
  return undefined; // node/zone/targetRef change only
}

function toLatency(sim: Simulator, d: Delay | undefined): Latency {
  if (d === undefined) return ZERO_LATENCY;
  if (typeof d === 'function') return { draw: d, describe: 'sampler' };
  const rng: RandomStream = sim.rng(d.stream);
  return { draw: () => d.sample(rng), describe: `sampler on ${d.stream}` };
}
