import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InputError } from '../sim/engine/input-error.ts';
import { buildChartSpec, chartFileNames, checkChartSpecs } from './charts.ts';
import { summarizePoints } from './summarize.ts';
import { fixtureInput } from './testing/fixture.ts';
import type { ChartSpec } from './types.ts';

// Specs only: rendering is covered once in write.test.ts.
const input = fixtureInput();
const { points } = summarizePoints(input.runs, input.meta.sweep);
const data = { points, sweep: input.meta.sweep, timeseries: input.timeseries! };

type Json = Record<string, any>;
function spec(chart: ChartSpec, d = data): Json {
  const built = buildChartSpec(chart, d);
  assert.ok('spec' in built, 'missing' in built ? built.missing : '');
  return built.spec as Json;
}

test('a chart over a sweep parameter: means in a readable unit, CI error bars, one line per color value', () => {
  const s = spec({ title: 'p99', x: 'services', y: 'firstPacketLatency.p99', color: 'mode', xScale: 'log' });
  const values = s.data.values as Json[];
  assert.deepEqual(values[0], { x: 100, series: 'iptables', y: 38, lo: 36.757931144125214, hi: 39.242068855874786 });
  assert.equal(s.layer[0].encoding.y.title, 'firstPacketLatency.p99 (µs)');
  assert.deepEqual(s.layer[0].encoding.x.scale, { type: 'log' });
  assert.deepEqual(s.layer[0].encoding.color.sort, ['iptables', 'nftables', 'ipvs']);
  assert.equal(s.layer[1].mark.type, 'errorbar');
  assert.equal(spec({ title: 'p99', x: 'services', y: 'firstPacketLatency.p99', color: 'mode', errorBars: 'none' }).layer.length, 1);
});

test('parameters that vary but are neither x nor color join the series label and the legend title', () => {
  const s = spec({ title: 't', x: 'time', y: 'conntrack.entries', color: 'mode' });
  assert.equal(s.layer[1].encoding.color.title, 'mode, services');
  assert.equal((s.data.values as Json[])[0]!.series, 'iptables, services=100');
  // The band (under the lines) has no legend of its own, and legends are resolved apart so the lines keep theirs.
  assert.equal(s.layer[0].mark.type, 'area');
  assert.equal(s.layer[0].encoding.fill.legend, null);
  assert.deepEqual(s.resolve, { legend: { fill: 'independent', color: 'independent' } });
});

test('log axes fall back to symlog when a value is zero; a metric nobody measured is reported missing', () => {
  const zero = fixtureInput();
  for (const r of zero.runs) if (r.point.mode === 'nftables') r.metrics['rulesVisited.mean'] = 0;
  const z = summarizePoints(zero.runs, zero.meta.sweep);
  const s = spec({ title: 'r', x: 'services', y: 'rulesVisited.mean', color: 'mode', yScale: 'log' }, { ...data, points: z.points });
  assert.deepEqual(s.layer[0].encoding.y.scale, { type: 'symlog' });
  assert.deepEqual(spec({ title: 'r', x: 'services', y: 'rulesVisited.mean', color: 'mode', yScale: 'log' }).layer[0].encoding.y.scale, { type: 'log' });
  assert.deepEqual(buildChartSpec({ title: 'd', x: 'services', y: 'conntrack.drops' }, data), { missing: 'no point measured conntrack.drops' });
  assert.deepEqual(buildChartSpec({ title: 'd', x: 'time', y: 'nope' }, data), { missing: 'no time series named nope' });
});

test('chart specs: x and color must be sweep parameters; file names are unique', () => {
  const sweep = input.meta.sweep;
  assert.throws(
    () => checkChartSpecs([{ title: 'a', x: 'service', y: 'm' }], sweep),
    (e: unknown) => e instanceof InputError && e.message === 'charts[0].x: expected a sweep parameter (mode, services, time), found "service" (did you mean services?)',
  );
  assert.throws(() => checkChartSpecs([{ title: 'a', x: 'services', y: 'm', color: 'services' }], sweep), /charts\[0\]\.color: expected a sweep parameter other than x \(mode\)/);
  assert.throws(() => checkChartSpecs([{ title: 'a', x: 'services', y: 'm', kind: 'pie' as 'bar' }], sweep), /charts\[0\]\.kind: expected one of line, bar, point, found "pie"/);
  assert.deepEqual(chartFileNames([{ title: 'Sync (p50)', x: 'a', y: 'b' }, { title: 'sync p50', x: 'a', y: 'b' }, { title: 'x', name: 'kernel', x: 'a', y: 'b' }]), ['sync-p50', 'sync-p50-2', 'kernel']);
});

test('where: a chart of a selection draws only its points, labels by what still varies, and names it under the title', () => {
  const s = spec({ title: 't', x: 'time', y: 'conntrack.entries', color: 'mode', where: { services: 1000 } });
  const values = s.data.values as Json[];
  // services is fixed by the selection, so it no longer joins the labels or the legend title.
  assert.deepEqual([...new Set(values.map((v) => v.series))], ['iptables', 'nftables', 'ipvs']);
  assert.equal(s.layer[1].encoding.color.title, 'mode');
  assert.deepEqual(s.title, { text: 't', subtitle: 'services=1000' });
  const two = spec({ title: 'p', x: 'services', y: 'firstPacketLatency.p99', color: 'mode', where: { mode: ['ipvs', 'iptables'] } });
  assert.deepEqual([...new Set((two.data.values as Json[]).map((v) => v.series))], ['iptables', 'ipvs']);
  assert.deepEqual(buildChartSpec({ title: 'n', x: 'services', y: 'firstPacketLatency.p99', where: { mode: 'userspace' } }, data), {
    missing: 'no point measured firstPacketLatency.p99 among the points where mode=userspace',
  });
  assert.throws(
    () => checkChartSpecs([{ title: 'a', x: 'services', y: 'm', where: { mdoe: 'ipvs' } }], input.meta.sweep),
    (e: unknown) => e instanceof InputError && e.message === 'charts[0].where.mdoe: expected a sweep parameter (mode, services), found "mdoe" (did you mean mode?)',
  );
});
