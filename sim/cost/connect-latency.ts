/**
 * The kernel's variability of TCP connection setup, as a distribution fitted to a measurement: the
 * connect latency of calibrate/connect-distribution.ts (client and server in network namespaces on
 * one host, joined through a router namespace holding the rules), kept as its percentiles.
 *
 * The fit is the measured quantile function, linear between the kept percentiles (every percent,
 * 99.5 and 99.9) and closed by the minimum and maximum seen. A parametric form was tried first: a
 * shifted lognormal matched at p50, p90 and p99 needs a negative floor on a shared 2-core host, where
 * connects are bimodal (about 100 us with a CPU free, milliseconds when the client or the server
 * waits for one), and then draws 0 us below p20. The quantile function keeps both modes and every
 * percentile it came from (connect-latency.test.ts).
 *
 * Runs draw from it (sim/run/connect-setup.ts) the part of connection setup that is neither the
 * rule walk (the cost tier's first-packet cost) nor the network between nodes.
 */
import type { RandomStream } from '../engine/random.ts';

export interface QuantileFunction {
  /** Cumulative probabilities, strictly increasing from 0 to 1. */
  q: readonly number[];
  /** ns at each q, non-decreasing. */
  ns: readonly number[];
}

/** The percentiles a measurement keeps: every percent, and 99.5 and 99.9. */
export const KEPT_QUANTILES: readonly number[] = [...Array.from({ length: 99 }, (_, i) => (i + 1) / 100), 0.995, 0.999];

/** `p1`..`p99`, `p99.5`, `p99.9`. */
export function percentileKey(q: number): string {
  return `p${Number((q * 100).toFixed(1))}`;
}

/** A measurement's figures the fit reads: the kept percentiles by key, the minimum and maximum, ns. */
export interface MeasuredDistribution {
  minNs: number;
  maxNs: number;
  percentiles: Record<string, number>;
}

/** The quantile function through the measurement's minimum, kept percentiles and maximum. */
export function fitQuantileFunction(m: MeasuredDistribution): QuantileFunction {
  const q = [0];
  const ns = [m.minNs];
  for (const p of KEPT_QUANTILES) {
    const v = m.percentiles[percentileKey(p)];
    if (v === undefined || !Number.isFinite(v)) throw new RangeError(`fitQuantileFunction: percentile ${percentileKey(p)} missing`);
    q.push(p);
    ns.push(Math.max(v, ns.at(-1)!));
  }
  q.push(1);
  ns.push(Math.max(m.maxNs, ns.at(-1)!));
  return { q, ns };
}

/** The value at cumulative probability u (0 <= u <= 1), linear between knots. */
export function quantileAt(f: QuantileFunction, u: number): number {
  const { q, ns } = f;
  if (u <= 0) return ns[0]!;
  if (u >= 1) return ns.at(-1)!;
  let lo = 0;
  let hi = q.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (q[mid]! <= u) lo = mid;
    else hi = mid;
  }
  const t = (u - q[lo]!) / (q[hi]! - q[lo]!);
  return ns[lo]! + t * (ns[hi]! - ns[lo]!);
}

/** One draw in ns (inverse transform: one uniform from `rng`). */
export function sampleQuantileFunction(f: QuantileFunction, rng: RandomStream): number {
  return quantileAt(f, rng.random());
}
