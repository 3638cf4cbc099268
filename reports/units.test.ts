import { test } from 'node:test';
import assert from 'node:assert/strict';
import { axisTitle, betterByName, displayScale, formatValue, metricInfo, unitByName } from './units.ts';

test('units by name: durations in ns, ratios, rates, bytes, counts', () => {
  assert.equal(unitByName('firstPacketLatency.p99'), 'ns');
  assert.equal(unitByName('syncDuration.mean'), 'ns');
  assert.equal(unitByName('staleEndpointWindow.max'), 'ns');
  assert.equal(unitByName('cpuNsPerConnection'), 'ns');
  assert.equal(unitByName('failedConnections.rate'), 'ratio');
  assert.equal(unitByName('connectionsPerSecond'), 'perSecond');
  assert.equal(unitByName('memory'), 'bytes');
  assert.equal(unitByName('rulesVisited.mean'), 'count');
  assert.equal(unitByName('rate'), 'none', 'a bare "rate" is not a ratio of anything');
  assert.equal(betterByName('firstPacketLatency.p99'), 'lower');
  assert.equal(betterByName('connections.succeeded'), 'higher');
  assert.deepEqual(metricInfo('x.p99', { x: { unit: 'ns', better: 'higher' } }), { unit: 'ns', better: 'higher' });
  assert.deepEqual(metricInfo('x.p99', { x: { unit: 'ns' }, 'x.p99': { unit: 'bytes' } }), { unit: 'bytes', better: 'none' });
});

test('values with units: three significant digits in the unit that fits', () => {
  assert.equal(formatValue(41250, 'ns'), '41.3µs');
  assert.equal(formatValue(999, 'ns'), '999ns');
  assert.equal(formatValue(1.5e9, 'ns'), '1.5s');
  assert.equal(formatValue(0.002, 'ratio'), '0.2%');
  assert.equal(formatValue(0, 'ratio'), '0%');
  assert.equal(formatValue(2048, 'bytes'), '2KiB');
  assert.equal(formatValue(2500, 'perSecond'), '2.5k/s');
  assert.equal(formatValue(123456, 'count'), '123456');
  assert.equal(formatValue(12345678, 'count'), '12.3M');
  assert.equal(formatValue(2.5, 'count'), '2.5');
  assert.equal(formatValue(NaN, 'ns'), 'n/a');
});

test('axis titles name the scale: µs, %, thousands, k/s', () => {
  assert.equal(axisTitle('firstPacketLatency.p99', 'ns', displayScale('ns', 41250)), 'firstPacketLatency.p99 (µs)');
  assert.equal(axisTitle('failedConnections.rate', 'ratio', displayScale('ratio', 0.002)), 'failedConnections.rate (%)');
  assert.equal(axisTitle('kernel.rules', 'count', displayScale('count', 32000)), 'kernel.rules (thousands)');
  assert.equal(axisTitle('kernel.rules', 'count', displayScale('count', 320)), 'kernel.rules');
  assert.equal(axisTitle('connectionsPerSecond', 'perSecond', displayScale('perSecond', 2500)), 'connectionsPerSecond (k/s)');
  assert.equal(axisTitle('kernel.memoryBytes', 'bytes', displayScale('bytes', 5e6)), 'kernel.memoryBytes (MiB)');
});

test('only latency, failures, drops, sync time and CPU (lower) and throughput (higher) have a direction; other figures are informational', () => {
  const lower = ['firstPacketLatency.p99', 'networkProgrammingLatency.nodeP99.max', 'syncDuration.p50', 'fullSyncDuration.mean', 'staleEndpointWindow.p99',
    'failedConnections.rate', 'failedConnections.count', 'connections.timeout', 'connections.reset', 'connections.refused', 'connections.dropped',
    'conntrack.drops', 'conntrack.insertFailed', 'drops.conntrack_table_full', 'syncs.failed', 'cpuPerConnection.mean', 'watchDelivery.p99'];
  const none = ['sim.events', 'connections.total', 'kernel.rules', 'kernel.setElements', 'rulesVisited.mean', 'syncs.count', 'syncUnits.p50',
    'conntrack.entries.peak', 'conntrack.max', 'networkProgrammingLatency.bucket.le_1', 'watchDelivery.count', 'endpointHeardLatency.count'];
  for (const m of lower) assert.equal(betterByName(m, m.startsWith('watchDelivery') ? 'ns' : undefined), 'lower', m);
  for (const m of none) assert.equal(betterByName(m), 'none', m);
  assert.equal(betterByName('throughput.perSecond'), 'higher');
});
