import { studentTCdf } from '../sim/engine/stats/student-t.ts';
import { InputError } from '../sim/io/input-error.ts';
import { byCodeUnit, comparePoints, parameterNames, pointKey, pointLabel } from './points.ts';
import type { SummaryDoc } from './summary-json.ts';
import { textTable } from './text-table.ts';
import { formatValue, metricInfo, significant } from './units.ts';
import type { Better, MetricSummary, MetricUnit, SweepPoint } from './types.ts';

/**
 * `svcsim compare`: two summary.json files, metric by metric at each sweep point they share.
 *
 * A difference counts only when it is both
 * - larger than the threshold, relative to the baseline mean (|current - baseline| / |baseline|), and
 * - statistically significant: Welch's unequal-variances t-test, two-sided, on the two means from
 *   each file's n, mean and sample stdev over replications, with Welch–Satterthwaite degrees of
 *   freedom; significant when p < alpha (default 0.05). When both sides have zero spread, the
 *   replications agree exactly and any difference is taken as real (p = 0); equal means give p = 1.
 *   With fewer than 2 replications on a side there is no variance to test with: shown, never counted.
 * Whether a counted difference is a regression or an improvement comes from the metric's direction
 * (summary.json's `metrics`, else the naming rule of reports/units.ts: latency, failures, drops and
 * sync time lower is better, throughput higher). A figure without a direction (`sim.events`,
 * `connections.total`, kernel objects) is informational: its change is shown, marked `changed`, and
 * never counts as a regression or an improvement.
 */

export interface CompareOptions {
  /** Smallest relative change that counts, as a fraction (0.05 = 5%). */
  threshold: number;
  /** Significance level of the t-test; default 0.05. */
  alpha?: number;
}

/** `changed`: a counted difference in an informational figure (no direction), which never fails a run. */
export type Verdict = 'regression' | 'improvement' | 'changed' | 'unchanged';

export interface MetricComparison {
  point: SweepPoint;
  metric: string;
  unit: MetricUnit;
  better: Better;
  baseline: MetricSummary;
  current: MetricSummary;
  /** (current - baseline) / |baseline|; ±Infinity from a zero baseline; NaN when a side was not measured. */
  delta: number;
  /** Two-sided p-value of Welch's t-test; NaN when it cannot be computed (n < 2 on a side, a side not measured). */
  p: number;
  significant: boolean;
  verdict: Verdict;
}

export interface Comparison {
  names: string[];
  rows: MetricComparison[];
  /** Points (or metrics at shared points) present in one file only. */
  onlyInBaseline: string[];
  onlyInCurrent: string[];
  regressions: number;
  improvements: number;
  /** Counted differences in informational figures: shown, never a regression. */
  changed: number;
  notes: string[];
  threshold: number;
  alpha: number;
}

export interface WelchResult {
  t: number;
  df: number;
  p: number;
}

/** Welch's t-test from summary statistics: two-sided p for H0 "equal means". */
export function welchTTest(a: MetricSummary, b: MetricSummary): WelchResult {
  if (a.n < 2 || b.n < 2 || !Number.isFinite(a.stdev) || !Number.isFinite(b.stdev) || Number.isNaN(a.mean) || Number.isNaN(b.mean)) {
    return { t: NaN, df: NaN, p: NaN };
  }
  const va = (a.stdev * a.stdev) / a.n;
  const vb = (b.stdev * b.stdev) / b.n;
  const se2 = va + vb;
  if (se2 === 0) return a.mean === b.mean ? { t: 0, df: Infinity, p: 1 } : { t: Math.sign(b.mean - a.mean) * Infinity, df: Infinity, p: 0 };
  const t = (b.mean - a.mean) / Math.sqrt(se2);
  const df = (se2 * se2) / ((va * va) / (a.n - 1) + (vb * vb) / (b.n - 1));
  const p = Math.min(1, 2 * (1 - studentTCdf(Math.abs(t), df)));
  return { t, df, p };
}

function relativeDelta(base: number, cur: number): number {
  if (Number.isNaN(base) || Number.isNaN(cur)) return NaN;
  if (base === 0) return cur === 0 ? 0 : cur > 0 ? Infinity : -Infinity;
  return (cur - base) / Math.abs(base);
}

