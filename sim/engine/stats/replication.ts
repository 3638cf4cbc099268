import { studentTQuantile } from './student-t.ts';

/**
 * What a sweep point's replications say about a metric: mean, sample standard deviation and the
 * 95% confidence interval of the mean from Student's t with n - 1 degrees of freedom (replications
 * are independent runs with distinct seeds, the textbook setting of Law & Kelton ch. 9).
 * With one replication the interval is unknown and reported as NaN; NaN observations are skipped
 * (a metric a run could not measure, such as a percentile with no samples).
 */
export interface ReplicationSummary {
  n: number;
  mean: number;
  stdev: number;
  ci95Low: number;
  ci95High: number;
  /** Half the interval's width: mean ± halfWidth. */
  halfWidth: number;
}

export function summarizeReplications(values: readonly number[], confidence = 0.95): ReplicationSummary {
  const xs = values.filter((v) => !Number.isNaN(v));
  const n = xs.length;
  if (n === 0) return { n, mean: NaN, stdev: NaN, ci95Low: NaN, ci95High: NaN, halfWidth: NaN };
  let mean = 0;
  for (const x of xs) mean += x;
  mean /= n;
  if (n === 1) return { n, mean, stdev: NaN, ci95Low: NaN, ci95High: NaN, halfWidth: NaN };
  let ss = 0;
  for (const x of xs) ss += (x - mean) ** 2;
  const stdev = Math.sqrt(ss / (n - 1));
  const halfWidth = stdev === 0 ? 0 : (studentTQuantile(1 - (1 - confidence) / 2, n - 1) * stdev) / Math.sqrt(n);
  return { n, mean, stdev, ci95Low: mean - halfWidth, ci95High: mean + halfWidth, halfWidth };
}
