import { summarizeReplications } from '../sim/engine/stats/replication.ts';
import { byCodeUnit, groupByPoint, type Sweep } from './points.ts';
import type { MetricSummary, PointSummary, RunRow } from './types.ts';

/** Every metric name that appears in any run, sorted (code-unit order, the same on every machine). */
export function metricNames(runs: readonly RunRow[]): string[] {
  const names = new Set<string>();
  for (const r of runs) for (const k of Object.keys(r.metrics)) names.add(k);
  return [...names].sort(byCodeUnit);
}

/**
 * Per sweep point and metric: n, mean, sample stdev and the 95% Student-t interval of the mean over
 * the point's replications (sim/engine/stats/replication.ts). A metric missing from a run counts as
 * not measured there, like NaN.
 */
export function summarizePoints(runs: readonly RunRow[], sweep: Sweep): { names: string[]; metrics: string[]; points: PointSummary[] } {
  const metrics = metricNames(runs);
  const { names, groups } = groupByPoint(runs, sweep);
  const points = groups.map((g): PointSummary => {
    const summaries: Record<string, MetricSummary> = {};
    for (const m of metrics) {
      const s = summarizeReplications(g.rows.map((r) => r.metrics[m] ?? NaN));
      summaries[m] = { n: s.n, mean: s.mean, stdev: s.stdev, ci95Low: s.ci95Low, ci95High: s.ci95High };
    }
    return { point: g.point, runs: g.rows.length, metrics: summaries };
  });
  return { names, metrics, points };
}
