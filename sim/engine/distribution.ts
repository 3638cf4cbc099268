import type { Nanos } from './time.ts';
import type { RandomStream } from './random.ts';

/**
 * A distribution of durations: constant, exponential (by its mean), lognormal (by its median and
 * 99th percentile, the two numbers an operator reads off a latency histogram) or uniform.
 */
export type Distribution =
  | { kind: 'constant'; value: Nanos }
  | { kind: 'exponential'; mean: Nanos }
  | { kind: 'lognormal'; median: Nanos; p99: Nanos }
  | { kind: 'uniform'; min: Nanos; max: Nanos };

/** z of the 99th percentile of the standard normal, to turn (median, p99) into lognormal sigma. */
export const Z99 = 2.3263478740408408;

/** A draw in whole ns. */
export function sampleNs(d: Distribution, rng: RandomStream): number {
  switch (d.kind) {
    case 'constant':
      return d.value;
    case 'exponential':
      return Math.round(rng.exponential(d.mean));
    case 'uniform':
      return Math.round(rng.uniform(d.min, d.max));
    case 'lognormal': {
      const mu = Math.log(Math.max(1, d.median));
      const sigma = Math.max(0, (Math.log(Math.max(1, d.p99)) - mu) / Z99);
      return Math.round(rng.lognormal(mu, sigma));
    }
  }
}