export function compareSummaries(baseline: SummaryDoc, current: SummaryDoc, options: CompareOptions): Comparison {
  const alpha = options.alpha ?? 0.05;
  const names = parameterNames(baseline.sweep, [...baseline.points, ...current.points].map((p) => p.point));
  for (const n of Object.keys(current.sweep)) if (!names.includes(n)) names.push(n);
  const cur = new Map(current.points.map((p) => [pointKey(p.point, names), p]));
  const baseKeys = new Set(baseline.points.map((p) => pointKey(p.point, names)));
  const notes: string[] = [];
  const onlyInBaseline: string[] = [];
  const onlyInCurrent: string[] = [];
  const rows: MetricComparison[] = [];
  const order = comparePoints(baseline.sweep, names);
  const basePoints = [...baseline.points].sort((a, b) => order(a.point, b.point));

  for (const bp of basePoints) {
    const key = pointKey(bp.point, names);
    const cp = cur.get(key);
    const label = pointLabel(bp.point, names);
    if (!cp) {
      onlyInBaseline.push(label);
      continue;
    }
    const metrics = [...new Set([...Object.keys(bp.metrics), ...Object.keys(cp.metrics)])].sort(byCodeUnit);
    for (const m of metrics) {
      const b = bp.metrics[m];
      const c = cp.metrics[m];
      if (!b || !c) {
        (b ? onlyInBaseline : onlyInCurrent).push(`${m} at ${label}`);
        continue;
      }
      const declared = { ...baseline.metrics, ...current.metrics };
      const info = declared[m] ?? metricInfo(m);
      const delta = relativeDelta(b.mean, c.mean);
      const { p } = welchTTest(b, c);
      const significantChange = !Number.isNaN(p) && p < alpha;
      let verdict: Verdict = 'unchanged';
      if (significantChange && Math.abs(delta) > options.threshold) {
        if (info.better === 'none') verdict = 'changed';
        else verdict = (info.better === 'lower' ? c.mean > b.mean : c.mean < b.mean) ? 'regression' : 'improvement';
      }
      rows.push({ point: bp.point, metric: m, unit: info.unit, better: info.better, baseline: b, current: c, delta, p, significant: significantChange, verdict });
    }
  }
  for (const cp of current.points) if (!baseKeys.has(pointKey(cp.point, names))) onlyInCurrent.push(pointLabel(cp.point, names));

  if (rows.length === 0 && baseline.points.length > 0 && current.points.length > 0) {
    throw new InputError('compare', 'two summaries with a sweep point and metric in common', 'none in common', 'were they written by the same study?');
  }
  for (const m of Object.keys(current.metrics)) {
    const bm = baseline.metrics[m];
    if (bm && bm.better !== current.metrics[m]!.better) notes.push(`${m}: the files disagree on its direction; the current file's (${current.metrics[m]!.better} is better) is used`);
  }
  if (baseline.name !== current.name) notes.push(`different studies: ${baseline.name} (baseline) and ${current.name} (current)`);
  if (baseline.partial) notes.push('the baseline is partial (its run was interrupted)');
  if (current.partial) notes.push('the current run is partial (it was interrupted)');
  if (baseline.svcsimVersion !== current.svcsimVersion) notes.push(`svcsim ${baseline.svcsimVersion} (baseline) vs ${current.svcsimVersion} (current)`);
  return {
    names,
    rows,
    onlyInBaseline,
    onlyInCurrent,
    regressions: rows.filter((r) => r.verdict === 'regression').length,
    improvements: rows.filter((r) => r.verdict === 'improvement').length,
    changed: rows.filter((r) => r.verdict === 'changed').length,
    notes,
    threshold: options.threshold,
    alpha,
  };
}

/** `38µs ± 3%`: the mean and the 95% CI half-width relative to it. */
function valueCell(s: MetricSummary, unit: MetricUnit): string {
  const v = formatValue(s.mean, unit);
  if (!Number.isFinite(s.ci95High) || s.mean === 0) return v;
  const rel = ((s.ci95High - s.mean) / Math.abs(s.mean)) * 100;
  // Below 0.01% the interval is rounding noise of a mean that did not vary (4.6e-14%).
  return `${v} ± ${rel === 0 ? '0' : rel < 0.01 ? '<0.01' : significant(rel, 2)}%`;
}

function deltaCell(r: MetricComparison): string {
  const n = `n=${r.baseline.n}+${r.current.n}`;
  if (Number.isNaN(r.p)) {
    const why = r.baseline.n === 0 || r.current.n === 0 ? 'not measured' : r.baseline.n < 2 || r.current.n < 2 ? 'n<2, not tested' : 'not tested';
    return `~ (${why} ${n})`;
  }
  const pText = `p=${r.p.toFixed(3)} ${n}`;
  if (!r.significant) return `~ (${pText})`;
  const d = Number.isFinite(r.delta) ? `${r.delta > 0 ? '+' : ''}${significant(r.delta * 100)}%` : r.delta > 0 ? '+∞% (from 0)' : '-∞% (from 0)';
  return `${d} (${pText})`;
}

const VERDICT_TEXT: Record<Verdict, string> = { regression: 'REGRESSION', improvement: 'improvement', changed: 'changed (informational)', unchanged: '' };

function directionText(better: Better): string {
  return better === 'none' ? 'informational: shown, never a regression' : `${better} is better`;
}

/** A row neither run measured (n=0 on both sides: affinity hits where no Service has affinity). */
function notMeasured(r: MetricComparison): boolean {
  return r.baseline.n === 0 && r.current.n === 0;
}

