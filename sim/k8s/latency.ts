import { sampleNs, type Distribution } from '../engine/distribution.ts';
import type { RandomStream } from '../engine/random.ts';
import type { Nanos } from '../engine/time.ts';

/**
 * A delay for one step of the control plane (watch delivery, API write), as the API server takes it.
 * Its distribution is the project's one Distribution (engine/distribution.ts), drawn by sampleNs:
 *
 *   latency({ kind: 'constant', value: 20 * MS })
 *   latency({ kind: 'uniform', min: 5 * MS, max: 50 * MS })
 *   latency({ kind: 'exponential', mean: 20 * MS })
 *   latency({ kind: 'lognormal', median: 20 * MS, p99: 80 * MS })
 *
 * Scenario files write these in the schema's grammar (sim/scenario/schema.ts `distribution()`).
 */
export interface Latency {
  draw(rng: RandomStream): Nanos;
  /** What the delay is, for reports. */
  readonly describe: string;
}

export function latency(d: Distribution): Latency {
  return { draw: (r) => sampleNs(d, r), describe: describeDistribution(d) };
}

function describeDistribution(d: Distribution): string {
  switch (d.kind) {
    case 'constant':
      return `constant ${d.value}ns`;
    case 'exponential':
      return `exponential mean ${d.mean}ns`;
    case 'uniform':
      return `uniform ${d.min}ns..${d.max}ns`;
    case 'lognormal':
      return `lognormal median ${d.median}ns p99 ${d.p99}ns`;
  }
}

export const ZERO_LATENCY: Latency = { draw: () => 0, describe: 'constant 0s' };
