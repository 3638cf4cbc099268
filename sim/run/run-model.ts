import { Simulator } from '../engine/simulator.ts';
import { HOUR, SECOND } from '../engine/time.ts';
import { Histogram } from '../engine/stats/histogram.ts';
import { modeModel, type ModeModel, type SyncWork } from '../proxy/cost/index.ts';
import { LocalEndpoints } from './local-endpoints.ts';
import { NodeEndpoints } from './node-endpoints.ts';
import { topologyControlPlaneOptions, topologyParts, type TopologyParts } from './topology-run.ts';
import type { NodeEndpointView } from './traffic.ts';
import { ConnectSetup, DEFAULT_CONNECT_SETUP } from './connect-setup.ts';
import { EndpointTimeline } from '../proxy/sync/endpoint-timeline.ts';
import { endpointChange, type SyncObserver } from '../proxy/sync/proxy-agent.ts';
import { nodeProxy, type NodeProxy } from '../proxy/sync/node-proxy.ts';
import { SessionAffinity } from '../proxy/cost/session-affinity.ts';
import type { ModelConfig } from './config.ts';
import { RunMetrics, type RunOutput } from './metrics.ts';
import { syntheticEndpoints } from './synthetic-endpoints.ts';
import { TrafficModel, type ConnectionObserver } from './traffic.ts';
import { ConntrackMetrics } from './conntrack-metrics.ts';
import { ALWAYS_ACCEPTING, type PodIPStates } from '../k8s/pod-network.ts';
import { ControlPlane, type ControlPlaneOptions } from '../k8s/control-plane.ts';
import { ControlPlaneFeed } from './control-plane-feed.ts';
import { ManifestFeed } from './manifest-feed.ts';
import { putManifestCluster, templateProbe } from '../k8s/manifest-live.ts';
import { ProgrammingProbe } from './programming-probe.ts';
import { SyncEffects } from './sync-effects.ts';
import { samplerOf } from '../engine/distribution.ts';
import { dnsCluster, startDns, type DnsParts } from './dns-wiring.ts';
import { ExternalRun } from './external-run.ts';
import type { ExternalConnectionRecord } from './external-traffic.ts';
import { dataPlaneFigures, walkingDataPlane } from './data-plane.ts';

/** Hooks into a run, for tests that check when things happened on which node; no effect on the run. */
export interface RunObserver {
  /** A node's sync (or update round) ended; rules of version `to` act from `now` when ok. */
  sync?: (node: number, from: number, to: number, now: number, ok: boolean) => void;
  /** A connection's outcome, warm-up included. */
  connection?: ConnectionObserver;
  /** The run's endpoint timeline (what each version holds), given once it is built. */
  timeline?: (timeline: EndpointTimeline) => void;
  /** An external connection's course (runs with external clients), warm-up included. */
  external?: (r: ExternalConnectionRecord) => void;
}

/**
 * One run of the model: a cluster, one kube-proxy per node with its sync loop, and client traffic
 * whose first packets are decided by each node's active rules. Deterministic for a given config.
 */
