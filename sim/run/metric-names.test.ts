import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadScenarioText } from '../scenario/load.ts';
import { MODEL_SERIES, modelMetricNames, modelSeries } from './metric-names.ts';
import { runPoint } from '../scenario/run-point.ts';

/** What a short run of the model writes: its metric columns and series names. */
function written(extra: string) {
  const text = `name: t\nquestion: q\nduration: 3s\nwarmup: 1s\ncluster:\n  nodes: 2\n  services: { count: 3, endpointsPerService: 2 }\ntraffic: { connectionsPerSecond: 50 }\n${extra}`;
  const point = loadScenarioText(text, 'metric-names-test.yaml').points[0]!;
  const out = runPoint({ scenario: point.scenario, point: point.params, replication: 0, seed: 1 });
  return { metrics: Object.keys(out.metrics).sort(), series: [...new Set(out.timeseries.map((r) => r.series))].sort() };
}

test('the catalogue of metric names is exactly what a static run writes', () => {
  const w = written('proxy: { mode: iptables }\n');
  assert.deepEqual(w.metrics, modelMetricNames({ churn: false }));
  assert.deepEqual(w.series, [...MODEL_SERIES].sort());
});

test('the catalogue of metric names is exactly what a run with churn writes', () => {
  const w = written('proxy: { mode: nftables }\nchurn: { kind: pod-kill, ratePerMinute: 30 }\n');
  assert.deepEqual(w.metrics, modelMetricNames({ churn: true }));
  for (const s of w.series) assert.ok(MODEL_SERIES.includes(s), s);
});

test('a mode without conntrack NAT writes a subset of the series', () => {
  const w = written('proxy: { mode: ebpf }\n');
  assert.deepEqual(w.metrics, modelMetricNames({ churn: false }));
  for (const s of w.series) assert.ok(MODEL_SERIES.includes(s), s);
  assert.ok(!w.series.includes('conntrack.entries'));
});

test('the catalogue of metric names is exactly what a run with DNS writes, static and with churn', () => {
  const w = written('proxy: { mode: iptables }\ndns: { lookupsPerSecond: 50 }\n');
  assert.deepEqual(w.metrics, modelMetricNames({ churn: false, dns: true }));
  assert.deepEqual(w.series, [...modelSeries({ dns: true })].sort());
  const c = written('proxy: { mode: iptables }\ndns: { lookupsPerSecond: 50 }\nchurn: { kind: rolling-update, target: coredns, every: 1s }\n');
  assert.deepEqual(c.metrics, modelMetricNames({ churn: true, dns: true }));
});

test('the catalogue of metric names is exactly what a run with zones or policy mixes writes', () => {
  const zones = 'proxy: { mode: iptables }\ncluster:\n  nodes: 2\n  zones: [{ name: a }, { name: b }]\n  services: { count: 3, endpointsPerService: 2, trafficDistribution: PreferClose }\n';
  const text = `name: t\nquestion: q\nduration: 3s\nwarmup: 1s\ntraffic: { connectionsPerSecond: 50 }\n${zones}`;
  const point = loadScenarioText(text, 'metric-names-test.yaml').points[0]!;
  const out = runPoint({ scenario: point.scenario, point: point.params, replication: 0, seed: 1 });
  assert.deepEqual(Object.keys(out.metrics).sort(), modelMetricNames({ churn: false, topology: true }));
});
