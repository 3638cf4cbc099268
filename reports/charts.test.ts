import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InputError } from '../sim/io/input-error.ts';
import { buildChartSpec, chartFileNames, checkChartSpecs, renderChart } from './charts.ts';
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

/** The tick labels of the x axis in a rendered SVG (vega writes each as a <text> in the axis group). */
function xAxisLabels(svg: string): string[] {
  const start = svg.indexOf('aria-label="X-axis');
  assert.ok(start >= 0);
  const axis = svg.slice(start, svg.indexOf('aria-label="Y-axis', start));
  return [...axis.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]!);
}

test('a log x axis labels every swept value, the last included (vega alone dropped 1000 next to 900)', async () => {
  const chart: ChartSpec = { title: 'p99', x: 'services', y: 'firstPacketLatency.p99', color: 'mode', xScale: 'log', yScale: 'log' };
  const s = spec(chart);
  assert.deepEqual(s.layer[0].encoding.x.axis.values, [100, 1000]);
  const svg = (await renderChart(s as never)).svg;
  const labels = xAxisLabels(svg);
  assert.ok(labels.includes('100') && labels.includes('1,000'), labels.join(' | '));
  // Wider sweeps, as rule-scaling's: 100 .. 50,000, every value labelled once.
  const wide = fixtureInput();
  const services = [100, 1000, 5000, 10000, 20000, 50000];
  wide.runs = services.flatMap((n) => wide.runs.filter((r) => r.point.services === 100).map((r) => ({ ...r, point: { ...r.point, services: n } })));
  const w = summarizePoints(wide.runs, { ...wide.meta.sweep, services });
  const wideLabels = xAxisLabels((await renderChart(spec(chart, { ...data, points: w.points, sweep: { ...data.sweep, services } }) as never)).svg);
  assert.deepEqual(wideLabels.filter((l) => /^[\d,]+$/.test(l)), ['100', '1,000', '5,000', '10,000', '20,000', '50,000']);
});

test('a chart of several metrics (drops by reason) draws each as its own series, named in the legend and the axis', () => {
  const chart: ChartSpec = { title: 'by reason', x: 'services', y: ['firstPacketLatency.p50', 'firstPacketLatency.p99'], color: 'mode' };
  const s = spec(chart);
  const series = [...new Set((s.data.values as Json[]).map((v) => v.series))];
  assert.deepEqual(series.slice(0, 2), ['firstPacketLatency.p50, iptables', 'firstPacketLatency.p50, nftables']);
  assert.equal(series.length, 6);
  assert.equal(s.layer[0].encoding.y.title, 'firstPacketLatency.* (µs)');
  assert.equal(s.layer[0].encoding.color.title, 'metric, mode');
  assert.throws(
    () => checkChartSpecs([{ ...chart, y: ['firstPacketLatency.p99', 'drops.tabel_full'] }], input.meta.sweep, 'charts', ['firstPacketLatency.p99', 'drops.table_full']),
    (e: unknown) => e instanceof InputError && e.message === 'charts[0].y[1]: expected a metric the runs measure (a column of runs.csv), found "drops.tabel_full" (did you mean drops.table_full?)',
  );
});

test('labels name only the parameters that vary among the points drawn (exclude: can fix one the grid varies)', () => {
  const only = fixtureInput();
  only.runs = only.runs.filter((r) => r.point.mode === 'iptables');
  const o = summarizePoints(only.runs, only.meta.sweep);
  const s = spec({ title: 'p99', x: 'services', y: 'firstPacketLatency.p99' }, { ...data, points: o.points });
  assert.deepEqual([...new Set((s.data.values as Json[]).map((v) => v.series))], ['']);
  assert.equal(s.layer[0].encoding.color, undefined);
});
