import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { medianWithInterval } from './median.ts';

const sortedSamples = fc
  .array(fc.double({ min: 1e-3, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 400 })
  .map((a) => a.sort((x, y) => x - y));

test('property: the interval holds the median, within the samples, and scales with them', () => {
  fc.assert(
    fc.property(sortedSamples, fc.double({ min: 1e-3, max: 1e3, noNaN: true }), (s, c) => {
      const m = medianWithInterval(s);
      assert.ok(s[0]! <= m.low && m.low <= m.median && m.median <= m.high && m.high <= s[s.length - 1]!);
      assert.ok(m.rme >= 0);
      // a change of unit (ns to ms, or a slower machine by a constant factor) leaves the rme alone
      const scaled = medianWithInterval(s.map((x) => x * c));
      assert.ok(Math.abs(scaled.rme - m.rme) <= 1e-9 * Math.max(1, m.rme));
    }),
  );
});

test('property: a few huge outliers move the mean far and the median at most one rank', () => {
  fc.assert(
    fc.property(fc.integer({ min: 50, max: 500 }), fc.integer({ min: 1, max: 4 }), (n, outliers) => {
      const base = Array.from({ length: n }, (_, i) => 400 + (i % 50));
      const hit = [...base.slice(0, n - outliers), ...Array.from({ length: outliers }, () => 400 * 100)].sort((a, b) => a - b);
      const sortedBase = [...base].sort((a, b) => a - b);
      const before = medianWithInterval(sortedBase).median;
      const after = medianWithInterval(hit).median;
      assert.ok(after <= sortedBase[Math.min(n - 1, Math.ceil((n - 1) / 2) + outliers)]!);
      assert.ok(after >= before - 50);
    }),
  );
});

test('the median of an odd and an even count; a single sample has no spread', () => {
  assert.equal(medianWithInterval([1, 2, 9]).median, 2);
  assert.equal(medianWithInterval([1, 2, 4, 9]).median, 3);
  assert.deepEqual(medianWithInterval([5]), { median: 5, low: 5, high: 5, rme: 0 });
  // five samples: the ranks fall outside 1..5, so the interval is the whole range
  assert.deepEqual(medianWithInterval([1, 2, 3, 4, 5]), { median: 3, low: 1, high: 5, rme: (4 / 2 / 3) * 100 });
  assert.throws(() => medianWithInterval([]), /no samples/);
});

test('the interval covers the true median about 95% of the time, for a skewed distribution', () => {
  // Exponential samples (median ln 2), drawn from a fixed xorshift stream so the test is repeatable.
  let x = 88172645;
  const uniform = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return ((x >>> 0) + 0.5) / 2 ** 32;
  };
  for (const n of [30, 200]) {
    let covered = 0;
    const trials = 2000;
    for (let t = 0; t < trials; t++) {
      const s = Array.from({ length: n }, () => -Math.log(uniform())).sort((a, b) => a - b);
      const m = medianWithInterval(s);
      if (m.low <= Math.LN2 && Math.LN2 <= m.high) covered++;
    }
    const rate = covered / trials;
    assert.ok(rate > 0.93 && rate < 0.99, `n = ${n}: covered ${rate}`);
  }
});
