import { stringify } from 'csv-stringify/sync';
import { byCodeUnit, groupByPoint, type Sweep } from './points.ts';
import { metricNames } from './summarize.ts';
import type { PointSummary, RunRow, TimeseriesRow } from './types.ts';

/**
 * The three CSV tables of a run folder. Columns are stable so scripts and notebooks can rely on
 * them: sweep parameters first, in the order the scenario declares them, then fixed columns, then
 * metrics sorted by name. Numbers are written in JavaScript's shortest round-trip form, in base units
 * (durations in ns, ratios as fractions; see reports/types.ts); a value not measured (NaN) is an
 * empty cell. Rows are in sweep order, then replication, whatever order the runs finished in.
 */

function cell(v: number | string): string {
  if (typeof v === 'string') return v;
  return Number.isFinite(v) ? String(v) : '';
}

function toCsv(header: string[], rows: (number | string)[][]): string {
  return stringify([header, ...rows.map((r) => r.map(cell))], { eof: true, record_delimiter: 'unix' });
}

/** runs.csv: one row per run: parameters, replication, seed, then every metric (sorted). */
export function runsCsv(runs: readonly RunRow[], sweep: Sweep): string {
  const metrics = metricNames(runs);
  const { names, groups } = groupByPoint(runs, sweep);
  const rows: (number | string)[][] = [];
  for (const g of groups) {
    for (const r of g.rows) {
      rows.push([...names.map((n) => r.point[n] ?? ''), r.replication, r.seed, ...metrics.map((m) => r.metrics[m] ?? NaN)]);
    }
  }
  return toCsv([...names, 'replication', 'seed', ...metrics], rows);
}

/** summary.csv: one row per sweep point and metric: n, mean, stdev and the 95% CI of the mean. */
export function summaryCsv(points: readonly PointSummary[], names: readonly string[]): string {
  const rows: (number | string)[][] = [];
  for (const p of points) {
    for (const m of Object.keys(p.metrics).sort(byCodeUnit)) {
      const s = p.metrics[m]!;
      rows.push([...names.map((n) => p.point[n] ?? ''), m, s.n, s.mean, s.stdev, s.ci95Low, s.ci95High]);
    }
  }
  return toCsv([...names, 'metric', 'n', 'mean', 'stdev', 'ci95Low', 'ci95High'], rows);
}

/** timeseries.csv: one row per run, series and interval: t_s is the interval's start in simulated seconds. */
export function timeseriesCsv(series: readonly TimeseriesRow[], sweep: Sweep): string {
  const { names, groups } = groupByPoint(series, sweep, (a, b) => byCodeUnit(a.series, b.series) || a.t - b.t);
  const rows: (number | string)[][] = [];
  for (const g of groups) for (const r of g.rows) rows.push([...names.map((n) => r.point[n] ?? ''), r.replication, r.t, r.series, r.value]);
  return toCsv([...names, 'replication', 't_s', 'series', 'value'], rows);
}