export function runModel(config: ModelConfig, observe: RunObserver = {}): RunOutput {
  const sim = new Simulator({ seed: config.seed });
  const cluster = buildCluster(sim, config);
  const { timeline, controlPlane, feed, local } = cluster;
  const sessionAffinity = config.cluster.sessionAffinity === 'ClientIP';
  const mode = modeModel(config.proxy.mode, { costs: config.costs, iptablesBackend: config.proxy.iptablesBackend, sessionAffinity });
  const affinity = cluster.topology ? cluster.topology.affinity(mode) : sessionAffinity ? new SessionAffinity(mode.affinityStore, config.cluster.sessionAffinityTimeoutNs) : null;
  const metrics = new RunMetrics(config.timeseriesIntervalNs);
  // North-south traffic (external-run.ts): only in runs with external clients.
  const external = config.external ? new ExternalRun(sim, config, cluster.nodeNames, controlPlane) : null;
  const syncs = new SyncEffects(config, timeline, mode, metrics, affinity, external ? external.onSync(observe.sync) : observe.sync);
  const built = buildProxies(sim, config, cluster, mode, syncs);
  const agents = external ? external.track(built) : built;
  const sliceLatency = new Histogram();
  if (controlPlane && feed) connectControlPlane(config, controlPlane, feed, agents, sliceLatency);

  // A static cluster's endpoints serve for the whole run; with churn the kubelets decide.
  const pods: PodIPStates = controlPlane ? controlPlane.podNetwork : ALWAYS_ACCEPTING;
  const traffic = (syncs.traffic = new TrafficModel(sim, config, timeline, agents, mode, metrics, pods, affinity, local));
  if (observe.connection) traffic.observer = observe.connection;
  const walking = walkingDataPlane(config, mode, timeline, cluster.nodeNames, local);
  if (walking) traffic.firstPackets = walking;
  if (cluster.topology) traffic.topology = cluster.topology.metrics;
  const connectSetup = (traffic.connectSetup = new ConnectSetup(sim, config.connectSetup ?? DEFAULT_CONNECT_SETUP, cluster.nodeNames));
  const dns = cluster.dns ? startDns(sim, config, cluster.dns, { timeline, agents, mode, conntrack: traffic.conntrack, pods, controlPlane }) : null;
  if (dns) metrics.series.push(...dns.series);
  observe.timeline?.(timeline);
  const conntrack = new ConntrackMetrics(sim, traffic.conntrack, config.conntrack.max, config.timeseriesIntervalNs);
  if (mode.natInConntrack) {
    conntrack.start(config.durationNs);
    metrics.series.push(conntrack.series);
  }

  if (external) {
    external.attach(timeline, agents, mode, pods, observe.external);
    metrics.series.push(...external.series);
    external.start();
  }
  for (const a of agents) a.startLoop();
  controlPlane?.start();
  if (!controlPlane) new ProgrammingProbe(sim, timeline, agents, config.programmingProbeNs, config.controlPlane.watchLatency, cluster.topology ? cluster.topology.anyLocal : cluster.local !== null, config.cluster.portsPerService ?? 1).start();
  traffic.start();
  dns?.start();
  sim.run(config.durationNs);
  feed?.deliverDue();

  return metrics.output(
    {
      ...kernelFigures(mode, cluster),
      ...connectSetup.figures(),
      ...conntrack.figures(config.durationNs),
      ...syncs.programming.figures(),
      ...(controlPlane ? controlPlaneFigures(controlPlane, sliceLatency, timeline.version, feed) : {}),
      // NaN without affinity: every run of a study has the same columns (run-point-contract.ts).
      'affinity.hits': affinity ? metrics.affinityHits : NaN,
      'affinity.misses': affinity ? metrics.affinityMisses : NaN,
      ...(dns ? dns.figures() : {}),
      'sim.events': sim.executed,
      ...dataPlaneFigures(walking),
      ...(external ? external.figures() : {}),
      ...(cluster.topology ? cluster.topology.figures(timeline, controlPlane) : {}),
    },
    config.durationNs,
  );
}

export const DEFAULT_FULL_SYNC_PERIOD_NS = HOUR;

/** The run's cluster as kube-proxy hears of it: its endpoint timeline, and the control plane that writes it when there is churn. */
interface RunCluster {
  timeline: EndpointTimeline;
  controlPlane: ControlPlane | null;
  /** The synthetic cluster's feed, or a live manifest cluster's (manifest-feed.ts). */
  feed: ControlPlaneFeed | ManifestFeed | null;
  /** Each node's own endpoints, with internalTrafficPolicy Local (LocalEndpoints) or Services' own policies (NodeEndpoints). */
  local: (NodeEndpointView & Pick<LocalEndpoints, 'totalAt'>) | null;
  /** Runs with zones or per-Service policies (topology-run.ts); null: every node and Service alike. */
  topology: TopologyParts | null;
  /** The kube-dns Service's ports in the timeline, in runs with DNS (dns-wiring.ts). */
  dns: DnsParts | null;
  /** Node names as the endpoints carry them, by node index. */
  nodeNames: string[];
}

/**
 * A static cluster from manifests or from the counts (syntheticEndpoints), or, with churn, the
 * control plane and the feed that turns its EndpointSlices into timeline versions.
 */
