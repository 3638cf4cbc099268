/**
 * Ordinary least squares of y = intercept + slope * x, with the coefficient of determination and
 * the residuals, so a calibration says how well the CostModel's linear form describes the kernel.
 */
export interface LinearFit {
  intercept: number;
  slope: number;
  /** 1 - SS_res / SS_tot; 1 when the points lie on the line. NaN when every y is equal and off the line is impossible to judge. */
  r2: number;
  /** y - (intercept + slope * x), in the order of the points. */
  residuals: number[];
  /** Standard error of the slope (NaN with fewer than 3 points). */
  slopeStdErr: number;
  n: number;
}

/**
 * Least squares, optionally weighted: minimises sum w_i (y_i - a - b x_i)^2. With w_i = 1 / y_i^2
 * (relativeWeights) it minimises the squared relative errors, the right choice when the sizes span
 * decades and the question is "within what percent": ordinary least squares would let the largest
 * point set the line and leave the small sizes far off in relative terms. R^2 is the weighted one
 * (1 - weighted SS_res / weighted SS_tot); residuals are plain y - fit.
 */
export function fitLine(xs: readonly number[], ys: readonly number[], weights?: readonly number[]): LinearFit {
  const n = xs.length;
  if (n !== ys.length) throw new Error(`fitLine: ${n} x values but ${ys.length} y values`);
  if (weights && weights.length !== n) throw new Error(`fitLine: ${n} points but ${weights.length} weights`);
  if (n < 2) throw new Error(`fitLine: need at least 2 points, found ${n}`);
  const w = weights ?? xs.map(() => 1);
  const sw = w.reduce((a, b) => a + b, 0);
  const mx = xs.reduce((a, x, i) => a + w[i]! * x, 0) / sw;
  const my = ys.reduce((a, y, i) => a + w[i]! * y, 0) / sw;
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = xs[i]! - mx;
    const dy = ys[i]! - my;
    sxx += w[i]! * dx * dx;
    sxy += w[i]! * dx * dy;
    syy += w[i]! * dy * dy;
  }
  if (sxx === 0) throw new Error('fitLine: every x is the same; a slope cannot be fitted');
  const slope = sxy / sxx;
  const intercept = my - slope * mx;
  const residuals = xs.map((x, i) => ys[i]! - (intercept + slope * x));
  const ssRes = residuals.reduce((a, r, i) => a + w[i]! * r * r, 0);
  const r2 = syy === 0 ? (ssRes === 0 ? 1 : Number.NaN) : 1 - ssRes / syy;
  // Weights read as relative precisions, the scale taken from the residuals: var(slope) = s^2 / Sxx.
  const slopeStdErr = n > 2 ? Math.sqrt(ssRes / (n - 2) / sxx) : Number.NaN;
  return { intercept, slope, r2, residuals, slopeStdErr, n };
}

/** Weights 1 / y^2: least squares of the relative error. */
export function relativeWeights(ys: readonly number[]): number[] {
  return ys.map((y) => (y === 0 ? 0 : 1 / (y * y)));
}

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of no values');
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) throw new Error('quantile of no values');
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

/** A least-squares fit of y = intercept + sum_j coefficients[j] * x_j. */
export interface MultiFit {
  /** 0 when fitted through the origin. */
  intercept: number;
  coefficients: number[];
  /** Weighted R^2, as fitLine's. */
  r2: number;
  /** y - fit, in the order of the points. */
  residuals: number[];
  /** Standard error of each coefficient (NaN with no degrees of freedom left). */
  stdErrs: number[];
  n: number;
}

/**
 * Weighted least squares with an intercept and several regressors (rows of `xs` are points), solved
 * through the normal equations by Gaussian elimination with partial pivoting: the systems here have
 * 2-3 unknowns, with each column scaled to unit size first so a regressor of 1e10 (lines x rules)
 * beside one of 1e5 (lines) stays well conditioned. `throughOrigin` fits without the intercept, for
 * quantities that are 0 by construction when every x is (a differential measurement).
 */
export function fitLinearModel(xs: readonly (readonly number[])[], ys: readonly number[], weights?: readonly number[], throughOrigin = false): MultiFit {
  const n = xs.length;
  if (n !== ys.length) throw new Error(`fitLinearModel: ${n} rows of x but ${ys.length} y values`);
  const lead = throughOrigin ? 0 : 1;
  const p = (xs[0]?.length ?? 0) + lead;
  if (n < p) throw new Error(`fitLinearModel: need at least ${p} points for ${p} unknowns, found ${n}`);
  const w = weights ?? ys.map(() => 1);
  const rows = xs.map((r) => (throughOrigin ? [...r] : [1, ...r]));
  const scale = Array.from({ length: p }, (_, j) => Math.max(...rows.map((r) => Math.abs(r[j]!))) || 1);
  const a = Array.from({ length: p }, () => new Array<number>(p + 1).fill(0));
  for (let i = 0; i < n; i++) {
    const r = rows[i]!.map((v, j) => v / scale[j]!);
    for (let j = 0; j < p; j++) {
      for (let k = 0; k < p; k++) a[j]![k]! += w[i]! * r[j]! * r[k]!;
      a[j]![p]! += w[i]! * r[j]! * ys[i]!;
    }
  }
  const inv = invert(a.map((r) => r.slice(0, p)));
  const beta = inv.map((r) => r.reduce((s, v, k) => s + v * a[k]![p]!, 0));
  const coef = beta.map((b, j) => b / scale[j]!);
  const residuals = rows.map((r, i) => ys[i]! - r.reduce((s, v, j) => s + v * coef[j]!, 0));
  const sw = w.reduce((s, v) => s + v, 0);
  const my = ys.reduce((s, y, i) => s + w[i]! * y, 0) / sw;
  const ssTot = ys.reduce((s, y, i) => s + w[i]! * (y - my) ** 2, 0);
  const ssRes = residuals.reduce((s, e, i) => s + w[i]! * e * e, 0);
  const dof = n - p;
  const s2 = dof > 0 ? ssRes / dof : Number.NaN;
  const stdErrs = coef.map((_, j) => Math.sqrt(s2 * inv[j]![j]!) / scale[j]!);
  // R^2 against the weighted mean, with or without an intercept, so the two kinds of fit compare.
  return {
    intercept: throughOrigin ? 0 : coef[0]!,
    coefficients: coef.slice(lead),
    r2: ssTot === 0 ? (ssRes === 0 ? 1 : Number.NaN) : 1 - ssRes / ssTot,
    residuals,
    stdErrs: stdErrs.slice(lead),
    n,
  };
}

function invert(m: number[][]): number[][] {
  const p = m.length;
  const a = m.map((r, i) => [...r, ...Array.from({ length: p }, (_, j) => (i === j ? 1 : 0))]);
  for (let c = 0; c < p; c++) {
    let piv = c;
    for (let r = c + 1; r < p; r++) if (Math.abs(a[r]![c]!) > Math.abs(a[piv]![c]!)) piv = r;
    if (Math.abs(a[piv]![c]!) < 1e-300) throw new Error('fitLinearModel: the regressors are collinear; the coefficients cannot be told apart');
    [a[c], a[piv]] = [a[piv]!, a[c]!];
    const d = a[c]![c]!;
    for (let k = 0; k < 2 * p; k++) a[c]![k]! /= d;
    for (let r = 0; r < p; r++) {
      if (r === c) continue;
      const f = a[r]![c]!;
      if (f !== 0) for (let k = 0; k < 2 * p; k++) a[r]![k]! -= f * a[c]![k]!;
    }
  }
  return a.map((r) => r.slice(p));
}
