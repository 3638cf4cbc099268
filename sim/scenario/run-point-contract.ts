import type { ResolvedScenario } from './schema.ts';
import type { SweepPoint } from './sweep.ts';

/**
 * The contract between the runner and the simulation model (sim/scenario/run-point.ts, which
 * exports `runPoint` of type RunPoint).
 *
 * The runner calls runPoint once per run, in a worker thread, with one sweep point of the scenario:
 * parameters substituted, defaults applied, durations in integer nanoseconds, costs a complete
 * CostModel. The model builds the cluster, kube-proxy, data plane and traffic from `scenario`, seeds
 * every random stream from `seed` (a 48-bit integer: `new Simulator({ seed })`), simulates
 * `scenario.duration` (excluding `scenario.warmup` from its metrics) and returns plain data.
 *
 * Rules the runner relies on:
 * - Deterministic: the same input gives the same output, bit for bit (no wall clock, no Math.random),
 *   so results do not depend on --jobs or on which worker ran the point.
 * - Synchronous and self-contained: no shared state between calls (a worker runs many points).
 * - `metrics` are flat names to numbers, in the units the name implies: durations in nanoseconds
 *   (`firstPacketLatency.p99`), counts, rates as fractions (`failedConnections.rate` in [0, 1]).
 *   A metric a run could not measure is NaN, not absent, so every run has the same columns.
 *   These names are what `charts[].y` and `expect:` lines refer to.
 * - `timeseries` holds one row per (bucket start t in ns, series name), buckets of
 *   `scenario.metrics.interval` from 0 to duration; series are names like `failedConnections`.
 * - `notes` are short sentences the report shows under the run (e.g. a model assumption in effect).
 * - A user's mistake found only when running (a manifest that does not parse) is an InputError;
 *   anything else thrown is a bug and fails the whole study.
 */
export interface RunPointInput {
  scenario: ResolvedScenario;
  /** The sweep parameters of this point, e.g. { mode: 'ipvs', services: 1000 }. */
  point: SweepPoint;
  /** 0-based replication index. */
  replication: number;
  /** The run's seed, derived by sim/scenario/sweep.ts runSeed from the master seed, point and replication. */
  seed: number;
}

export interface TimeseriesRow {
  /** Start of the bucket, simulated ns. */
  t: number;
  series: string;
  value: number;
}

export interface RunPointResult {
  metrics: Record<string, number>;
  timeseries: TimeseriesRow[];
  notes?: string[];
}

export type RunPoint = (input: RunPointInput) => RunPointResult;

/** Where the runner looks for the model, relative to this file. */
export const MODEL_MODULE = './run-point.ts';
/** The model module as the pool's workers import it. */
export const MODEL_URL = new URL(MODEL_MODULE, import.meta.url).href;
