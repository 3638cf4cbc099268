import { Simulator } from '../engine/simulator.ts';
import { HOUR, SECOND } from '../engine/time.ts';
import { parseIPv4 } from '../net/ipv4.ts';
import { Histogram } from '../engine/stats/histogram.ts';
import { modeModel, type ModeModel, type SyncWork } from '../proxy/cost/index.ts';
import { LocalEndpoints } from './local-endpoints.ts';
import { EndpointTimeline } from '../proxy/sync/endpoint-timeline.ts';
import { endpointChange, type SyncObserver } from '../proxy/sync/proxy-agent.ts';
import { nodeProxy, type NodeProxy } from '../proxy/sync/node-proxy.ts';
import { ActiveVersions } from '../proxy/sync/active-versions.ts';
import { SessionAffinity } from '../proxy/cost/session-affinity.ts';
import type { ModelConfig } from './config.ts';
import { RunMetrics, type RunOutput } from './metrics.ts';
import { syntheticEndpoints } from './synthetic-endpoints.ts';
import { TrafficModel, type ConnectionObserver } from './traffic.ts';
import { ConntrackMetrics } from './conntrack-metrics.ts';
import { ALWAYS_ACCEPTING, type PodIPStates } from '../k8s/pod-network.ts';
import { ControlPlane } from '../k8s/control-plane.ts';
import { ControlPlaneFeed } from './control-plane-feed.ts';
import { ProgrammingProbe } from './programming-probe.ts';
import { ProgrammingLatency } from './programming-latency.ts';
import { sampleNs } from '../engine/distribution.ts';
import type { Distribution } from '../engine/distribution.ts';
import type { RandomStream } from '../engine/random.ts';

/** Hooks into a run, for tests that check when things happened on which node; no effect on the run. */
export interface RunObserver {
  /** A node's sync (or update round) ended; rules of version `to` act from `now` when ok. */
  sync?: (node: number, from: number, to: number, now: number, ok: boolean) => void;
  /** A connection's outcome, warm-up included. */
  connection?: ConnectionObserver;
  /** The run's endpoint timeline (what each version holds), given once it is built. */
  timeline?: (timeline: EndpointTimeline) => void;
}

/**
 * One run of the model: a cluster, one kube-proxy per node with its sync loop, and client traffic
 * whose first packets are decided by each node's active rules. Deterministic for a given config.
 */
