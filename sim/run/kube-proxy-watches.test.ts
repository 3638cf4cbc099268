import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Simulator } from '../engine/simulator.ts';
import { MS, SECOND, HOUR } from '../engine/time.ts';
import { samplerOf, type Distribution } from '../engine/distribution.ts';
import { ControlPlane } from '../k8s/control-plane.ts';
import { DEFAULT_COSTS } from '../cost/cost-model.ts';
import { modeModel } from '../proxy/cost/index.ts';
import { EndpointTimeline } from '../proxy/sync/endpoint-timeline.ts';
import { ProxyAgent } from '../proxy/sync/proxy-agent.ts';
import type { NodeProxy } from '../proxy/sync/node-proxy.ts';
import { ControlPlaneFeed } from './control-plane-feed.ts';

interface Setup {
  seed: number;
  nodes: number;
  watch: Distribution;
  minSyncMs: number;
  failure: number;
}

/**
 * A small churning cluster, its kube-proxies reading their watches on demand (`pulled`) or told of
 * every delivery by the API server's own watch (the proxies hidden behind a NodeProxy without
 * pullFrom). Returns every sync end and the feed's delivery histograms.
 */
function run(s: Setup, pulled: boolean) {
  const sim = new Simulator({ seed: s.seed });
  const cp = new ControlPlane(sim, {
    nodes: s.nodes,
    services: 6,
    endpointsPerService: 3,
    port: 80,
    protocol: 'TCP',
    watchLatency: samplerOf(s.watch),
    apiWriteLatency: samplerOf({ kind: 'lognormal', median: 5 * MS, p99: 50 * MS }),
    podStartupLatency: samplerOf({ kind: 'lognormal', median: SECOND, p99: 3 * SECOND }),
    endpointSliceBatchPeriod: 0,
    maxEndpointsPerSlice: 100,
    readinessProbe: { initialDelay: 0, period: SECOND, timeout: SECOND, successThreshold: 1, failureThreshold: 3 },
    nodeMonitorGracePeriod: 40 * SECOND,
    podEvictionTimeout: 300 * SECOND,
    churn: [{ kind: 'pod-kill', start: SECOND, every: 500 * MS, ratePerMinute: 120, gracefulTermination: true, terminationGracePeriod: 2 * SECOND }],
  });
  const timeline = new EndpointTimeline();
  const feed = new ControlPlaneFeed(cp, timeline);
  feed.recordFrom = SECOND;
  const mode = modeModel('iptables', { costs: DEFAULT_COSTS, iptablesBackend: 'legacy' });
  const syncs: string[] = [];
  const observer = { onSyncEnd: (n: number, from: number, to: number, now: number, ok: boolean) => syncs.push(`${now} ${n} ${from}->${to} ${ok}`) };
  const options = { intervals: { minInterval: s.minSyncMs * MS, retryInterval: 2 * SECOND, maxInterval: HOUR }, syncFailureProbability: s.failure, fullSyncPeriodNs: HOUR };
  const agents = Array.from({ length: s.nodes }, (_, n) => new ProxyAgent(sim, n, timeline, mode, options, observer));
  const proxies: NodeProxy[] = pulled ? agents : agents.map((a) => ({ node: a.node, heard: 0, active: 0, generation: 0, heardUpTo: (v: number) => a.heardUpTo(v), startLoop: () => a.startLoop() }));
  feed.attach(proxies);
  for (const p of proxies) p.startLoop();
  cp.start();
  sim.run(8 * SECOND);
  feed.deliverDue();
  syncs.sort();
  return { syncs, delivery: [...feed.watchDelivery.bucketCounts()], heardLatency: [...feed.heardLatency.bucketCounts()], changes: timeline.version };
}

const watchLatencies: fc.Arbitrary<Distribution> = fc.oneof(
  fc.constant<Distribution>({ kind: 'lognormal', median: 5 * MS, p99: 200 * MS }),
  fc.constant<Distribution>({ kind: 'exponential', mean: 30 * MS }),
  fc.constant<Distribution>({ kind: 'uniform', min: MS, max: 400 * MS }),
);

test('a watch read on demand gives every node the same syncs and the feed the same deliveries as one event per delivery', () => {
  fc.assert(
    fc.property(
      fc.record({ seed: fc.integer({ min: 1, max: 1e6 }), nodes: fc.integer({ min: 1, max: 6 }), watch: watchLatencies, minSyncMs: fc.constantFrom(0, 100, 1000), failure: fc.constantFrom(0, 0.2) }),
      (s) => {
        const push = run(s, false);
        const pull = run(s, true);
        assert.ok(push.changes > 0, 'the churn changed endpoints');
        assert.deepEqual(pull, push);
      },
    ),
    { numRuns: 12 },
  );
});
