/**
 * One quickstart point end to end, as the runner runs it: the scenario text is loaded and resolved
 * (schema, defaults, substitution), then sim/scenario/run-point.ts simulates it (cluster,
 * kube-proxy syncs on every node, open-loop traffic through the node's rules and conntrack, metrics).
 * The scenario is written here rather than read from scenarios/quickstart.yaml so the benchmark's
 * work stays fixed when the study is edited; it is the study's shape at one of its points.
 */
import { loadScenarioText } from '../sim/scenario/load.ts';
import { runPoint } from '../sim/scenario/run-point.ts';
import type { RunPointInput } from '../sim/scenario/run-point-contract.ts';
import type { BenchSuite } from './suite.ts';

const scenario = (mode: string, services: number, duration: string) => `
name: bench-quickstart
question: How fast does the simulator run one quickstart point?
seed: 1
replications: 1
duration: ${duration}
warmup: 1s
cluster:
  nodes: 3
  services: { count: ${services}, endpointsPerService: 10 }
proxy: { mode: ${mode}, minSyncPeriod: 1s, syncPeriod: 30s }
traffic: { connectionsPerSecond: 200, requestsPerConnection: 1 }
`;

function point(mode: string, services: number, duration: string): RunPointInput {
  const loaded = loadScenarioText(scenario(mode, services, duration), `bench/quickstart.bench.ts (${mode})`);
  const p = loaded.points[0]!;
  return { scenario: p.scenario, point: p.params, replication: 0, seed: loaded.seed };
}

const suite: BenchSuite = {
  name: 'quickstart',
  tasks: () =>
    (['iptables', 'nftables'] as const).map((mode) => {
      // The same simulated work in both forms, so a quick run compares with a full baseline.
      const input = point(mode, 1000, '5s');
      let metrics: Record<string, number> = {};
      return {
        name: `quickstart/${mode} services=1000 5s end to end`,
        fn: () => {
          metrics = runPoint(input).metrics;
        },
        per: { unit: 'run', count: 1 },
        figures: () => ({
          connections: metrics['connections.total'] ?? Number.NaN,
          'firstPacketLatency.p99': metrics['firstPacketLatency.p99'] ?? Number.NaN,
          syncs: metrics['syncs.count'] ?? Number.NaN,
        }),
      };
    }),
};
export default suite;