function buildCluster(sim: Simulator, config: ModelConfig): RunCluster {
  const timeline = new EndpointTimeline();
  const internalLocal = config.cluster.trafficPolicy === 'Local';
  const topology = topologyParts(config);
  const portsPerService = config.cluster.portsPerService ?? 1;
  let controlPlane: ControlPlane | null = null;
  let feed: ControlPlaneFeed | null = null;
  let liveFeed: ManifestFeed | null = null;
  const manifest = config.cluster.manifest;
  if (manifest?.live) {
    controlPlane = buildControlPlane(sim, config);
    liveFeed = new ManifestFeed(controlPlane, timeline, manifest.ports, internalLocal, manifest.perService === true);
  } else if (manifest) {
    if (config.churn.length > 0) throw new Error('runModel: churn on a cluster from manifests needs manifest.live (run-point sets it)');
    manifest.ports.forEach((p, i) => timeline.addService(p, manifest.endpoints[i]!));
  } else if (config.churn.length > 0) {
    controlPlane = buildControlPlane(sim, config);
    feed = new ControlPlaneFeed(controlPlane, timeline, { affinitySeconds: affinitySeconds(config), internalLocal, portsPerService, ...(config.cluster.policies ? { policies: config.cluster.policies } : {}) });
  } else {
    const cluster = syntheticEndpoints({ ...config.cluster, affinitySeconds: affinitySeconds(config), portsPerService, ...dnsCluster.firstClusterIP(config), ...(topology ? topology.syntheticOptions() : {}) });
    cluster.ports.forEach((p, i) => timeline.addService(p, cluster.endpoints[i]!));
  }
  const dns = dnsCluster.add(config, timeline, controlPlane, feed);
  // Node names as the endpoints carry them (EndpointSlice endpoints[].nodeName).
  const nodeNames = manifest ? manifest.nodeNames : controlPlane ? controlPlane.nodes().map((n) => n.name) : Array.from({ length: config.cluster.nodes }, (_, n) => `node-${n}`);
  const local = topology ? new NodeEndpoints(timeline, nodeNames, config.cluster.zones?.nodeZones ?? null) : internalLocal ? new LocalEndpoints(timeline, nodeNames) : null;
  topology?.attach(timeline, nodeNames);
  return { timeline, controlPlane, feed: feed ?? liveFeed, local, dns, nodeNames, topology };
}

/** One kube-proxy per node, each telling `syncs` when a sync ends. */
function buildProxies(sim: Simulator, config: ModelConfig, cluster: RunCluster, mode: ModeModel, syncs: SyncObserver): NodeProxy[] {
  const { timeline, local } = cluster;
  const agents: NodeProxy[] = [];
  const agentOptions = {
    intervals: { minInterval: config.proxy.minSyncPeriodNs, retryInterval: config.proxy.syncPeriodNs, maxInterval: config.proxy.fullSyncPeriodNs },
    syncFailureProbability: config.proxy.syncFailureProbability,
    fullSyncPeriodNs: config.proxy.fullSyncPeriodNs,
  };
  for (let n = 0; n < config.cluster.nodes; n++) agents.push(nodeProxy(sim, n, timeline, local ? nodeLocalMode(mode, local, timeline, agents, n) : mode, agentOptions, syncs));
  return agents;
}

/** Every node's kube-proxy watches the control plane's slices; `sliceLatency` gets pod-event-to-slice times after the warm-up. */
function connectControlPlane(config: ModelConfig, controlPlane: ControlPlane, feed: ControlPlaneFeed | ManifestFeed, agents: readonly NodeProxy[], sliceLatency: Histogram): void {
  feed.recordFrom = config.warmupNs;
  feed.attach(agents);
  controlPlane.onEndpointChange((r) => {
    if (r.t1 >= config.warmupNs) sliceLatency.record(r.t1 - r.t0);
  });
}

/** Kernel objects of one node (node 0, with Local: its own endpoints) at the run's last version. */
function kernelFigures(mode: ModeModel, { timeline, local }: RunCluster): Record<string, number> {
  const v = timeline.version;
  const objects = local
    ? mode.kernelObjects(timeline.services.length, local.totalAt(0, v), local.withoutAt(0, v), undefined, local instanceof NodeEndpoints ? local.affinityAt(0, v) : undefined)
    : mode.kernelObjects(timeline.services.length, timeline.totalEndpointsAt(v), timeline.servicesWithoutEndpointsAt(v));
  return {
    'kernel.rules': objects.rules,
    'kernel.setElements': objects.setElements,
    'kernel.ipvsServers': objects.ipvsServers,
    'kernel.memoryBytes': objects.memoryBytes,
  };
}

/**
 * internalTrafficPolicy Local: node `n`'s syncs write only its own endpoints (an SVL chain and SEP
 * chains for the local ones, a DROP rule for ports with none here), so its sync cost is the mode's for
 * the node's counts. The agent describes a sync in cluster-wide counts; this recounts the same sync
 * (from the node's active version to the one it heard, which ProxyAgent.start checks out just before
 * asking for the cost) in the node's own.
 */
function nodeLocalMode(mode: ModeModel, local: NonNullable<RunCluster['local']>, timeline: EndpointTimeline, agents: readonly NodeProxy[], n: number): ModeModel {
  return {
    ...mode,
    syncCost(w: SyncWork) {
      const agent = agents[n]!;
      const from = agent.active;
      const to = agent.heard;
      // Runs where Services differ (NodeEndpoints): the ClientIP Services' endpoints cost affinity's extra rules.
      const policy = local instanceof NodeEndpoints ? local : null;
      const changed = w.full
        ? []
        : timeline.servicesChangedBetween(from, to).map((s) => {
            const c = endpointChange(local.at(n, s, from), local.at(n, s, to));
            return policy?.affinity(s) ? { ...c, affinity: true } : c;
          });
      return mode.syncCost({ ...w, servicesWithoutEndpoints: local.withoutAt(n, to), endpoints: local.totalAt(n, to), changed, ...(policy ? { affinityEndpoints: policy.affinityAt(n, to) } : {}) });
    },
  };
}

