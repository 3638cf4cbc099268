import { z } from 'zod';
import type { RandomStream } from '../engine/random.ts';
import { parseDuration, type Nanos } from '../engine/time.ts';

/**
 * A delay distribution for one step of the control plane (watch delivery, API write, pod startup...),
 * written in scenario files with duration strings:
 *
 *   { constant: 20ms }
 *   { uniform: [5ms, 50ms] }
 *   { exponential: 20ms }                      # mean
 *   { lognormal: { median: 20ms, p99: 80ms } } # the two figures SLO documents state
 *
 * each optionally with `min: 1ms` added (a floor: the fixed part of the delay).
 */
export type LatencySpec =
  | { constant: string; min?: string }
  | { uniform: [string, string]; min?: string }
  | { exponential: string; min?: string }
  | { lognormal: { median: string; p99: string }; min?: string };

const dur = z.string({ error: 'a duration such as "20ms"' });
export const latencySpecSchema = z.union(
  [
    z.strictObject({ constant: dur, min: dur.optional() }),
    z.strictObject({ uniform: z.tuple([dur, dur]), min: dur.optional() }),
    z.strictObject({ exponential: dur, min: dur.optional() }),
    z.strictObject({ lognormal: z.strictObject({ median: dur, p99: dur }), min: dur.optional() }),
  ],
  { error: 'one of {constant: D}, {uniform: [D, D]}, {exponential: MEAN}, {lognormal: {median: D, p99: D}} (D a duration such as "20ms")' },
);

/** A compiled distribution: draws integer nanoseconds from a stream. */
export interface Latency {
  draw(rng: RandomStream): Nanos;
  /** The spec's text, for reports. */
  readonly describe: string;
}

// z(0.99) of the standard normal: the lognormal's sigma is ln(p99/median) / 2.326.
const Z99 = 2.3263478740408408;

export function latency(spec: LatencySpec, where = 'latency'): Latency {
  const floor = spec.min !== undefined ? parseDuration(spec.min, `${where}.min`) : 0;
  if ('constant' in spec) {
    const v = parseDuration(spec.constant, `${where}.constant`) + floor;
    return { draw: () => v, describe: `constant ${spec.constant}` };
  }
  if ('uniform' in spec) {
    const lo = parseDuration(spec.uniform[0], `${where}.uniform[0]`);
    const hi = parseDuration(spec.uniform[1], `${where}.uniform[1]`);
    return { draw: (r) => floor + Math.round(r.uniform(lo, hi)), describe: `uniform ${spec.uniform[0]}..${spec.uniform[1]}` };
  }
  if ('exponential' in spec) {
    const mean = parseDuration(spec.exponential, `${where}.exponential`);
    return { draw: (r) => floor + Math.round(r.exponential(mean)), describe: `exponential mean ${spec.exponential}` };
  }
  const median = parseDuration(spec.lognormal.median, `${where}.lognormal.median`);
  const p99 = parseDuration(spec.lognormal.p99, `${where}.lognormal.p99`);
  const mu = Math.log(Math.max(1, median));
  const sigma = p99 > median ? Math.log(p99 / median) / Z99 : 0;
  return { draw: (r) => floor + Math.round(r.lognormal(mu, sigma)), describe: `lognormal median ${spec.lognormal.median} p99 ${spec.lognormal.p99}` };
}

export const ZERO_LATENCY: Latency = { draw: () => 0, describe: 'constant 0s' };
