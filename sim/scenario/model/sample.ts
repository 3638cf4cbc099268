import type { RandomStream } from '../../engine/random.ts';
import type { Distribution } from '../schema.ts';

/** z of the 99th percentile of the standard normal, to turn (median, p99) into lognormal sigma. */
const Z99 = 2.3263478740408408;

/** A draw in whole ns from a scenario distribution. Lognormal is given by its median and 99th percentile. */
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