export function runModel(config: ModelConfig, observe: RunObserver = {}): RunOutput {
  const sim = new Simulator({ seed: config.seed });
  const timeline = new EndpointTimeline();
  const internalLocal = config.cluster.trafficPolicy === 'Local';
  const portsPerService = config.cluster.portsPerService ?? 1;
  let controlPlane: ControlPlane | null = null;
  let feed: ControlPlaneFeed | null = null;
  const manifest = config.cluster.manifest;
  if (manifest) {
    if (config.churn.length > 0) throw new Error('runModel: a cluster from manifests is static (run-point refuses churn)');
    manifest.ports.forEach((p, i) => timeline.addService(p, manifest.endpoints[i]!));
  } else if (config.churn.length > 0) {
    controlPlane = buildControlPlane(sim, config);
    feed = new ControlPlaneFeed(controlPlane, timeline, { affinitySeconds: affinitySeconds(config), internalLocal, portsPerService });
  } else {
    const cluster = syntheticEndpoints({ ...config.cluster, affinitySeconds: affinitySeconds(config), portsPerService });
    cluster.ports.forEach((p, i) => timeline.addService(p, cluster.endpoints[i]!));
  }
  // Node names as the endpoints carry them (EndpointSlice endpoints[].nodeName).
  const nodeNames = manifest ? manifest.nodeNames : controlPlane ? controlPlane.nodes().map((n) => n.name) : Array.from({ length: config.cluster.nodes }, (_, n) => `node-${n}`);
  const local = internalLocal ? new LocalEndpoints(timeline, nodeNames) : null;

  const sessionAffinity = config.cluster.sessionAffinity === 'ClientIP';
  const mode = modeModel(config.proxy.mode, { costs: config.costs, iptablesBackend: config.proxy.iptablesBackend, sessionAffinity });
  const affinity = sessionAffinity ? new SessionAffinity(mode.affinityStore, config.cluster.sessionAffinityTimeoutNs) : null;
  const metrics = new RunMetrics(config.timeseriesIntervalNs);
  const programming = new ProgrammingLatency(config.cluster.nodes);
  const agents: NodeProxy[] = [];
  /** Every change up to this version is active on all nodes. */
  let everywhere = 0;
  const active = new ActiveVersions(config.cluster.nodes);
  const udp = config.traffic.protocol === 'udp';
  let traffic: TrafficModel | null = null;
  /**
   * kube-proxy's conntrack reconciliation at the end of every successful sync (CleanStaleEntries):
   * against the serving endpoints of each UDP service port as of the version the node now runs. The
   * frontends are looked up lazily, per entry met, which gives the same result as building the map of
   * every UDP Service first.
   */
  let frontends: Map<number, number> | null = null;
  const servingSets = new Map<number, ReadonlySet<number>>();
  let servingVersion = -1;
  const cleanStaleUdp = (node: number, version: number, now: number) => {
    const ct = traffic?.conntrack;
    if (!ct) return;
    if (!frontends) {
      frontends = new Map();
      timeline.services.forEach((sp, i) => {
        if (sp.protocol === 'UDP') frontends!.set(frontendKey(traffic!.vip(i), sp.port), i);
      });
    }
    // A version's serving sets are the same for every node that syncs to it: kept until the next version.
    if (version !== servingVersion) {
      servingSets.clear();
      servingVersion = version;
    }
    ct.udpReconcile(
      node,
      (ip, port) => {
        const s = frontends!.get(frontendKey(ip, port));
        if (s === undefined) return null;
        let set = servingSets.get(s);
        if (!set) servingSets.set(s, (set = new Set(timeline.servingAt(s, version).map((e) => parseIPv4(e.ip)))));
        return set;
      },
      now,
    );
  };
  /**
   * The sync that removed an endpoint from a node's rules also removed what pinned clients to it:
   * its KUBE-SEP chain and with it the xt_recent list, its nft affinity set, its IPVS real server
   * (templates to it are no longer used), its Cilium backend. An endpoint removed and back within
   * the synced changes keeps its state.
   */
  const forgetRemoved = (a: SessionAffinity, node: number, from: number, to: number) => {
    for (let v = from + 1; v <= to; v++) {
      const c = timeline.change(v);
      if (c.removed.length === 0) continue;
      const current = timeline.endpointsAt(c.service, to);
      for (const ep of c.removed) if (!current.some((e) => e.endpoint === ep)) a.forget(node, c.service, ep);
    }
  };
  const observer: SyncObserver = {
    onSyncEnd(node, from, to, now, ok, durationNs, full, units) {
      observe.sync?.(node, from, to, now, ok);
      metrics.syncs++;
      metrics.syncsSeries.record(now, 1);
      metrics.syncDuration.record(durationNs);
      metrics.syncUnits.record(units);
      if (full) metrics.fullSyncDuration.record(durationNs);
      if (!ok) {
        metrics.syncFailures++;
        return;
      }
      // kubeproxy_network_programming_duration_seconds: for each change this sync included, the
      // time from its trigger to now (pkg/proxy/metrics, observed at the end of syncProxyRules).
      for (let v = from + 1; v <= to; v++) {
        const latency = now - timeline.change(v).triggerTime;
        metrics.networkProgrammingLatency.record(latency);
        programming.record(node, latency);
      }
      if (from !== to) active.move(from, to);
      if (udp && mode.natInConntrack) cleanStaleUdp(node, to, now);
      if (affinity) forgetRemoved(affinity, node, from, to);
      metrics.staleNodesSeries.record(now, active.behind(timeline.version));
      // Stale-endpoint window: from when a removed endpoint stopped answering (its crash or node
      // failure, else the change's trigger) until the last node's rules stopped sending new
      // connections to it.
      const oldest = active.oldest;
      for (; everywhere < oldest; everywhere++) {
        const c = timeline.change(everywhere + 1);
        if (c.removed.length > 0) metrics.staleEndpointWindow.record(now - c.removedSince);
      }
    },
  };
  const agentOptions = {
    intervals: { minInterval: config.proxy.minSyncPeriodNs, retryInterval: config.proxy.syncPeriodNs, maxInterval: config.proxy.fullSyncPeriodNs },
    syncFailureProbability: config.proxy.syncFailureProbability,
    fullSyncPeriodNs: config.proxy.fullSyncPeriodNs,
  };
  for (let n = 0; n < config.cluster.nodes; n++) agents.push(nodeProxy(sim, n, timeline, local ? nodeLocalMode(mode, local, timeline, agents, n) : mode, agentOptions, observer));

  // A static cluster's endpoints serve for the whole run; with churn the kubelets decide.
  const pods: PodIPStates = controlPlane ? controlPlane.podNetwork : ALWAYS_ACCEPTING;
  if (feed) feed.recordFrom = config.warmupNs;
  feed?.attach(agents);
  const sliceLatency = new Histogram();
  controlPlane?.onEndpointChange((r) => {
    if (r.t1 >= config.warmupNs) sliceLatency.record(r.t1 - r.t0);
  });
  traffic = new TrafficModel(sim, config, timeline, agents, mode, metrics, pods, affinity, local);
  if (observe.connection) traffic.observer = observe.connection;
  observe.timeline?.(timeline);
  const conntrack = new ConntrackMetrics(sim, traffic.conntrack, config.conntrack.max, config.timeseriesIntervalNs);
  if (mode.natInConntrack) {
    conntrack.start(config.durationNs);
    metrics.series.push(conntrack.series);
  }
  for (const a of agents) a.startLoop();
  controlPlane?.start();
  if (!controlPlane) new ProgrammingProbe(sim, timeline, agents, config.programmingProbeNs, config.controlPlane.watchLatency, internalLocal, portsPerService).start();
  traffic.start();
  sim.run(config.durationNs);

  // Kernel objects of one node (node 0, with Local: its own endpoints).
  const v = timeline.version;
  const objects = local
    ? mode.kernelObjects(timeline.services.length, local.totalAt(0, v), local.withoutAt(0, v))
    : mode.kernelObjects(timeline.services.length, timeline.totalEndpointsAt(v), timeline.servicesWithoutEndpointsAt(v));
  return metrics.output(
    {
      'kernel.rules': objects.rules,
      'kernel.setElements': objects.setElements,
      'kernel.ipvsServers': objects.ipvsServers,
      'kernel.memoryBytes': objects.memoryBytes,
      ...conntrack.figures(config.durationNs),
      ...programming.figures(),
      ...(controlPlane ? controlPlaneFigures(controlPlane, sliceLatency, timeline.version, feed) : {}),
      // NaN without affinity: every run of a study has the same columns (run-point-contract.ts).
      'affinity.hits': affinity ? metrics.affinityHits : NaN,
      'affinity.misses': affinity ? metrics.affinityMisses : NaN,
      'sim.events': sim.executed,
    },
    config.durationNs,
  );
}

