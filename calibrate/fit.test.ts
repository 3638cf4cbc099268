import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fitLine, median, quantile, relativeWeights } from './fit.ts';

test('points on a line are fitted exactly with R^2 = 1 and zero residuals', () => {
  const xs = [100, 1000, 5000, 10000];
  const f = fitLine(xs, xs.map((x) => 8e6 + 8200 * x));
  assert.ok(Math.abs(f.slope - 8200) < 1e-6);
  assert.ok(Math.abs(f.intercept - 8e6) < 1e-3);
  assert.ok(Math.abs(f.r2 - 1) < 1e-12);
  for (const r of f.residuals) assert.ok(Math.abs(r) < 1e-3);
});

test('a known small data set gives the textbook slope, intercept, R^2 and residuals', () => {
  // mean x 2.5, mean y 6, Sxy 10, Sxx 5 -> slope 2, intercept 1; residuals +1 -1 -1 +1;
  // SS_res 4, SS_tot 24 -> R^2 = 5/6; slope standard error sqrt(4 / 2 / 5)
  const f = fitLine([1, 2, 3, 4], [4, 4, 6, 10]);
  assert.ok(Math.abs(f.slope - 2) < 1e-12);
  assert.ok(Math.abs(f.intercept - 1) < 1e-12);
  assert.deepEqual(f.residuals.map((r) => Math.round(r * 1e9) / 1e9), [1, -1, -1, 1]);
  assert.ok(Math.abs(f.r2 - 5 / 6) < 1e-12);
  assert.ok(Math.abs(f.slopeStdErr - Math.sqrt(0.4)) < 1e-12);
});

test('property: residuals sum to zero and the fit recovers a line under symmetric noise', () => {
  fc.assert(
    fc.property(
      fc.double({ min: -1e6, max: 1e6, noNaN: true }),
      fc.double({ min: -1e4, max: 1e4, noNaN: true }),
      fc.double({ min: 0, max: 100, noNaN: true }),
      (a, b, noise) => {
        const xs = [0, 10, 20, 30, 40, 50];
        // alternating +/- noise moves the slope by 30 * noise / 1750, well inside the bound below
        const ys = xs.map((x, i) => a + b * x + (i % 2 ? -noise : noise));
        const f = fitLine(xs, ys);
        assert.ok(Math.abs(f.residuals.reduce((s, r) => s + r, 0)) < 1e-6 * (1 + Math.abs(a) + Math.abs(b) * 50));
        assert.ok(Math.abs(f.slope - b) <= noise * 0.1 + 1e-6 * (1 + Math.abs(b)));
      },
    ),
  );
});

test('fitLine refuses what cannot be fitted', () => {
  assert.throws(() => fitLine([1], [1]), /at least 2 points/);
  assert.throws(() => fitLine([2, 2, 2], [1, 2, 3]), /every x is the same/);
  assert.throws(() => fitLine([1, 2], [1]), /2 x values but 1 y values/);
});

test('median and quantile', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 2, 3]), 2.5);
  assert.equal(quantile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.99), 10);
  assert.equal(quantile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.5), 6);
});

test('weighted: equal weights give the ordinary fit; relative weights favour the small points', () => {
  const xs = [100, 1000, 10000];
  const ys = [50, 200, 4000];
  const plain = fitLine(xs, ys);
  const same = fitLine(xs, ys, [3, 3, 3]);
  assert.ok(Math.abs(plain.slope - same.slope) < 1e-12 && Math.abs(plain.intercept - same.intercept) < 1e-9);
  assert.ok(Math.abs(plain.slopeStdErr - same.slopeStdErr) < 1e-12);
  const rel = fitLine(xs, ys, relativeWeights(ys));
  const worst = (f: { intercept: number; slope: number }) => Math.max(...xs.map((x, i) => Math.abs(f.intercept + f.slope * x - ys[i]!) / ys[i]!));
  assert.ok(worst(rel) < worst(plain), `${worst(rel)} vs ${worst(plain)}`);
  // a line is still recovered exactly, whatever the weights
  const exact = fitLine(xs, xs.map((x) => 7 + 3 * x), relativeWeights(xs.map((x) => 7 + 3 * x)));
  assert.ok(Math.abs(exact.slope - 3) < 1e-9 && Math.abs(exact.intercept - 7) < 1e-6 && Math.abs(exact.r2 - 1) < 1e-12);
  assert.throws(() => fitLine([1, 2], [1, 2], [1]), /2 points but 1 weights/);
});