function signedPercent(delta: number): string {
  if (!Number.isFinite(delta)) return delta > 0 ? '+∞%' : '-∞%';
  return `${delta > 0 ? '+' : ''}${significant(delta * 100)}%`;
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/**
 * The default output: only the metrics with a counted change, one row each (its direction, how many
 * points regressed, improved or changed, the range of those changes and the largest one), then the
 * criterion, notes and one summary line. It grows with the number of changed metrics, not with the
 * points times metrics of the study: a cost change touching 51 rows of 1,520 is 8 rows here.
 * Rows neither run measured are left out and only counted; `formatComparison` (--all) shows every row.
 */
export function formatChanges(c: Comparison, files: { baseline: string; current: string }): string {
  const out: string[] = [];
  const counted = c.rows.filter((r) => r.verdict !== 'unchanged');
  const metrics = [...new Set(counted.map((r) => r.metric))].sort(byCodeUnit);
  if (metrics.length === 0) out.push('No metric changed beyond the threshold.');
  else {
    const body = metrics.map((m) => {
      const rows = counted.filter((r) => r.metric === m);
      const n = (v: Verdict) => rows.filter((r) => r.verdict === v).length;
      const what = [
        n('regression') > 0 ? plural(n('regression'), 'regression') : '',
        n('improvement') > 0 ? plural(n('improvement'), 'improvement') : '',
        n('changed') > 0 ? `${n('changed')} changed` : '',
      ].filter(Boolean);
      const deltas = rows.map((r) => r.delta).sort((a, b) => a - b);
      const lo = deltas[0]!;
      const hi = deltas[deltas.length - 1]!;
      const range = lo === hi ? signedPercent(lo) : `${signedPercent(lo)} to ${signedPercent(hi)}`;
      const worst = rows.reduce((a, b) => (Math.abs(b.delta) > Math.abs(a.delta) ? b : a));
      const largest = `${pointLabel(worst.point, c.names)}: ${formatValue(worst.baseline.mean, worst.unit)} → ${formatValue(worst.current.mean, worst.unit)}`;
      const better = rows[0]!.better === 'none' ? 'informational' : `${rows[0]!.better} is better`;
      return [m, better, what.join(', '), range, largest];
    });
    out.push(textTable(['changed metric', 'direction', 'points', 'change', 'largest change (baseline → current)'], body, [false, false, false, false, false]));
  }
  out.push('', ...footer(c, files, '. --all shows every metric at every point.'));
  const skipped = c.rows.filter(notMeasured).length;
  const unchanged = c.rows.length - c.regressions - c.improvements - c.changed - skipped;
  out.push(
    `${plural(c.regressions, 'regression')}, ${plural(c.improvements, 'improvement')}, ${plural(c.changed, 'informational change')}, ` +
      `${unchanged} unchanged, ${skipped} not measured by either run (left out)`,
  );
  return out.join('\n') + '\n';
}

/** The benchstat-like table (--all): a block per metric, a row per sweep point, then the totals and notes. */
export function formatComparison(c: Comparison, files: { baseline: string; current: string }): string {
  const out: string[] = [];
  const metrics = [...new Set(c.rows.map((r) => r.metric))].sort(byCodeUnit);
  for (const m of metrics) {
    const rows = c.rows.filter((r) => r.metric === m);
    out.push(`${m} (${directionText(rows[0]!.better)})`);
    const body = rows.map((r) => [pointLabel(r.point, c.names), valueCell(r.baseline, r.unit), valueCell(r.current, r.unit), deltaCell(r), VERDICT_TEXT[r.verdict]]);
    out.push(textTable(['point', 'baseline', 'current', 'delta', ''], body, [false, true, true, false, false]), '');
  }
  out.push(...footer(c, files, '; ± is the 95% confidence interval of the mean; ~ means no significant difference.'));
  const unchanged = c.rows.length - c.regressions - c.improvements - c.changed;
  out.push(`${plural(c.regressions, 'regression')}, ${plural(c.improvements, 'improvement')}, ${plural(c.changed, 'informational change')}, ${unchanged} unchanged`);
  return out.join('\n') + '\n';
}

/** What both outputs say below their table: the files, the criterion (ending in `criterionTail`), what was not compared, the notes. */
function footer(c: Comparison, files: { baseline: string; current: string }, criterionTail: string): string[] {
  const out = [
    `baseline: ${files.baseline}`,
    `current:  ${files.current}`,
    `A change counts when it is larger than ${significant(c.threshold * 100)}% of the baseline mean and significant ` +
      `(Welch's t-test on the replications, two-sided, p < ${c.alpha})${criterionTail}`,
  ];
  if (c.onlyInBaseline.length > 0) out.push(`only in the baseline (not compared): ${c.onlyInBaseline.join('; ')}`);
  if (c.onlyInCurrent.length > 0) out.push(`only in the current file (not compared): ${c.onlyInCurrent.join('; ')}`);
  for (const n of c.notes) out.push(`note: ${n}`);
  return out;
}
