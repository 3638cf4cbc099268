import { createHash } from 'node:crypto';
import type { SweepValue } from './schema.ts';

/**
 * Sweep expansion: the grid of parameter values times replications, and each run's seed.
 *
 * Grid order: the cartesian product in the order the parameters are declared, the first parameter
 * varying slowest (like nested loops written in the file's order), values in their listed order.
 * Runs are numbered point by point, replications innermost: run = point * replications + replication.
 *
 * Seed rule (documented because results depend on it): a run's seed is the first 48 bits, read as a
 * big-endian integer, of SHA-256 over the text
 *     "svcsim/run-seed/v1\n" + masterSeed + "\n" + canonical(point) + "\n" + replication
 * where canonical(point) is the JSON of the point's parameters sorted by name. So a run's seed depends
 * only on the master seed, its parameter values and its replication index: adding a value to a sweep,
 * reordering parameters or changing --jobs never changes the numbers of another run, and replications
 * of a point are independent streams. 48 bits keep the seed an exact JS integer.
 */
export type SweepPoint = Record<string, SweepValue>;

export interface RunSpec {
  /** Position in the run list; outputs are ordered by it. */
  index: number;
  /** Position of the sweep point in the grid. */
  pointIndex: number;
  point: SweepPoint;
  replication: number;
  seed: number;
}

/** Cartesian product of the parameters, first declared varying slowest. No parameters: one empty point. */
export function expandGrid(params: readonly (readonly [string, readonly SweepValue[]])[]): SweepPoint[] {
  let points: SweepPoint[] = [{}];
  for (const [name, values] of params) {
    const next: SweepPoint[] = [];
    for (const p of points) for (const v of values) next.push({ ...p, [name]: v });
    points = next;
  }
  return points;
}

export function canonicalPoint(point: SweepPoint): string {
  const sorted: SweepPoint = {};
  for (const k of Object.keys(point).sort()) sorted[k] = point[k]!;
  return JSON.stringify(sorted);
}

export function runSeed(masterSeed: number, point: SweepPoint, replication: number): number {
  const digest = createHash('sha256')
    .update(`svcsim/run-seed/v1\n${masterSeed}\n${canonicalPoint(point)}\n${replication}`)
    .digest();
  return digest.readUIntBE(0, 6);
}

/** Every run of the study, in output order. */
export function planRuns(points: readonly SweepPoint[], replications: number, masterSeed: number): RunSpec[] {
  const runs: RunSpec[] = [];
  points.forEach((point, pointIndex) => {
    for (let replication = 0; replication < replications; replication++) {
      runs.push({ index: runs.length, pointIndex, point, replication, seed: runSeed(masterSeed, point, replication) });
    }
  });
  return runs;
}
