import type { TopLevelSpec } from 'vega-lite';
import { summarizeReplications } from '../sim/engine/stats/replication.ts';
import { InputError } from '../sim/io/input-error.ts';
import { closest } from './expectations.ts';
import { groupByPoint, pointKey, type Sweep } from './points.ts';
import type { RenderedChart } from './render.ts';
import { axisTitle, displayScale, metricInfo } from './units.ts';
import type { ChartSpec, MetricInfo, ParamValue, PointSummary, SweepPoint, TimeseriesRow } from './types.ts';
import { referenceMarks, type References } from './references.ts';

export type { RenderedChart } from './render.ts';

/**
 * reports/render.ts: vega-lite to SVG and PNG. It loads vega and resvg, so it is imported when a
 * chart is drawn: modules that only read charts' data (summary.json, `svcsim compare`) do not load them.
 */
export async function renderChart(spec: TopLevelSpec): Promise<RenderedChart> {
  return (await import('./render.ts')).renderChart(spec);
}

/**
 * The scenario's `charts:` entries as vega-lite specs. A chart over a sweep parameter plots, per
 * point, the mean of a metric over replications with its 95% confidence interval as error bars; a
 * chart over `time` plots a time series, averaged over replications at each interval. Values are
 * shown in a readable unit (durations in ns/µs/ms/s, ratios in %), chosen from the largest value.
 */

/** The x of a chart of a time series. */
export const TIME = 'time';

/** The metrics a chart draws: its `y`, or each of its list. */
export function chartMetrics(chart: Pick<ChartSpec, 'y'>): string[] {
  return Array.isArray(chart.y) ? chart.y : [chart.y];
}

/**
 * What the y axis shows, in titles and sentences: the metric, or for a list the names' shared dotted
 * prefix with `*` (`drops.*`), or the names joined.
 */
export function chartYLabel(chart: Pick<ChartSpec, 'y'>): string {
  const ms = chartMetrics(chart);
  if (ms.length === 1) return ms[0]!;
  const parts = ms.map((m) => m.split('.'));
  const shared: string[] = [];
  for (let i = 0; parts.every((p) => p.length > i + 1 && p[i] === parts[0]![i]); i++) shared.push(parts[0]![i]!);
  return shared.length > 0 ? `${shared.join('.')}.*` : ms.join(', ');
}

export const CHART_WIDTH = 480;
export const CHART_HEIGHT = 300;

/** `First-packet latency p99` -> `first-packet-latency-p99`. */
export function slug(title: string): string {
  const s = title
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return s === '' ? 'chart' : s;
}

/** File names (without extension) for the charts, unique: a repeated name gets -2, -3... */
export function chartFileNames(charts: readonly ChartSpec[]): string[] {
  const used = new Set<string>();
  return charts.map((c) => {
    const base = c.name ? slug(c.name) : slug(c.title);
    let name = base;
    for (let i = 2; used.has(name); i++) name = `${base}-${i}`;
    used.add(name);
    return name;
  });
}

/**
 * Checks what can be checked before a run: `x` and `color` name sweep parameters (or `time`), the
 * enumerations are known. `metrics` and `series`, when given, are the metric and time-series names the
 * runs will produce; a chart's `y` must be one of them.
 */
export function checkChartSpecs(
  charts: readonly ChartSpec[],
  sweep: Sweep,
  field = 'charts',
  metrics?: readonly string[],
  series?: readonly string[],
): void {
  const params = Object.keys(sweep);
  charts.forEach((c, i) => {
    const at = `${field}[${i}]`;
    if (typeof c.title !== 'string' || c.title.trim() === '') throw new InputError(`${at}.title`, 'a title');
    if (c.x !== TIME && !params.includes(c.x)) {
      const near = closest(c.x, [...params, TIME]);
      throw new InputError(`${at}.x`, `a sweep parameter (${[...params, TIME].join(', ')})`, JSON.stringify(c.x), near ? `did you mean ${near}?` : undefined);
    }
    if (c.color !== undefined && (!params.includes(c.color) || c.color === c.x)) {
      throw new InputError(`${at}.color`, `a sweep parameter other than x (${params.filter((p) => p !== c.x).join(', ') || 'none'})`, JSON.stringify(c.color));
    }
    chartMetrics(c).forEach((y, j) => {
      const field = Array.isArray(c.y) ? `${at}.y[${j}]` : `${at}.y`;
      if (metrics && c.x !== TIME && !metrics.includes(y)) {
        const near = closest(y, metrics);
        throw new InputError(field, 'a metric the runs measure (a column of runs.csv)', JSON.stringify(y), near ? `did you mean ${near}?` : undefined);
      }
      if (series && c.x === TIME && !series.includes(y)) {
        const near = closest(y, series);
        throw new InputError(field, `a series of timeseries.csv (${series.join(', ')}), since x is time`, JSON.stringify(y), near ? `did you mean ${near}?` : undefined);
      }
    });
    if (c.where !== undefined) checkWhere(c.where, sweep, `${at}.where`);
    for (const [k, allowed] of [
      ['xScale', ['log', 'linear']],
      ['yScale', ['log', 'linear']],
      ['kind', ['line', 'bar', 'point']],
      ['errorBars', ['ci95', 'none']],
    ] as const) {
      const v = c[k];
      if (v !== undefined && !(allowed as readonly string[]).includes(v)) throw new InputError(`${at}.${k}`, `one of ${allowed.join(', ')}`, JSON.stringify(v));
    }
  });
}

