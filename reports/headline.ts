import { chartMetrics, TIME } from './charts.ts';
import { pointLabel } from './points.ts';
import { textTable } from './text-table.ts';
import { formatValue, metricInfo } from './units.ts';
import type { PointSummary, ScenarioMeta } from './types.ts';

/**
 * The headline numbers: the metrics the study draws (its charts' y over sweep parameters, in chart
 * order), then the ones its expectations name; when it declares neither, the first metrics by name.
 * The report lists these first, and the terminal shows them as a small table after a run.
 */
export function headlineMetrics(meta: ScenarioMeta, metrics: readonly string[], max = 4): string[] {
  const chosen = studyMetrics(meta, metrics);
  for (const m of metrics) if (chosen.length < max && !chosen.includes(m)) chosen.push(m);
  return chosen.slice(0, max);
}

/** The metrics the study itself names: its charts' y over sweep parameters, then its expectations'. */
export function studyMetrics(meta: ScenarioMeta, metrics: readonly string[]): string[] {
  const chosen: string[] = [];
  const add = (m: string): void => {
    if (metrics.includes(m) && !chosen.includes(m)) chosen.push(m);
  };
  for (const c of meta.charts) if (c.x !== TIME) chartMetrics(c).forEach(add);
  for (const line of meta.expectations) {
    // The metric is the last dotted name before the operator; cheap to find without a full parse,
    // and a line that names no measured metric simply adds nothing.
    const lhs = line.split(/<=|>=|==|!=|<|>/)[0] ?? '';
    const name = lhs.slice(lhs.lastIndexOf(':') + 1).trim();
    for (const m of metrics) if (name === m || name.endsWith(`.${m}`)) add(m);
  }
  return chosen;
}

/** Points shown in the terminal table; the rest are in summary.csv. */
export const HEADLINE_MAX_POINTS = 40;

/**
 * The terminal table: one row per sweep point, one column per headline metric (mean over
 * replications, with its unit). Plain text, no colours, so it reads the same in a CI log.
 */
export function headlineTable(meta: ScenarioMeta, points: readonly PointSummary[], names: readonly string[], metrics: readonly string[]): string {
  // Filler columns (when the study names fewer than four metrics) only from metrics some point measured.
  const cols = headlineMetrics(
    meta,
    metrics.filter((m) => points.some((p) => (p.metrics[m]?.n ?? 0) > 0)),
  );
  if (points.length === 0) return '(no run finished)';
  if (cols.length === 0) return '(the runs report no metrics)';
  const shown = points.slice(0, HEADLINE_MAX_POINTS);
  const rows = shown.map((p) => [
    pointLabel(p.point, names),
    ...cols.map((m) => {
      const s = p.metrics[m];
      return s ? formatValue(s.mean, metricInfo(m, meta.metrics).unit) : 'n/a';
    }),
  ]);
  let text = textTable(['point', ...cols], rows, [false, ...cols.map(() => true)]);
  if (points.length > shown.length) text += `\n… ${points.length - shown.length} more points in summary.csv`;
  const reps = meta.replications;
  text += `\n(means over ${reps} replication${reps === 1 ? '' : 's'} per point${meta.partial ? '; PARTIAL: the run was interrupted' : ''})`;
  return text;
}
