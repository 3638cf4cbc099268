import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Histogram } from './histogram.ts';
import { TimeWeighted } from './time-weighted.ts';
import { TimeSeries } from './time-series.ts';
import { summarizeReplications } from './replication.ts';
import { studentTCdf, studentTQuantile } from './student-t.ts';

const exactPercentile = (sorted: number[], q: number) => sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]!;

test('histogram percentiles are within 1% of an exact sort, from ns to minutes', () => {
  fc.assert(
    fc.property(
      fc.array(fc.double({ min: 1, max: 3.6e12, noNaN: true }), { minLength: 1, maxLength: 400 }),
      fc.constantFrom(0.01, 0.25, 0.5, 0.9, 0.99, 0.999),
      (values, q) => {
        const h = new Histogram();
        for (const v of values) h.record(v);
        const exact = exactPercentile([...values].sort((a, b) => a - b), q);
        const got = h.percentile(q);
        assert.ok(Math.abs(got - exact) <= 0.01 * exact, `q=${q} exact=${exact} got=${got}`);
      },
    ),
  );
});

test('merged histograms equal one histogram of all values', () => {
  fc.assert(
    fc.property(
      fc.array(fc.double({ min: 0, max: 1e9, noNaN: true })),
      fc.array(fc.double({ min: 0, max: 1e9, noNaN: true })),
      (a, b) => {
        const ha = new Histogram();
        const hb = new Histogram();
        const all = new Histogram();
        a.forEach((v) => (ha.record(v), all.record(v)));
        b.forEach((v) => (hb.record(v), all.record(v)));
        ha.merge(hb);
        assert.deepEqual([...ha.bucketCounts()], [...all.bucketCounts()]);
        for (const q of [0.5, 0.99]) assert.equal(ha.percentile(q), all.percentile(q));
      },
    ),
  );
});

test('a histogram is the same whatever order its values came in (its bucket window grows both ways)', () => {
  fc.assert(
    fc.property(fc.array(fc.oneof(fc.double({ min: 0, max: 1e15, noNaN: true }), fc.integer({ min: 0, max: 100 })), { minLength: 1 }), (values) => {
      const up = new Histogram();
      const down = new Histogram();
      const sorted = [...values].sort((x, y) => x - y);
      sorted.forEach((v) => up.record(v));
      sorted.reverse().forEach((v) => down.record(v));
      assert.deepEqual([...up.bucketCounts()], [...down.bucketCounts()]);
      assert.equal([...up.bucketCounts()].reduce((s, c) => s + c, 0), values.length);
      for (const q of [0.01, 0.5, 0.9, 0.99, 0.999]) assert.equal(up.percentile(q), down.percentile(q));
    }),
  );
});

test('histogram refuses negative values; empty gives NaN', () => {
  const h = new Histogram();
  assert.ok(Number.isNaN(h.percentile(0.5)));
  assert.throws(() => h.record(-1), /must be >= 0/);
});

test('time-weighted average weights each value by how long it held', () => {
  const g = new TimeWeighted(0, 0);
  g.set(10, 4); // 0 for 10ns
  g.set(30, 1); // 4 for 20ns
  assert.equal(g.mean(40), (0 * 10 + 4 * 20 + 1 * 10) / 40);
  assert.equal(g.max, 4);
});

test('time series sums per interval and carries gauges forward', () => {
  const s = new TimeSeries('failed', 1000, 'sum');
  s.record(10, 1);
  s.record(999, 2);
  s.record(2500, 5);
  assert.deepEqual(s.points(4000).map((p) => p.value), [3, 0, 5, 0]);
  const g = new TimeSeries('occupancy', 1000, 'last');
  g.record(100, 7);
  g.record(2100, 9);
  assert.deepEqual(g.points(4000).map((p) => p.value), [7, 7, 9, 9]);
});

test('Student t quantiles match the published table', () => {
  const table: [number, number][] = [[1, 12.7062], [2, 4.3027], [4, 2.7764], [9, 2.2622], [29, 2.0452], [120, 1.9799]];
  for (const [df, t] of table) assert.ok(Math.abs(studentTQuantile(0.975, df) - t) < 1e-3, `df=${df}`);
  assert.ok(Math.abs(studentTCdf(0, 5) - 0.5) < 1e-12);
  assert.ok(Math.abs(studentTCdf(2.5706, 5) - 0.975) < 1e-4);
});

test('replication summary: mean, stdev and the Student t interval', () => {
  const s = summarizeReplications([10, 12, 14, 16, 18]);
  assert.equal(s.n, 5);
  assert.equal(s.mean, 14);
  assert.ok(Math.abs(s.stdev - Math.sqrt(10)) < 1e-12);
  const hw = (2.7764 * Math.sqrt(10)) / Math.sqrt(5);
  assert.ok(Math.abs(s.halfWidth - hw) < 1e-3);
  assert.ok(Number.isNaN(summarizeReplications([3]).halfWidth));
  assert.equal(summarizeReplications([NaN, 2, 4]).n, 2);
});
