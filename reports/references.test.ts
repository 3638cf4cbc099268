import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildChartSpec } from './charts.ts';
import { agreements, referenceBlocks, referenceColumn, type References } from './references.ts';
import { summarizePoints } from './summarize.ts';
import { fixtureInput } from './testing/fixture.ts';

const input = fixtureInput();
const { points } = summarizePoints(input.runs, input.meta.sweep);
const sim = (services: number, mode: string, column: string) => points.find((p) => p.point.services === services && p.point.mode === mode)!.metrics[column]!.mean;

const refs: References = {
  x: 'services',
  factor: 2,
  points: [
    { x: 100, series: { mode: 'iptables' }, metric: 'firstPacketLatency', percentile: 'p99', value: sim(100, 'iptables', 'firstPacketLatency.p99') / 2, source: 'https://example.org/a', label: 'paper A' },
    { x: 1000, series: { mode: 'nftables' }, metric: 'firstPacketLatency.p99', value: 1, source: 'calibrate/measured/x.json', note: 'Measured on older hardware.' },
    { x: 5000, series: { mode: 'iptables' }, metric: 'firstPacketLatency', percentile: 'p99', value: 1000, source: 'https://example.org/b' },
  ],
};

test('the column a reference compares with: metric and percentile', () => {
  assert.equal(referenceColumn({ metric: 'connectSetupLatency', percentile: 'p90' }), 'connectSetupLatency.p90');
  assert.equal(referenceColumn({ metric: 'connectSetupLatency.p90' }), 'connectSetupLatency.p90');
});

test('agreement: simulated / reference at the same x and series; the factor bounds both ways, inclusive', () => {
  const [a, b, c] = agreements(refs, points);
  assert.equal(a!.ratio, 2);
  assert.equal(a!.agrees, true);
  assert.deepEqual(a!.matches.map((m) => m.point), [{ services: 100, mode: 'iptables' }]);
  assert.equal(b!.simulated, sim(1000, 'nftables', 'firstPacketLatency.p99'));
  assert.equal(b!.agrees, false);
  assert.ok(Number.isNaN(c!.simulated), 'a point the study did not run is not simulated');
  assert.equal(c!.agrees, false);
});

test('the report section: a row per reference, and each disagreement with its reference\'s note', () => {
  const blocks = referenceBlocks(refs, points);
  const table = blocks.find((b) => b.kind === 'table');
  assert.ok(table && table.kind === 'table');
  assert.equal(table.rows.length, 3);
  assert.deepEqual(table.rows[0]!.slice(0, 3), ['100', 'mode=iptables', 'firstPacketLatency.p99']);
  assert.deepEqual(table.rows[0]!.slice(5, 7), ['2.00×', 'yes']);
  assert.deepEqual(table.rows[2]!.slice(3, 7), ['not simulated', '1µs', 'n/a', 'n/a']);
  const list = blocks.find((b) => b.kind === 'list');
  assert.ok(list && list.kind === 'list');
  assert.equal(list.items.length, 1);
  assert.match(list.items[0]!, /^firstPacketLatency\.p99 at services=1000, mode=nftables: simulated .*× the reference \(1ns\)\. Measured on older hardware\.$/);
  assert.deepEqual(referenceBlocks(undefined, points), []);
});

test('a chart of the metric draws the references as marks in their line\'s colour; other charts do not', () => {
  type Json = Record<string, any>;
  const built = buildChartSpec({ title: 'p99', x: 'services', y: 'firstPacketLatency.p99', color: 'mode', xScale: 'log' }, { points, sweep: input.meta.sweep, references: refs });
  assert.ok('spec' in built);
  const layers = (built.spec as Json).layer as Json[];
  const marks = layers.at(-1)!;
  assert.equal(marks.mark.type, 'point');
  assert.equal(marks.encoding.shape.field, 'reference');
  assert.deepEqual(
    (marks.data.values as Json[]).map((v) => [v.x, v.series, v.reference]),
    [
      [100, 'iptables', 'paper A'],
      [1000, 'nftables', 'calibrate/measured/x.json'],
      [5000, 'iptables', 'https://example.org/b'],
    ],
  );
  // The log axis labels the references' x values too.
  assert.deepEqual(layers[0]!.encoding.x.axis.values, [100, 1000, 5000]);
  const other = buildChartSpec({ title: 'rules', x: 'services', y: 'rulesVisited.mean', color: 'mode' }, { points, sweep: input.meta.sweep, references: refs });
  assert.ok('spec' in other);
  assert.ok(((other.spec as Json).layer as Json[]).every((l) => l.encoding.shape === undefined));
});
