import { Simulator } from '../../engine/simulator.ts';
import { HOUR } from '../../engine/time.ts';
import { modeModel } from '../../proxy/modes/index.ts';
import { EndpointTimeline } from '../../proxy/sync/endpoint-timeline.ts';
import { ProxyAgent, type SyncObserver } from '../../proxy/sync/proxy-agent.ts';
import type { ModelConfig } from './config.ts';
import { RunMetrics, type RunOutput } from './metrics.ts';
import { syntheticCluster } from './synthetic-cluster.ts';
import { TrafficModel } from './traffic.ts';
import { ConntrackMetrics } from './conntrack-metrics.ts';
import type { PodLiveness } from './liveness.ts';

/**
 * One run of the model: a cluster, one kube-proxy per node with its sync loop, and client traffic
 * whose first packets are decided by each node's active rules. Deterministic for a given config.
 */
export function runModel(config: ModelConfig): RunOutput {
  const sim = new Simulator({ seed: config.seed });
  const cluster = syntheticCluster(config.cluster);
  const timeline = new EndpointTimeline();
  cluster.ports.forEach((p, i) => timeline.addService(p, cluster.endpoints[i]!));

  const mode = modeModel(config.proxy.mode, { costs: config.costs, iptablesBackend: config.proxy.iptablesBackend });
  const metrics = new RunMetrics(config.timeseriesIntervalNs);
  const agents: ProxyAgent[] = [];
  /** Every change up to this version is active on all nodes. */
  let everywhere = 0;
  const observer: SyncObserver = {
    onSyncEnd(_node, from, to, now, ok, durationNs, full, units) {
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
      for (let v = from + 1; v <= to; v++) metrics.networkProgrammingLatency.record(now - timeline.change(v).triggerTime);
      let behind = 0;
      let oldest = Infinity;
      for (const a of agents) {
        if (a.active < timeline.version) behind++;
        if (a.active < oldest) oldest = a.active;
      }
      metrics.staleNodesSeries.record(now, behind);
      // Stale-endpoint window: from the change that removed an endpoint until the last node's rules
      // stopped sending new connections to it.
      for (; everywhere < oldest; everywhere++) {
        const c = timeline.change(everywhere + 1);
        if (c.removed.length > 0) metrics.staleEndpointWindow.record(now - c.triggerTime);
      }
    },
  };
  const agentOptions = {
    intervals: { minInterval: config.proxy.minSyncPeriodNs, retryInterval: config.proxy.syncPeriodNs, maxInterval: config.proxy.fullSyncPeriodNs },
    syncFailureProbability: config.proxy.syncFailureProbability,
    fullSyncPeriodNs: config.proxy.fullSyncPeriodNs,
  };
  for (let n = 0; n < config.cluster.nodes; n++) agents.push(new ProxyAgent(sim, n, timeline, mode, agentOptions, observer));

  // Static cluster: every endpoint serves for the whole run.
  const liveness: PodLiveness = { answer: () => 'serving' };
  const traffic = new TrafficModel(sim, config, timeline, agents, mode, metrics, liveness);
  const conntrack = new ConntrackMetrics(sim, traffic.conntrack, config.conntrack.max, config.timeseriesIntervalNs);
  if (mode.natInConntrack) {
    conntrack.start(config.durationNs);
    metrics.series.push(conntrack.series);
  }
  for (const a of agents) a.startLoop();
  traffic.start();
  sim.run(config.durationNs);

  const objects = mode.kernelObjects(timeline.services.length, timeline.totalEndpointsAt(timeline.version));
  return metrics.output(
    {
      'kernel.rules': objects.rules,
      'kernel.setElements': objects.setElements,
      'kernel.memoryBytes': objects.memoryBytes,
      ...conntrack.figures(config.durationNs),
      'sim.events': sim.executed,
    },
    config.durationNs,
  );
}

export const DEFAULT_FULL_SYNC_PERIOD_NS = HOUR;
