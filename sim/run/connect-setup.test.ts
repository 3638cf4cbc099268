import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Simulator } from '../engine/simulator.ts';
import { DEFAULT_COSTS } from '../cost/cost-model.ts';
import { kubeProxyTimeouts } from '../conntrack/timeouts.ts';
import { HOUR, MS, SECOND, US } from '../engine/time.ts';
import type { ProxyMode } from '../proxy/mode.ts';
import { ConnectSetup, DEFAULT_CONNECT_SETUP, connectSetupMetricNames, type ConnectSetupConfig } from './connect-setup.ts';
import type { ModelConfig } from './config.ts';
import { runModel } from './run-model.ts';

const NODES = ['node-0', 'node-1', 'node-2', 'node-3', 'node-4', 'node-5'];

/** A kernel part that is always `ns` (a quantile function with one value). */
const constantKernel = (ns: number) => ({ q: [0, 1], ns: [ns, ns] });

const setup = (over: Partial<ConnectSetupConfig> = {}) => new ConnectSetup(new Simulator({ seed: 1 }), { ...DEFAULT_CONNECT_SETUP, ...over }, NODES);

test('placement: same node, same zone (nodes spread round robin over zones), other zone', () => {
  const three = setup({ zones: 3 });
  assert.equal(three.placement(1, 'node-1'), 'sameNode');
  assert.equal(three.placement(1, 'node-4'), 'sameZone');
  assert.equal(three.placement(1, 'node-2'), 'otherZone');
  assert.equal(three.placement(1, 'node-elsewhere'), 'otherZone');
  const one = setup();
  assert.equal(one.placement(1, 'node-2'), 'sameZone');
  assert.equal(one.placement(0, 'node-0'), 'sameNode');
});

test('setup = kernel + rule walk + round trip by placement; the rule walk part of a percentile is the walk of its connections', () => {
  const s = setup({
    zones: 2,
    kernel: constantKernel(100 * US),
    roundTrip: { sameNode: { kind: 'constant', value: 0 }, sameZone: { kind: 'constant', value: 300 * US }, otherZone: { kind: 'constant', value: 1000 * US } },
  });
  // node 0's client: to node-0 (same node), node-2 (same zone), node-1 (other zone), each walk its own.
  for (let i = 0; i < 600; i++) s.record(0, 'node-0', 10 * US);
  for (let i = 0; i < 300; i++) s.record(0, 'node-2', 20 * US);
  for (let i = 0; i < 100; i++) s.record(0, 'node-1', 40 * US);
  const m = s.figures();
  assert.ok(Math.abs(m['connectSetupLatency.p50']! / (110 * US) - 1) < 0.005, `p50 ${m['connectSetupLatency.p50']}`);
  assert.ok(Math.abs(m['connectSetupLatency.p90']! / (420 * US) - 1) < 0.005, `p90 ${m['connectSetupLatency.p90']}`);
  assert.ok(Math.abs(m['connectSetupLatency.p99']! / (1140 * US) - 1) < 0.005, `p99 ${m['connectSetupLatency.p99']}`);
  assert.equal(m['connectSetupLatency.ruleWalk.p50'], 10 * US);
  assert.equal(m['connectSetupLatency.ruleWalk.p90'], 20 * US);
  assert.equal(m['connectSetupLatency.ruleWalk.p99'], 40 * US);
  assert.deepEqual([m['connectSetupLatency.placement.sameNode'], m['connectSetupLatency.placement.sameZone'], m['connectSetupLatency.placement.otherZone']], [600, 300, 100]);
  assert.equal(m['connectSetupLatency.bucket.le_100'], 0);
  assert.equal(m['connectSetupLatency.bucket.le_200'], 600);
  assert.equal(m['connectSetupLatency.bucket.le_500'], 900);
  assert.equal(m['connectSetupLatency.bucket.le_1000'], 900);
  assert.equal(m['connectSetupLatency.bucket.le_2000'], 1000);
  assert.equal(m['connectSetupLatency.bucket.le_+Inf'], 1000);
  assert.deepEqual(Object.keys(m).sort(), connectSetupMetricNames().sort());
});

test('no connection: NaN percentiles and walk parts, zero counts', () => {
  const m = setup().figures();
  assert.ok(Number.isNaN(m['connectSetupLatency.p50']));
  assert.ok(Number.isNaN(m['connectSetupLatency.ruleWalk.p99']));
  assert.equal(m['connectSetupLatency.bucket.le_+Inf'], 0);
});

const config = (mode: ProxyMode, connectSetup?: ConnectSetupConfig): ModelConfig => ({
  seed: 3,
  durationNs: 4 * SECOND,
  warmupNs: SECOND,
  timeseriesIntervalNs: SECOND,
  programmingProbeNs: SECOND,
  cluster: { nodes: 6, services: 300, endpointsPerService: 4, port: 80, protocol: 'TCP', sessionAffinity: 'None', sessionAffinityTimeoutNs: 10800 * SECOND, trafficPolicy: 'Cluster' },
  proxy: { mode, iptablesBackend: 'legacy', minSyncPeriodNs: SECOND, syncPeriodNs: 30 * SECOND, fullSyncPeriodNs: HOUR, syncFailureProbability: 0 },
  costs: DEFAULT_COSTS,
  traffic: { model: 'open', protocol: 'tcp', clients: 0, thinkTime: { kind: 'constant', value: 0 }, connectionsPerSecond: 1000, requestsPerConnection: 1, rttNs: 100 * US, connectTimeoutNs: 3 * SECOND, sourceNodes: 6, targetServices: 300, clientPodsPerNode: 1, requestTime: { kind: 'constant', value: MS }, halfClosedFraction: 0, leftOpenFraction: 0 },
  conntrack: { max: 131072, buckets: 32768, timeouts: kubeProxyTimeouts() },
  controlPlane: {
    watchLatency: { kind: 'lognormal', median: 5 * MS, p99: 50 * MS },
    apiWriteLatency: { kind: 'lognormal', median: 5 * MS, p99: 50 * MS },
    podStartupLatency: { kind: 'lognormal', median: 2 * SECOND, p99: 10 * SECOND },
    endpointSliceBatchPeriodNs: 0,
    maxEndpointsPerSlice: 100,
    readinessProbe: { initialDelay: 0, period: 10 * SECOND, timeout: SECOND, successThreshold: 1, failureThreshold: 3 },
    nodeMonitorGracePeriodNs: 40 * SECOND,
    podEvictionTimeoutNs: 300 * SECOND,
  },
  churn: [],
  ...(connectSetup ? { connectSetup } : {}),
});

test('in a run: every completed connection is counted, p99 above p50, and no other figure moves with the placement model', () => {
  for (const mode of ['iptables', 'nftables'] as const) {
    const plain = runModel(config(mode)).metrics;
    const zoned = runModel(config(mode, { ...DEFAULT_CONNECT_SETUP, zones: 3 })).metrics;
    assert.equal(plain['connectSetupLatency.bucket.le_+Inf'], plain['connections.ok']);
    assert.ok(plain['connectSetupLatency.p99']! > plain['connectSetupLatency.p50']!, mode);
    assert.ok(zoned['connectSetupLatency.placement.otherZone']! > 0);
    assert.ok(zoned['connectSetupLatency.p50']! > plain['connectSetupLatency.p50']!, 'other zones add their round trip');
    for (const [k, v] of Object.entries(plain)) if (!k.startsWith('connectSetupLatency.')) assert.deepEqual(zoned[k], v, k);
  }
});
