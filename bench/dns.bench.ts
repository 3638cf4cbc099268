/**
 * Simulated DNS lookups per second of CPU: one point of a DNS study end to end, as the runner runs it
 * (scenario loaded and resolved, then sim/scenario/run-point.ts): a static cluster with the kube-dns
 * Service and two CoreDNS replicas, kube-proxy on every node, and glibc lookups of the default name
 * mix, each query through the client node's conntrack and rules to a replica and back. The figure
 * that matters is the time per lookup (`per`: the run's lookups, counted once before timing). The
 * scenario is written here so the benchmark's work stays fixed when scenarios/dns.yaml is edited.
 */
import { loadScenarioText } from '../sim/scenario/load.ts';
import { runPoint } from '../sim/scenario/run-point.ts';
import type { RunPointInput } from '../sim/scenario/run-point-contract.ts';
import type { BenchSuite } from './suite.ts';

const SCENARIO = `
name: bench-dns
question: How many simulated DNS lookups does the simulator run per second of CPU?
seed: 1
replications: 1
duration: 5s
cluster:
  nodes: 5
  services: { count: 50, endpointsPerService: 3 }
proxy: { mode: iptables }
traffic: { connectionsPerSecond: 10 }
dns: { resolver: glibc, lookupsPerSecond: 2000 }
kernel: { version: "5.10" }
`;

function point(): RunPointInput {
  const loaded = loadScenarioText(SCENARIO, 'bench/dns.bench.ts');
  const p = loaded.points[0]!;
  return { scenario: p.scenario, point: p.params, replication: 0, seed: loaded.seed };
}

const suite: BenchSuite = {
  name: 'dns',
  tasks: () => {
    let input: RunPointInput | undefined;
    let metrics: Record<string, number> = {};
    // The same simulated work in both forms; the count is the run's lookups (no warm-up: all counted).
    const per = { unit: 'lookup', count: 1 };
    return [
      {
        name: 'dns/glibc iptables 2000 lookups/s 5s end to end',
        beforeAll: () => {
          input = point();
          per.count = runPoint(input).metrics['dns.lookups.total'] ?? 1;
        },
        fn: () => {
          metrics = runPoint(input!).metrics;
        },
        per,
        figures: () => ({
          lookups: metrics['dns.lookups.total'] ?? Number.NaN,
          queriesPerLookup: metrics['dns.queriesPerLookup.mean'] ?? Number.NaN,
          'lookupLatency.p99': metrics['dns.lookupLatency.p99'] ?? Number.NaN,
          events: metrics['sim.events'] ?? Number.NaN,
        }),
      },
    ];
  },
};
export default suite;
