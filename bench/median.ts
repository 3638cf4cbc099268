/**
 * The median of a task's samples and a distribution-free 95% confidence interval for it, the
 * statistic the regression gate judges (as benchstat does: golang.org/x/perf/cmd/benchstat reports
 * the median with a confidence interval from order statistics, not the mean).
 *
 * Why not the mean: one sample that met a major GC or a neighbour's burst can outweigh hundreds of
 * normal ones, and has pushed a CI run's mean above its own p99 (docs/benchmarks.md). The median
 * moves only when most samples move, which is what a regression does.
 *
 * The interval: the number of samples below the true median is Binomial(n, 1/2), so the sorted
 * samples x(j) and x(k) with j = floor((n - z sqrt(n)) / 2) and k = ceil(1 + (n + z sqrt(n)) / 2)
 * (1-based, z = 1.96, normal approximation) cover it with about 95% probability, whatever the
 * distribution (Conover, Practical Nonparametric Statistics, 3rd ed., section 3.2). With few samples
 * the ranks fall outside 1..n and the interval is the whole range: an honest "not known better".
 */

const Z95 = 1.96;

export interface MedianEstimate {
  median: number;
  /** The 95% interval's bounds. */
  low: number;
  high: number;
  /** Half the interval's width relative to the median, percent: the median's margin of error. */
  rme: number;
}

/** `sorted` ascending and non-empty. */
export function medianWithInterval(sorted: ArrayLike<number>): MedianEstimate {
  const n = sorted.length;
  if (n === 0) throw new Error('medianWithInterval: no samples');
  const mid = (n - 1) / 2;
  const median = (sorted[Math.floor(mid)]! + sorted[Math.ceil(mid)]!) / 2;
  const spread = Z95 * Math.sqrt(n);
  const j = Math.max(1, Math.floor((n - spread) / 2));
  const k = Math.min(n, Math.ceil(1 + (n + spread) / 2));
  const low = sorted[j - 1]!;
  const high = sorted[k - 1]!;
  const rme = median > 0 ? ((high - low) / 2 / median) * 100 : 0;
  return { median, low, high, rme };
}
