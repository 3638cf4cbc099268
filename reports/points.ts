import type { ParamValue, RunRow, SweepPoint } from './types.ts';

/**
 * Sweep points in a fixed order, whatever order the runs finished in (`--jobs` must not change the
 * outputs): the first declared parameter varies slowest, and each parameter's values keep the
 * order the scenario lists them in.
 */

export type Sweep = Record<string, ParamValue[]>;

/** Parameter names in sweep order, then any other names seen in points, sorted. */
export function parameterNames(sweep: Sweep, points: Iterable<SweepPoint> = []): string[] {
  const names = Object.keys(sweep);
  const extra = new Set<string>();
  for (const p of points) for (const k of Object.keys(p)) if (!(k in sweep)) extra.add(k);
  return [...names, ...[...extra].sort(byCodeUnit)];
}

/** `mode=iptables,services=100`: identifies a point in tables, selectors and compare. */
export function pointKey(point: SweepPoint, names: readonly string[]): string {
  return names
    .filter((n) => n in point)
    .map((n) => `${n}=${point[n]}`)
    .join(',');
}

/** A point for people: `mode=iptables services=100`, or `(single point)` for a sweep-less study. */
export function pointLabel(point: SweepPoint, names: readonly string[]): string {
  const key = pointKey(point, names);
  return key === '' ? '(single point)' : key.replaceAll(',', ' ');
}

/** The same point with its keys in sweep order, so JSON output does not depend on how it was built. */
export function orderedPoint(point: SweepPoint, names: readonly string[]): SweepPoint {
  const out: SweepPoint = {};
  for (const n of names) if (n in point) out[n] = point[n]!;
  return out;
}

export function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function valueRank(values: readonly ParamValue[] | undefined, v: ParamValue | undefined): number {
  if (v === undefined) return -1;
  const i = values ? values.findIndex((x) => String(x) === String(v)) : -1;
  return i < 0 ? Number.MAX_SAFE_INTEGER : i;
}

export function comparePoints(sweep: Sweep, names: readonly string[]): (a: SweepPoint, b: SweepPoint) => number {
  return (a, b) => {
    for (const n of names) {
      const d = valueRank(sweep[n], a[n]) - valueRank(sweep[n], b[n]);
      if (d !== 0) return d;
      if (a[n] !== undefined && b[n] !== undefined && String(a[n]) !== String(b[n])) return byCodeUnit(String(a[n]), String(b[n]));
    }
    return 0;
  };
}

export interface PointGroup<R> {
  point: SweepPoint;
  key: string;
  rows: R[];
}

/**
 * Groups rows by point, points in sweep order and rows within a point by replication (then by
 * `tiebreak`, for rows that share a replication such as time series).
 */
export function groupByPoint<R extends { point: SweepPoint; replication: number }>(
  rows: readonly R[],
  sweep: Sweep,
  tiebreak?: (a: R, b: R) => number,
): { names: string[]; groups: PointGroup<R>[] } {
  const names = parameterNames(
    sweep,
    rows.map((r) => r.point),
  );
  const byKey = new Map<string, PointGroup<R>>();
  for (const r of rows) {
    const key = pointKey(r.point, names);
    let g = byKey.get(key);
    if (!g) byKey.set(key, (g = { point: orderedPoint(r.point, names), key, rows: [] }));
    g.rows.push(r);
  }
  const cmp = comparePoints(sweep, names);
  const groups = [...byKey.values()].sort((a, b) => cmp(a.point, b.point));
  for (const g of groups) g.rows.sort((a, b) => a.replication - b.replication || (tiebreak ? tiebreak(a, b) : 0));
  return { names, groups };
}

/** Every point of the grid, in order (first parameter slowest). */
export function gridPoints(sweep: Sweep): SweepPoint[] {
  let points: SweepPoint[] = [{}];
  for (const [name, values] of Object.entries(sweep)) {
    const next: SweepPoint[] = [];
    for (const p of points) for (const v of values) next.push({ ...p, [name]: v });
    points = next;
  }
  return points;
}

export type RunGroups = ReturnType<typeof groupByPoint<RunRow>>;
