import type { Nanos } from './time.ts';
import type { RandomStream } from './random.ts';

/**
 * A distribution of durations: constant, exponential (by its mean), lognormal (by its median and
 * 99th percentile, the two numbers an operator reads off a latency histogram) or uniform.
 *
 * The project's one distribution type and its one sampler. Users write it in scenario files in the
 * schema's grammar (sim/scenario/schema.ts `distribution()`: "5ms", { constant }, { exponential:
 * { mean } }, { lognormal: { median, p99 } }, { uniform: { min, max } }), which resolves to this;
 * the run model, the programming probe, traffic, and the control plane's delays (k8s/latency.ts,
 * k8s/control-plane.ts) all draw through sampleNs.
 */
export type Distribution =
  | { kind: 'constant'; value: Nanos }
  | { kind: 'exponential'; mean: Nanos }
  | { kind: 'lognormal'; median: Nanos; p99: Nanos }
  | { kind: 'uniform'; min: Nanos; max: Nanos };

/** z of the 99th percentile of the standard normal, to turn (median, p99) into lognormal sigma. */
export const Z99 = 2.3263478740408408;

/**
 * A draw in whole ns: one call on `rng` for every kind but constant (none).
 *
 * Lognormal sigma is (ln p99 - ln median) / Z99, in that form: every run's draws depend on its last
 * bits (ln(p99 / median) differs in the last place for 5ms/50ms).
 */
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

/** `d` as a sampler `(rng) => ns` (the control plane's delays take these). */
export function samplerOf(d: Distribution): (rng: RandomStream) => Nanos {
  if (d.kind !== 'lognormal') return (rng) => sampleNs(d, rng);
  // The same mu and sigma sampleNs computes, once: a watch draws once per event per node.
  const mu = Math.log(Math.max(1, d.median));
  const sigma = Math.max(0, (Math.log(Math.max(1, d.p99)) - mu) / Z99);
  return (rng) => Math.round(rng.lognormal(mu, sigma));
}