/** A name that must be one of the sweep's parameters (a mistake offers the nearest). */
export function checkParam(name: string, sweep: Sweep, at: string): void {
  const params = Object.keys(sweep);
  if (params.includes(name)) return;
  const near = closest(name, params);
  throw new InputError(at, `a sweep parameter (${params.join(', ') || 'the study has none'})`, JSON.stringify(name), near ? `did you mean ${near}?` : undefined);
}

/** A chart's `where`: a map of sweep parameters to a value or a list of values. */
export function checkWhere(where: NonNullable<ChartSpec['where']>, sweep: Sweep, at: string): void {
  if (where === null || typeof where !== 'object' || Array.isArray(where)) throw new InputError(at, 'a map of sweep parameters to values', JSON.stringify(where));
  for (const [name, sel] of Object.entries(where)) {
    checkParam(name, sweep, `${at}.${name}`);
    for (const v of Array.isArray(sel) ? sel : [sel]) {
      if (!['string', 'number', 'boolean'].includes(typeof v)) throw new InputError(`${at}.${name}`, 'a value of the parameter, or a list of them', JSON.stringify(v));
    }
    // A value the sweep lacks is not an error here: --quick or --set may have reduced the sweep the file
    // wrote, and the chart then selects nothing and says so. The scenario loader checks the values
    // against the file's sweep, where it can name the line (sim/scenario/precheck.ts).
  }
}

/** One mark of a chart before unit scaling: the mean at x of one series, and its 95% CI (lo..hi). */
export interface ChartDatum {
  x: ParamValue;
  series: string;
  y: number;
  lo: number;
  hi: number;
}

/**
 * Label of the line a point belongs to: the metric when the chart draws several, then the color
 * value, then other varying parameters.
 */
function seriesLabel(point: SweepPoint, chart: ChartSpec, varying: readonly string[], metric: string): string {
  const parts: string[] = [];
  if (Array.isArray(chart.y) && chart.y.length > 1) parts.push(metric);
  if (chart.color !== undefined && point[chart.color] !== undefined) parts.push(String(point[chart.color]));
  for (const n of varying) if (n !== chart.x && n !== chart.color && point[n] !== undefined) parts.push(`${n}=${point[n]}`);
  return parts.join(', ');
}

/** The sweep as the chart sees it: each parameter its `where` names keeps only the values selected. */
export function chartSweep(chart: ChartSpec, sweep: Sweep): Sweep {
  if (!chart.where) return sweep;
  const out: Sweep = {};
  for (const [name, values] of Object.entries(sweep)) {
    const sel = chart.where[name];
    if (sel === undefined) out[name] = values;
    else {
      const wanted = (Array.isArray(sel) ? sel : [sel]).map(String);
      out[name] = values.filter((v) => wanted.includes(String(v)));
    }
  }
  return out;
}

/** Whether a point is among those a selection names: each parameter it names at one of its values. */
export function inWhere(point: SweepPoint, where: Readonly<Record<string, ParamValue | readonly ParamValue[]>> | undefined): boolean {
  if (!where) return true;
  for (const [name, sel] of Object.entries(where)) {
    const v = point[name];
    if (v === undefined || !(Array.isArray(sel) ? sel : [sel]).some((w) => String(w) === String(v))) return false;
  }
  return true;
}