test('fitLinearModel recovers y = a + b x1 + c x1 x2 exactly, with R^2 1', async () => {
  const { fitLinearModel } = await import('./fit.ts');
  const xs = [100, 250, 500, 1000, 2500, 5000, 10_000].map((n) => [19 * n + 23, (19 * n + 23) * (14 * n + 20)]);
  const ys = xs.map(([l, lr]) => 9e6 + 4000 * l! + 0.05 * lr!);
  const f = fitLinearModel(xs, ys, ys.map((y) => 1 / (y * y)));
  assert.ok(Math.abs(f.intercept / 9e6 - 1) < 1e-6, String(f.intercept));
  assert.ok(Math.abs(f.coefficients[0]! / 4000 - 1) < 1e-6);
  assert.ok(Math.abs(f.coefficients[1]! / 0.05 - 1) < 1e-6);
  assert.ok(f.r2 > 0.999999);
  assert.ok(f.residuals.every((r) => Math.abs(r) < 1e-3 * 9e6));
  assert.throws(() => fitLinearModel([[1, 2], [2, 4], [3, 6]], [1, 2, 3]), /collinear/);
  assert.throws(() => fitLinearModel([[1, 2]], [1]), /at least 3 points/);
});

test('property: fitLinearModel with one regressor agrees with fitLine', async () => {
  const { fitLinearModel, fitLine } = await import('./fit.ts');
  const fc = (await import('fast-check')).default;
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.integer({ min: 1, max: 1e6 }), fc.double({ min: -1e6, max: 1e6, noNaN: true })), { minLength: 3, maxLength: 12 }), (pts) => {
      if (new Set(pts.map((p) => p[0])).size < 2) return;
      const a = fitLine(pts.map((p) => p[0]), pts.map((p) => p[1]));
      const b = fitLinearModel(pts.map((p) => [p[0]]), pts.map((p) => p[1]));
      const close = (x: number, y: number) => Math.abs(x - y) <= 1e-6 * (1 + Math.abs(x) + Math.abs(y));
      assert.ok(close(a.slope, b.coefficients[0]!), `${a.slope} vs ${b.coefficients[0]}`);
      assert.ok(close(a.intercept, b.intercept));
    }),
  );
});

test('fitLinearModel through the origin recovers y = b k + c k ln(k / 100) exactly, intercept 0', async () => {
  const { fitLinearModel } = await import('./fit.ts');
  const ks = [100, 250, 500, 1000, 2500, 5000, 10_000];
  const xs = ks.map((k) => [k, k * Math.log(k / 100)]);
  const ys = ks.map((k) => 2.2 * k + 0.5 * k * Math.log(k / 100));
  const f = fitLinearModel(xs, ys, ys.map((y) => 1 / (y * y)), true);
  assert.equal(f.intercept, 0);
  assert.equal(f.coefficients.length, 2);
  assert.ok(Math.abs(f.coefficients[0]! / 2.2 - 1) < 1e-9, String(f.coefficients[0]));
  assert.ok(Math.abs(f.coefficients[1]! / 0.5 - 1) < 1e-9, String(f.coefficients[1]));
  assert.ok(f.r2 > 0.999999);
  // Two unknowns need two points (not three, as with an intercept).
  assert.doesNotThrow(() => fitLinearModel([[1], [2]], [1, 2], undefined, true));
  assert.throws(() => fitLinearModel([[1, 2]], [1], undefined, true), /at least 2 points/);
});

test('property: one regressor through the origin gives the closed form sum(w x y) / sum(w x^2)', async () => {
  const { fitLinearModel } = await import('./fit.ts');
  const fc = (await import('fast-check')).default;
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.integer({ min: 1, max: 1e6 }), fc.double({ min: 1, max: 1e6, noNaN: true })), { minLength: 2, maxLength: 12 }), (pts) => {
      const ys = pts.map((p) => p[1]);
      const w = ys.map((y) => 1 / (y * y));
      const f = fitLinearModel(pts.map((p) => [p[0]]), ys, w, true);
      const expected = pts.reduce((s, p, i) => s + w[i]! * p[0] * p[1], 0) / pts.reduce((s, p, i) => s + w[i]! * p[0] * p[0], 0);
      assert.ok(Math.abs(f.coefficients[0]! - expected) <= 1e-9 * Math.abs(expected), `${f.coefficients[0]} vs ${expected}`);
      assert.equal(f.intercept, 0);
    }),
  );
});
