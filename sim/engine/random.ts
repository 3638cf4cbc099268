import seedrandom from 'seedrandom';
import { InputError } from '../io/input-error.ts';

/**
 * Named random streams. Each stream is seeded from the string `${masterSeed}/${name}` alone, so a
 * stream's numbers depend only on the seed and its name: adding, removing or reordering other streams
 * never changes them (the property ns-3 gets from RngStream substreams, here by construction).
 *
 * The generator is seedrandom's xor4096 (Brent's xorgens, period 2^4096 - 1, passes BigCrush), seeded
 * with the stream's string. It is several times faster per draw than ARC4, seedrandom's default
 * (docs/benchmarks.md).
 */
export class RandomStream {
  private readonly next: () => number;

  constructor(
    readonly seed: string | number,
    readonly name: string,
  ) {
    this.next = seedrandom.xor4096(`${seed}/${name}`);
  }

  /** Uniform in [0, 1). */
  random(): number {
    return this.next();
  }

  /** Uniform in [lo, hi). */
  uniform(lo = 0, hi = 1): number {
    return lo + (hi - lo) * this.next();
  }

  /** Uniform integer in [lo, hi] (both ends included). */
  integer(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  /** Exponential with the given mean (inverse transform; 1 - u keeps log away from 0). */
  exponential(mean: number): number {
    return -mean * Math.log(1 - this.next());
  }

  private spare = NaN;
  /** Normal by the Marsaglia polar method; the second variate of each pair is kept for the next call. */
  normal(mean = 0, stdev = 1): number {
    if (!Number.isNaN(this.spare)) {
      const z = this.spare;
      this.spare = NaN;
      return mean + stdev * z;
    }
    let u: number, v: number, s: number;
    do {
      u = 2 * this.next() - 1;
      v = 2 * this.next() - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const f = Math.sqrt((-2 * Math.log(s)) / s);
    this.spare = v * f;
    return mean + stdev * u * f;
  }

  /** Lognormal: exp of a normal with parameters mu and sigma (of the underlying normal). */
  lognormal(mu: number, sigma: number): number {
    return Math.exp(this.normal(mu, sigma));
  }

  /** Pareto (type I) with scale xm > 0 and shape alpha > 0: heavy-tailed sizes and think times. */
  pareto(xm: number, alpha: number): number {
    return xm / Math.pow(1 - this.next(), 1 / alpha);
  }

  /** True with probability p. */
  bernoulli(p: number): boolean {
    return this.next() < p;
  }

  /** Index chosen with probability proportional to weights[i] (weights >= 0, not all zero). */
  weightedIndex(weights: readonly number[]): number {
    let total = 0;
    for (const w of weights) total += w;
    if (!(total > 0)) throw new RangeError('weightedIndex: weights must be non-negative and not all zero');
    let x = this.next() * total;
    for (let i = 0; i < weights.length; i++) {
      x -= weights[i]!;
      if (x < 0) return i;
    }
    // Floating-point slack: fall back to the last item with positive weight.
    for (let i = weights.length - 1; i >= 0; i--) if (weights[i]! > 0) return i;
    return weights.length - 1;
  }

  /** An item chosen with probability proportional to its weight. */
  weightedChoice<T>(items: readonly T[], weights: readonly number[]): T {
    if (items.length !== weights.length) throw new RangeError('weightedChoice: items and weights differ in length');
    return items[this.weightedIndex(weights)]!;
  }

  /** One item chosen uniformly. */
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }
}

/**
 * The set of streams of one run. `get(name)` returns the same stream object for the same name, so
 * components can ask for their stream lazily without affecting anyone else's numbers.
 */
export class RandomStreams {
  private readonly streams = new Map<string, RandomStream>();
  constructor(readonly seed: string | number) {
    if (typeof seed === 'number' && !Number.isFinite(seed)) throw new InputError('seed', 'a finite number', String(seed));
  }
  get(name: string): RandomStream {
    let s = this.streams.get(name);
    if (!s) {
      s = new RandomStream(this.seed, name);
      this.streams.set(name, s);
    }
    return s;
  }
  /** Names of the streams used so far, sorted: reported in summary.json so a run can be audited. */
  names(): string[] {
    return [...this.streams.keys()].sort();
  }
}