/** `churn=pod-kill, minSyncPeriod=1s`: a selection as text, for titles and sentences. */
export function selectionText(where: Readonly<Record<string, ParamValue | readonly ParamValue[]>>, separator = ', '): string {
  return Object.entries(where)
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('|') : v}`)
    .join(separator);
}

/** A chart's selection as text; '' without one. */
export function whereText(chart: ChartSpec): string {
  return chart.where ? selectionText(chart.where) : '';
}

/**
 * The parameters that take more than one value among the points a chart draws. Not the sweep's
 * lists: with `exclude:` a parameter can vary in the grid yet be fixed among the selected points, and
 * naming it in every label only crowds the legend.
 */
function varyingParams(chart: ChartSpec, sweep: Sweep, points: readonly SweepPoint[]): string[] {
  const seen = new Map<string, Set<string>>();
  for (const p of points) {
    if (!inWhere(p, chart.where)) continue;
    for (const n of Object.keys(sweep)) {
      let s = seen.get(n);
      if (!s) seen.set(n, (s = new Set()));
      s.add(String(p[n]));
    }
  }
  return Object.keys(sweep).filter((n) => (seen.get(n)?.size ?? 0) > 1);
}

function sweepData(chart: ChartSpec, points: readonly PointSummary[], sweep: Sweep): ChartDatum[] {
  const varying = varyingParams(chart, sweep, points.map((p) => p.point));
  const data: ChartDatum[] = [];
  for (const metric of chartMetrics(chart)) {
    for (const p of points) {
      if (!inWhere(p.point, chart.where)) continue;
      const s = p.metrics[metric];
      const x = p.point[chart.x];
      if (!s || x === undefined || Number.isNaN(s.mean)) continue;
      const ci = Number.isFinite(s.ci95Low);
      data.push({ x, series: seriesLabel(p.point, chart, varying, metric), y: s.mean, lo: ci ? s.ci95Low : s.mean, hi: ci ? s.ci95High : s.mean });
    }
  }
  return data;
}

function timeData(chart: ChartSpec, rows: readonly TimeseriesRow[], sweep: Sweep): ChartDatum[] {
  const varying = varyingParams(chart, sweep, rows.filter((r) => r.series === chartMetrics(chart)[0]).map((r) => r.point));
  const data: ChartDatum[] = [];
  for (const metric of chartMetrics(chart)) {
    const { names, groups } = groupByPoint(
      rows.filter((r) => r.series === metric && inWhere(r.point, chart.where)),
      sweep,
    );
    for (const g of groups) {
      const byT = new Map<number, number[]>();
      for (const r of g.rows) {
        let vs = byT.get(r.t);
        if (!vs) byT.set(r.t, (vs = []));
        vs.push(r.value);
      }
      const series = seriesLabel(g.point, chart, varying, metric) || pointKey(g.point, names);
      for (const t of [...byT.keys()].sort((a, b) => a - b)) {
        const s = summarizeReplications(byT.get(t)!);
        if (Number.isNaN(s.mean)) continue;
        const ci = Number.isFinite(s.ci95Low);
        data.push({ x: t, series, y: s.mean, lo: ci ? s.ci95Low : s.mean, hi: ci ? s.ci95High : s.mean });
      }
    }
  }
  return data;
}

/**
 * The numbers a chart draws, in base units: per point (or per interval of simulated time) the mean
 * over replications with its CI, labelled with its series. The report's answer reads the same numbers.
 */
export function chartDatums(chart: ChartSpec, input: ChartData): ChartDatum[] {
  return chart.x === TIME ? timeData(chart, input.timeseries ?? [], input.sweep) : sweepData(chart, input.points, input.sweep);
}

export interface ChartData {
  points: readonly PointSummary[];
  sweep: Sweep;
  timeseries?: readonly TimeseriesRow[];
  metrics?: Record<string, MetricInfo>;
  /** The study's `reference:` points, drawn as marks on the charts of their metric (references.ts). */
  references?: References;
}

/**
 * The vega-lite spec of one chart, or a reason when there is nothing to draw (the metric was not
 * measured at any point).
 */
export function buildChartSpec(chart: ChartSpec, input: ChartData): { spec: TopLevelSpec } | { missing: string } {
  const overTime = chart.x === TIME;
  const raw = chartDatums(chart, input);
  if (raw.length === 0) {
    const among = chart.where ? ` among the points where ${whereText(chart)}` : '';
    const y = chartYLabel(chart);
    return { missing: overTime ? `no time series named ${y}${among}` : `no point measured ${y}${among}` };
  }

  const unit = metricInfo(chartMetrics(chart)[0]!, input.metrics).unit;
  const magnitude = Math.max(...raw.map((d) => Math.max(Math.abs(d.y), Math.abs(d.hi))));
  const scale = displayScale(unit, magnitude);
  // A log axis cannot place zero or a negative value; a study with one (0 Services, a mode with no
  // rules) gets a symmetric log axis instead (vega's symlog: linear near zero, logarithmic beyond).
  const ySymlog = chart.yScale === 'log' && raw.some((d) => d.y <= 0);
  const yLog = chart.yScale === 'log' && !ySymlog;
  const data = raw.map((d) => {
    const y = d.y / scale.divisor;
    let lo = d.lo / scale.divisor;
    // A log axis cannot show an interval reaching zero or below: keep the upper half only.
    if (yLog && lo <= 0) lo = y;
    return { x: d.x, series: d.series, y, lo, hi: d.hi / scale.divisor };
  });

  const kind = chart.kind ?? 'line';
  const { x, xQuantitative } = xEncoding(chart, input, data, overTime, kind);

  const y = {
    field: 'y',
    type: 'quantitative',
    title: axisTitle(chartYLabel(chart), unit, scale),
    scale: yLog ? { type: 'log' } : ySymlog ? { type: 'symlog' } : { type: 'linear', zero: kind === 'bar' },
  };
  const seriesNames = [...new Set(data.map((d) => d.series))];
  const hasSeries = seriesNames.length > 1 || (seriesNames.length === 1 && seriesNames[0] !== '');
  // The legend's title names what the labels are made of: the color parameter, then the others that vary.
  const labelParts = [...(chartMetrics(chart).length > 1 ? ['metric'] : []), ...(chart.color !== undefined ? [chart.color] : []), ...varyingParams(chart, input.sweep, overTime ? (input.timeseries ?? []).map((r) => r.point) : input.points.map((p) => p.point)).filter((n) => n !== chart.x && n !== chart.color)];
  const legendTitle = labelParts.length > 0 ? labelParts.join(', ') : 'series';
  const color = hasSeries ? { field: 'series', type: 'nominal', title: legendTitle, sort: seriesNames } : undefined;
  const encoding: Record<string, unknown> = { x, y };
  if (color) encoding.color = color;
  if (kind === 'bar' && hasSeries) encoding.xOffset = { field: 'series', sort: seriesNames };

  const mark = kind === 'line' ? { type: 'line', point: !overTime } : kind === 'bar' ? { type: 'bar' } : { type: 'point', filled: true };
  const layers: Record<string, unknown>[] = [{ mark, encoding }];
  const withBars = (chart.errorBars ?? 'ci95') === 'ci95' && data.some((d) => d.lo !== d.y || d.hi !== d.y);
  if (withBars && !overTime) {
    const barEncoding: Record<string, unknown> = { x, y: { field: 'lo', type: 'quantitative', title: y.title }, y2: { field: 'hi' } };
    if (color) barEncoding.color = color;
    if (kind === 'bar' && hasSeries) barEncoding.xOffset = encoding.xOffset;
    layers.push({ mark: { type: 'errorbar', ticks: true }, encoding: barEncoding });
  } else if (withBars && overTime) {
    const bandEncoding: Record<string, unknown> = { x, y: { field: 'lo', type: 'quantitative', title: y.title }, y2: { field: 'hi' } };
    // The band's translucent colour must not become the legend's symbol.
    if (color) bandEncoding.fill = { ...color, legend: null };
    // Drawn first, under the lines, so the translucent band does not tint them.
    layers.unshift({ mark: { type: 'area', opacity: 0.2 }, encoding: bandEncoding });
  }

  if (!overTime && input.references) {
    const marks = chartReferenceMarks(chart, input, input.references, scale.divisor);
    if (marks.length > 0) layers.push(referenceLayer(marks, x, y, color, xQuantitative));
    // A log axis ticks exactly the study's x values: the references' too, so each mark has its label.
    const axis = x.axis as { values?: number[] } | undefined;
    if (axis?.values) axis.values = [...new Set([...axis.values, ...marks.map((m) => Number(m.x))])].sort((a, b) => a - b);
  }

  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    // A chart of a selection says which, under its title.
    title: chart.where ? { text: chart.title, subtitle: whereText(chart) } : chart.title,
    width: CHART_WIDTH,
    height: CHART_HEIGHT,
    background: 'white',
    data: { values: data },
    layer: layers,
    // The band's fill legend is hidden; without independent legends vega-lite merges it with the
    // lines' legend and the hidden one wins, leaving no legend at all.
    ...(withBars && overTime && color ? { resolve: { legend: { fill: 'independent', color: 'independent' } } } : {}),
    config: { font: 'DejaVu Sans', legend: { labelLimit: 320, titleLimit: 320 } },
  };
  return { spec: spec as unknown as TopLevelSpec };
}

/**
 * The x encoding of a chart: over time, or over the sweep parameter (quantitative unless the values
 * are not numbers or the chart is a bar chart). Non-quantitative x values are turned into strings.
 */
function xEncoding(chart: ChartSpec, input: ChartData, data: { x: unknown }[], overTime: boolean, kind: string): { x: Record<string, unknown>; xQuantitative: boolean } {
  const xValues = overTime ? [] : chartSweep(chart, input.sweep)[chart.x] ?? [];
  const xNumeric = overTime || (xValues.length > 0 && xValues.every((v) => typeof v === 'number'));
  const xQuantitative = xNumeric && kind !== 'bar';
  const x: Record<string, unknown> = {
    field: 'x',
    type: xQuantitative ? 'quantitative' : 'ordinal',
    title: overTime ? 'simulated time (s)' : chart.x,
  };
  if (xQuantitative) {
    const xSymlog = data.some((d) => typeof d.x === 'number' && d.x <= 0);
    x.scale = chart.xScale === 'log' ? { type: xSymlog ? 'symlog' : 'log' } : { type: 'linear', zero: false };
    // On a log axis vega ticks every 1-9 x 10^k and its greedy overlap removal then drops the label
    // of the last sweep value (1000 collides with 900 and goes). A sweep chart's x values are the
    // few the study ran: tick and label exactly those, every one of them.
    if (chart.xScale === 'log' && !overTime) {
      const values = [...new Set(data.map((d) => d.x as number))].sort((a, b) => a - b);
      x.axis = { values, format: ',~g', labelOverlap: false, grid: true };
    }
  }
  else {
    x.sort = xValues.map(String);
    x.axis = { labelAngle: 0 };
  }
  if (!xQuantitative) for (const d of data) d.x = String(d.x);
  return { x, xQuantitative };
}

/** The study's reference points that belong on this chart, labelled as the chart labels its series. */
function chartReferenceMarks(chart: ChartSpec, input: ChartData, references: References, divisor: number): ReturnType<typeof referenceMarks> {
  const varying = varyingParams(chart, input.sweep, input.points.map((p) => p.point));
  return referenceMarks(references, chart, input.points, (p) => seriesLabel(p, chart, varying, chartMetrics(chart)[0]!), divisor);
}

/** Reference points as hollow diamonds (one shape per source) in their line's colour. */
function referenceLayer(marks: ReturnType<typeof referenceMarks>, x: Record<string, unknown>, y: Record<string, unknown>, color: Record<string, unknown> | undefined, xQuantitative: boolean): Record<string, unknown> {
  const values = marks.map((m) => ({ ...m, x: xQuantitative ? m.x : String(m.x) }));
  const encoding: Record<string, unknown> = {
    x,
    y,
    shape: { field: 'reference', type: 'nominal', title: 'reference', scale: { range: ['diamond', 'cross', 'triangle-up', 'square', 'triangle-down'] } },
  };
  if (color) encoding.color = color;
  return { data: { values }, mark: { type: 'point', size: 160, filled: false, strokeWidth: 2.5, opacity: 1 }, encoding };
}

export interface ChartOutput {
  chart: ChartSpec;
  /** File name without extension, under charts/. */
  name: string;
  rendered?: RenderedChart;
  /** Why the chart is missing, when it is. */
  missing?: string;
}

/** Builds and renders every chart of the scenario, in order. */
export async function renderScenarioCharts(charts: readonly ChartSpec[], input: ChartData): Promise<ChartOutput[]> {
  const names = chartFileNames(charts);
  const out: ChartOutput[] = [];
  for (let i = 0; i < charts.length; i++) {
    const chart = charts[i]!;
    const built = buildChartSpec(chart, input);
    if ('missing' in built) out.push({ chart, name: names[i]!, missing: built.missing });
    else out.push({ chart, name: names[i]!, rendered: await renderChart(built.spec) });
  }
  return out;
}
