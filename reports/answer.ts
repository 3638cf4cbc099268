import { chartDatums, chartMetrics, chartYLabel, TIME, whereText, type ChartData, type ChartDatum } from './charts.ts';
import type { ExpectationResult } from './expectations.ts';
import { formatValue, metricInfo, significant } from './units.ts';
import type { ChartSpec, MetricUnit, ParamValue } from './types.ts';

/**
 * "The answer its figures give" (issue 6): for each chart of the study, what its numbers say, read
 * from the same means the chart draws (reports/charts.ts chartDatums), never typed by hand. A study
 * states its question and its charts; this turns each chart into one sentence a reader can check
 * against the chart and the Results tables:
 * - over a sweep parameter: how each series changes from the first to the last value of x (and a
 *   peak in between), then the series ordered from lowest to highest at the last x, saying when the
 *   extremes' 95% intervals overlap (the replications cannot tell them apart);
 * - over simulated time: each series' peak, when it happened, and where it ended.
 * What the numbers mean for the question is left to the reader: no word here judges a mode.
 */

/** A change smaller than this share of the larger value reads as "the same" (2%). */
export const FLAT_TOLERANCE = 0.02;
/** Above this many series a sentence names only the extremes, not every series. */
export const MAX_LISTED_SERIES = 6;

interface Series {
  label: string;
  data: ChartDatum[];
}

function bySeries(data: readonly ChartDatum[]): Series[] {
  const out = new Map<string, Series>();
  for (const d of data) {
    let s = out.get(d.series);
    if (!s) out.set(d.series, (s = { label: d.series, data: [] }));
    s.data.push(d);
  }
  return [...out.values()];
}

function same(a: number, b: number): boolean {
  return a === b || Math.abs(a - b) <= FLAT_TOLERANCE * Math.max(Math.abs(a), Math.abs(b));
}

function ratioText(first: number, last: number): string {
  if (first <= 0 || last < 0) return '';
  const r = last / first;
  return r >= 1 ? ` (×${significant(r)})` : ` (−${significant((1 - r) * 100)}%)`;
}

/**
 * Series label for a sentence: `iptables, graceful=true` reads `iptables (graceful=true)` so it
 * survives a comma-separated list; a chart with a single unnamed series speaks of "the mean".
 */
function named(label: string): string {
  if (label === '') return 'the mean';
  const [head, ...rest] = label.split(', ');
  return rest.length === 0 ? head! : `${head} (${rest.join(', ')})`;
}

/** `a 0%, b 0%, c 1%` as `a, b 0%, c 1%`: neighbours that print the same value share it. */
function ranked(data: readonly ChartDatum[], fmt: (v: number) => string): string {
  const groups: { names: string[]; value: string }[] = [];
  for (const d of data) {
    const value = fmt(d.y);
    const last = groups[groups.length - 1];
    if (last && last.value === value) last.names.push(named(d.series));
    else groups.push({ names: [named(d.series)], value });
  }
  return groups.map((g) => `${g.names.join(', ')} ${g.value}`).join(', ');
}

/**
 * A series label whose first part is a bare number or duration (`4096`, `120s`) is the value of the
 * chart's color parameter; it gets the parameter's name (`conntrackMax=4096`) so a sentence reads alone.
 */
function withColorName(data: readonly ChartDatum[], chart: ChartSpec): ChartDatum[] {
  if (chart.color === undefined) return [...data];
  return data.map((d) => (/^[0-9.]/.test(d.series) ? { ...d, series: `${chart.color}=${d.series}` } : d));
}

function sweepSentence(chart: ChartSpec, data: readonly ChartDatum[], xValues: readonly ParamValue[], unit: MetricUnit): string {
  const fmt = (v: number): string => formatValue(v, unit);
  const rank = (x: ParamValue): number => {
    const i = xValues.findIndex((v) => String(v) === String(x));
    return i < 0 ? Number.MAX_SAFE_INTEGER : i;
  };
  const series = bySeries(data).map((s) => ({ ...s, data: [...s.data].sort((a, b) => rank(a.x) - rank(b.x)) }));
  const parts: string[] = [];

  const xs = [...new Set(data.map((d) => String(d.x)))].sort((a, b) => rank(a) - rank(b));
  if (xs.length > 1) {
    const trends = series.map((s) => {
      const first = s.data[0]!;
      const last = s.data[s.data.length - 1]!;
      if (s.data.length === 1) return `${named(s.label)} ${fmt(first.y)} (only at ${chart.x}=${first.x})`;
      // A series the sweep runs over part of the range (an exclude:) says which part.
      const range =
        String(first.x) === xs[0] && String(last.x) === xs[xs.length - 1] ? '' : ` (${chart.x}=${first.x} to ${last.x} only)`;
      const ys = s.data.map((d) => d.y);
      const max = Math.max(...ys);
      const min = Math.min(...ys);
      if (same(min, max)) return `${named(s.label)} stays at ${fmt(first.y)}${range}`;
      let text = same(first.y, last.y)
        ? `${named(s.label)} ${fmt(first.y)} at both ends${range}`
        : `${named(s.label)} ${fmt(first.y)} → ${fmt(last.y)}${ratioText(first.y, last.y)}${range}`;
      // An extreme between the ends is part of the shape; the ends alone would hide it.
      const peak = s.data.find((d) => d.y === max)!;
      if (peak !== first && peak !== last && !same(max, Math.max(first.y, last.y))) text += `, peak ${fmt(max)} at ${chart.x}=${peak.x}`;
      const low = s.data.find((d) => d.y === min)!;
      if (low !== first && low !== last && !same(min, Math.min(first.y, last.y))) text += `, low ${fmt(min)} at ${chart.x}=${low.x}`;
      return text;
    });
    parts.push(`From ${chart.x}=${xs[0]} to ${chart.x}=${xs[xs.length - 1]}: ${trends.join('; ')}`);
  }

  // The order of the series where the sweep ends (usually the largest, hardest setting).
  const lastX = xs[xs.length - 1]!;
  const atLast = series.flatMap((s) => s.data.filter((d) => String(d.x) === lastX)).sort((a, b) => a.y - b.y);
  if (atLast.length > 1) {
    const low = atLast[0]!;
    const high = atLast[atLast.length - 1]!;
    const where = xs.length > 1 ? `At ${chart.x}=${lastX}` : `At ${chart.x}=${lastX} (the only value)`;
    let text =
      low.y === high.y
        ? `${where}, all ${atLast.length} series are at ${fmt(low.y)}`
        : atLast.length <= MAX_LISTED_SERIES
        ? `${where}, lowest to highest: ${ranked(atLast, fmt)}`
        : `${where}, lowest ${named(low.series)} ${fmt(low.y)}, highest ${named(high.series)} ${fmt(high.y)} (of ${atLast.length} series)`;
    if (low.y > 0 && !same(low.y, high.y)) text += `; the highest is ${significant(high.y / low.y)}× the lowest`;
    if (low.y === high.y) {
      // Nothing to compare.
    } else if (same(low.y, high.y)) text += '; all within 2% of each other';
    else if (high.lo <= low.hi) text += ' — but their 95% intervals overlap, so these replications do not separate them';
    parts.push(text);
  }
  return parts.join('. ');
}

