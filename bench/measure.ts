/**
 * Times one function with tinybench and returns the statistics the harness records, in nanoseconds.
 * One Bench per task: a task's beforeAll may build large structures (100k-service rule sets), so
 * tasks are built, timed and released one at a time.
 */
import { Bench } from 'tinybench';

export interface TimingProfile {
  /** Minimum time spent in measured iterations, ms, and minimum iterations (tinybench: time, iterations). */
  timeMs: number;
  iterations: number;
  warmupMs: number;
  warmupIterations: number;
}

/** The full form takes about a second per task; --quick (CI) a fifth of that. */
export const FULL_PROFILE: TimingProfile = { timeMs: 1000, iterations: 10, warmupMs: 200, warmupIterations: 5 };
export const QUICK_PROFILE: TimingProfile = { timeMs: 200, iterations: 5, warmupMs: 50, warmupIterations: 2 };

export interface Timing {
  meanNs: number;
  p99Ns: number;
  /** Relative margin of error of the mean, percent. */
  rme: number;
  samples: number;
}

export async function timeFunction(name: string, fn: () => void | Promise<void>, profile: TimingProfile): Promise<Timing> {
  const bench = new Bench({
    time: profile.timeMs,
    iterations: profile.iterations,
    warmupTime: profile.warmupMs,
    warmupIterations: profile.warmupIterations,
    throws: true,
  });
  bench.add(name, fn);
  await bench.run();
  const result = bench.tasks[0]!.result;
  if (result.state !== 'completed') {
    throw new Error(`${name}: tinybench finished in state ${result.state}${'error' in result ? `: ${String(result.error)}` : ''}`);
  }
  const ms = result.latency;
  return { meanNs: ms.mean * 1e6, p99Ns: ms.p99 * 1e6, rme: ms.rme, samples: ms.samplesCount };
}
