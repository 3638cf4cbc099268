import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RandomStream } from '../engine/random.ts';
import { KEPT_QUANTILES, fitQuantileFunction, percentileKey, quantileAt, sampleQuantileFunction, type MeasuredDistribution } from './connect-latency.ts';

/** Nearest-rank percentile, as the measurement and Histogram take it. */
function nearestRank(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

function measure(values: readonly number[]): MeasuredDistribution {
  const s = [...values].sort((a, b) => a - b);
  const percentiles: Record<string, number> = {};
  for (const q of KEPT_QUANTILES) percentiles[percentileKey(q)] = nearestRank(s, q);
  return { minNs: s[0]!, maxNs: s.at(-1)!, percentiles };
}

test('percentile keys: p1..p99, p99.5, p99.9', () => {
  assert.equal(percentileKey(0.5), 'p50');
  assert.equal(percentileKey(0.995), 'p99.5');
  assert.equal(percentileKey(0.999), 'p99.9');
  assert.equal(KEPT_QUANTILES.length, 101);
});

test('the fitted quantile function passes through every kept percentile, the minimum and the maximum', () => {
  fc.assert(
    fc.property(fc.array(fc.double({ min: 1e3, max: 1e8, noNaN: true }), { minLength: 5, maxLength: 400 }), (xs) => {
      const m = measure(xs);
      const f = fitQuantileFunction(m);
      assert.equal(quantileAt(f, 0), m.minNs);
      assert.equal(quantileAt(f, 1), m.maxNs);
      for (const q of KEPT_QUANTILES) assert.equal(quantileAt(f, q), m.percentiles[percentileKey(q)]);
      for (let i = 1; i < f.ns.length; i++) assert.ok(f.ns[i]! >= f.ns[i - 1]!, 'non-decreasing');
    }),
  );
});

test('draws from the fit reproduce the p50, p90 and p99 of a bimodal measurement (a loaded host: fast, or waiting for a CPU)', () => {
  const gen = new RandomStream(7, 'measurement');
  const xs = Array.from({ length: 20_000 }, () => (gen.bernoulli(0.93) ? gen.lognormal(Math.log(100_000), 0.3) : gen.lognormal(Math.log(8_000_000), 1)));
  const m = measure(xs);
  const f = fitQuantileFunction(m);
  const rng = new RandomStream(1, 'draws');
  const draws = Array.from({ length: 100_000 }, () => sampleQuantileFunction(f, rng));
  for (const q of [0.5, 0.9, 0.99]) {
    const want = m.percentiles[percentileKey(q)]!;
    const share = draws.filter((d) => d <= want).length / draws.length;
    assert.ok(Math.abs(share - q) < 0.005, `${(share * 100).toFixed(2)}% of draws at or below the measured p${q * 100}`);
  }
});

test('a measurement without a kept percentile is refused', () => {
  assert.throws(() => fitQuantileFunction({ minNs: 1, maxNs: 2, percentiles: { p50: 1 } }), /percentile p1 missing/);
});
