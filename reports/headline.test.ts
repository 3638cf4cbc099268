import { test } from 'node:test';
import assert from 'node:assert/strict';
import { headlineMetrics, headlineTable, studyMetrics } from './headline.ts';
import { summarizePoints } from './summarize.ts';
import { fixtureInput } from './testing/fixture.ts';

test('headline metrics: charts over sweep parameters, then expectations, then the first by name', () => {
  const meta = fixtureInput().meta;
  const metrics = ['a.count', 'failedConnections.rate', 'firstPacketLatency.p99', 'syncDuration.mean', 'x.rate'];
  meta.charts = [{ title: 't', x: 'time', y: 'conntrack.entries' }, { title: 'l', x: 'services', y: 'firstPacketLatency.p99' }];
  meta.expectations = ['mode=ipvs,services=1000:syncDuration.mean < 50ms', 'iptables.failedConnections.rate <= 0.1%', 'nothing.measured < 1'];
  assert.deepEqual(studyMetrics(meta, metrics), ['firstPacketLatency.p99', 'syncDuration.mean', 'failedConnections.rate']);
  assert.deepEqual(headlineMetrics(meta, metrics), ['firstPacketLatency.p99', 'syncDuration.mean', 'failedConnections.rate', 'a.count']);
  meta.charts = [];
  meta.expectations = [];
  assert.deepEqual(headlineMetrics(meta, metrics, 2), ['a.count', 'failedConnections.rate']);
});

test('the terminal table fills its columns only with metrics some point measured', () => {
  const input = fixtureInput();
  input.meta.charts = [{ title: 'l', x: 'services', y: 'firstPacketLatency.p99', color: 'mode' }];
  input.meta.expectations = [];
  for (const r of input.runs) r.metrics['affinity.hits'] = NaN;
  const { names, metrics, points } = summarizePoints(input.runs, input.meta.sweep);
  const header = headlineTable(input.meta, points, names, metrics).split('\n')[0]!;
  assert.deepEqual(header.trim().split(/\s+/), ['point', 'firstPacketLatency.p99', 'failedConnections.rate', 'firstPacketLatency.p50', 'rulesVisited.mean']);
});