function timeSentence(data: readonly ChartDatum[], unit: MetricUnit): string {
  const fmt = (v: number): string => formatValue(v, unit);
  const described = bySeries(data).map((s) => {
    const peak = s.data.reduce((a, d) => (d.y > a.y ? d : a));
    const last = s.data.reduce((a, d) => (Number(d.x) > Number(a.x) ? d : a));
    if (s.data.every((d) => d.y === peak.y)) return { label: s.label, peak: peak.y, text: `stays at ${fmt(peak.y)}` };
    const end = peak === last || same(peak.y, last.y) ? ', still there at the end' : `, ${fmt(last.y)} at the end (t=${last.x}s)`;
    return { label: s.label, peak: peak.y, text: `peak ${fmt(peak.y)} at t=${peak.x}s${end}` };
  });
  // Series that read the same are named together rather than repeated.
  const groups = new Map<string, { labels: string[]; peak: number }>();
  for (const d of described) {
    const g = groups.get(d.text);
    if (g) g.labels.push(named(d.label));
    else groups.set(d.text, { labels: [named(d.label)], peak: d.peak });
  }
  const listed = (labels: string[]): string => (labels.length === 1 ? labels[0]! : `${labels.slice(0, -1).join(', ')} and ${labels[labels.length - 1]}`);
  const entries = [...groups].map(([text, g]) => ({ text: `${listed(g.labels)}: ${text}`, peak: g.peak }));
  if (entries.length <= MAX_LISTED_SERIES) return entries.map((e) => e.text).join('; ');
  const sorted = [...entries].sort((a, b) => a.peak - b.peak);
  return `highest ${sorted[sorted.length - 1]!.text}; lowest ${sorted[0]!.text} (of ${described.length} series)`;
}

/** One sentence per chart with something to read, `Title (metric): ...`, in chart order. */
export function answerFromCharts(charts: readonly ChartSpec[], input: ChartData): string[] {
  const out: string[] = [];
  for (const chart of charts) {
    const data = withColorName(chartDatums(chart, input), chart);
    if (data.length === 0) continue;
    const unit = metricInfo(chartMetrics(chart)[0]!, input.metrics).unit;
    const text = chart.x === TIME ? timeSentence(data, unit) : sweepSentence(chart, data, input.sweep[chart.x] ?? [], unit);
    const where = whereText(chart);
    if (text !== '') out.push(`${chart.title} (${chartYLabel(chart)}${chart.x === TIME ? ' over time' : ''}${where ? `; ${where}` : ''}): ${text}.`);
  }
  return out;
}

/** The expectations' verdict in one line, or nothing when the study has none. */
export function expectationsVerdict(expectations: readonly ExpectationResult[], notChecked = 0): string | undefined {
  const skipped = notChecked > 0 ? `${notChecked} expect: line${notChecked === 1 ? '' : 's'} not checked (only sweep values --quick or --set left out)` : '';
  if (expectations.length === 0) return skipped ? `Expectations: ${skipped}.` : undefined;
  const held = expectations.filter((e) => e.passed).length;
  const failed = expectations.filter((e) => e.status === 'fail').length;
  const missing = expectations.length - held - failed;
  const lines = new Set(expectations.map((e) => e.index)).size;
  let text = `Expectations: ${held} of ${expectations.length} checks (${lines} expect: line${lines === 1 ? '' : 's'} over the points each selects) held`;
  if (failed > 0) text += `, ${failed} failed`;
  if (missing > 0) text += `, ${missing} not measured`;
  if (skipped) text += `; ${skipped}`;
  return `${text}.`;
}