export const DEFAULT_FULL_SYNC_PERIOD_NS = HOUR;

/** A frontend address and port as one number (exact: below 2^48). */
function frontendKey(ip: number, port: number): number {
  return ip * 65536 + port;
}

/**
 * internalTrafficPolicy Local: node `n`'s syncs write only its own endpoints (an SVL chain and SEP
 * chains for the local ones, a DROP rule for ports with none here), so its sync cost is the mode's for
 * the node's counts. The agent describes a sync in cluster-wide counts; this recounts the same sync
 * (from the node's active version to the one it heard, which ProxyAgent.start checks out just before
 * asking for the cost) in the node's own.
 */
function nodeLocalMode(mode: ModeModel, local: LocalEndpoints, timeline: EndpointTimeline, agents: readonly NodeProxy[], n: number): ModeModel {
  return {
    ...mode,
    syncCost(w: SyncWork) {
      const agent = agents[n]!;
      const from = agent.active;
      const to = agent.heard;
      const changed = w.full ? [] : timeline.servicesChangedBetween(from, to).map((s) => endpointChange(local.at(n, s, from), local.at(n, s, to)));
      return mode.syncCost({ ...w, servicesWithoutEndpoints: local.withoutAt(n, to), endpoints: local.totalAt(n, to), changed });
    },
  };
}

/** The Services' stickyMaxAgeSeconds: 0 without ClientIP affinity. */
function affinitySeconds(config: ModelConfig): number {
  return config.cluster.sessionAffinity === 'ClientIP' ? Math.round(config.cluster.sessionAffinityTimeoutNs / SECOND) : 0;
}

function sampler(d: Distribution): (rng: RandomStream) => number {
  return (rng) => sampleNs(d, rng);
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
    watchLatency: sampler(c.watchLatency),
    apiWriteLatency: sampler(c.apiWriteLatency),
    podStartupLatency: sampler(c.podStartupLatency),
    endpointSliceBatchPeriod: c.endpointSliceBatchPeriodNs,
    maxEndpointsPerSlice: c.maxEndpointsPerSlice,
    readinessProbe: c.readinessProbe,
    ...(c.appExitAfterSigterm ? { appExitAfterSigterm: sampler(c.appExitAfterSigterm) } : {}),
    nodeMonitorGracePeriod: c.nodeMonitorGracePeriodNs,
    podEvictionTimeout: c.podEvictionTimeoutNs,
    churn: config.churn,
    terminationGracePeriodSeconds: templateGraceSeconds(config.churn),
  });
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
function controlPlaneFigures(cp: ControlPlane, sliceLatency: Histogram, changes: number, feed: ControlPlaneFeed | null): Record<string, number> {
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
