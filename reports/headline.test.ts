import { test } from 'node:test';
import assert from 'node:assert/strict';
import { headlineMetrics, studyMetrics } from './headline.ts';
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