/** The Services' stickyMaxAgeSeconds: 0 without ClientIP affinity. */
function affinitySeconds(config: ModelConfig): number {
  return config.cluster.sessionAffinity === 'ClientIP' ? Math.round(config.cluster.sessionAffinityTimeoutNs / SECOND) : 0;
}

function buildControlPlane(sim: Simulator, config: ModelConfig): ControlPlane {
  const c = config.controlPlane;
  return new ControlPlane(sim, {
    nodes: config.cluster.nodes,
    services: config.cluster.services,
    endpointsPerService: config.cluster.endpointsPerService,
    ...(config.cluster.serviceCIDR ? { serviceCIDR: config.cluster.serviceCIDR } : {}),
    ...(config.cluster.clusterCIDR ? { clusterCIDR: config.cluster.clusterCIDR } : {}),
    port: config.cluster.port,
    protocol: config.cluster.protocol,
    watchLatency: samplerOf(c.watchLatency),
    apiWriteLatency: samplerOf(c.apiWriteLatency),
    podStartupLatency: samplerOf(c.podStartupLatency),
    endpointSliceBatchPeriod: c.endpointSliceBatchPeriodNs,
    maxEndpointsPerSlice: c.maxEndpointsPerSlice,
    readinessProbe: c.readinessProbe,
    ...(c.appExitAfterSigterm ? { appExitAfterSigterm: samplerOf(c.appExitAfterSigterm) } : {}),
    nodeMonitorGracePeriod: c.nodeMonitorGracePeriodNs,
    podEvictionTimeout: c.podEvictionTimeoutNs,
    churn: config.churn,
    terminationGracePeriodSeconds: templateGraceSeconds(config.churn),
    ...dnsCluster.controlPlaneOptions(config),
    ...liveClusterOptions(config),
    ...(config.cluster.manifest ? {} : topologyControlPlaneOptions(config)),
  });
}

/** A live cluster from manifests: its objects instead of the synthetic ones, each pod with its template's probe. */
function liveClusterOptions(config: ModelConfig): Pick<ControlPlaneOptions, 'cluster' | 'probeOf'> {
  const live = config.cluster.manifest?.live;
  if (!live) return {};
  return { cluster: (sim, api, topologyCache) => putManifestCluster(sim, api, live.objects, live.options, topologyCache), probeOf: templateProbe };
}

/**
 * The pods' own grace period. A rollout deletes the old pods with the grace their template gave them
 * (the Deployment's new template only governs the new pods), so a study of rolling updates without
 * graceful termination needs the existing pods created with 0 too; pod kills pass their grace on the
 * delete call and need nothing here.
 */
function templateGraceSeconds(churn: ModelConfig['churn']): number | undefined {
  const rollout = churn.find((c) => c.kind === 'rolling-update');
  if (!rollout) return undefined;
  if (rollout.gracefulTermination === false) return 0;
  return rollout.terminationGracePeriod === undefined ? undefined : Math.ceil(rollout.terminationGracePeriod / SECOND);
}

/** What the control plane did: churn events, API writes, and pod-event-to-slice latency. */
function controlPlaneFigures(cp: ControlPlane, sliceLatency: Histogram, changes: number, feed: ControlPlaneFeed | ManifestFeed | null): Record<string, number> {
  const st = cp.stats();
  const watch: Record<string, number> = {};
  if (feed) {
    for (const [name, h] of [['watchDelivery', feed.watchDelivery], ['endpointHeardLatency', feed.heardLatency]] as const) {
      watch[`${name}.count`] = h.count;
      watch[`${name}.p50`] = h.percentile(0.5);
      watch[`${name}.p99`] = h.percentile(0.99);
      watch[`${name}.max`] = h.count ? h.max : NaN;
    }
  }
  return {
    ...watch,
    'churn.rollouts': st.churn.rollouts,
    'churn.podKills': st.churn.podKills,
    'churn.scaleEvents': st.churn.scaleEvents,
    'churn.nodeFailures': st.churn.nodeFailures,
    'churn.containerCrashes': st.churn.containerCrashes,
    'k8s.podsCreated': st.podsCreated,
    'k8s.podsDeleted': st.podsDeleted,
    'k8s.apiWrites': st.apiWrites,
    'k8s.endpointSliceWrites': st.endpointSliceWrites,
    'endpointChanges.count': changes,
    'endpointSliceLatency.p50': sliceLatency.percentile(0.5),
    'endpointSliceLatency.p99': sliceLatency.percentile(0.99),
  };
}
