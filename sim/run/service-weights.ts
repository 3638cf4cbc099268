import type { RandomStream } from '../engine/random.ts';

/**
 * Traffic weights over the run's service ports (`traffic.services` of a study): a connection goes
 * to port i with probability weights[i] / sum. One uniform draw per connection, found by binary
 * search in the cumulative weights; ports of weight 0 are never picked.
 */
export class WeightedPorts {
  private readonly cumulative: Float64Array;
  private readonly total: number;

  constructor(weights: readonly number[]) {
    this.cumulative = new Float64Array(weights.length);
    let sum = 0;
    weights.forEach((w, i) => (this.cumulative[i] = sum += w));
    if (!(sum > 0)) throw new RangeError('WeightedPorts: weights must sum to more than 0');
    this.total = sum;
  }

  /** The index of the first port whose cumulative weight exceeds a uniform draw in [0, total). */
  pick(rng: RandomStream): number {
    const u = rng.random() * this.total;
    let lo = 0;
    let hi = this.cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.cumulative[mid]! > u) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}
