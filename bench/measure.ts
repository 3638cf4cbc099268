/**
 * Times one function with tinybench and returns the statistics the harness records, in nanoseconds.
 * One Bench per task: a task's beforeAll may build large structures (100k-service rule sets), so
 * tasks are built, timed and released one at a time.
 *
 * The clock is the process's CPU time (user + system, process.cpuUsage), not the wall clock. On a
 * machine shared by other jobs a wall-clock sample also counts the time the process sat preempted,
 * which made the reference loop's margin of error ten times larger (docs/benchmarks.md). CPU
 * time still moves with the machine (caches and memory bandwidth are shared), which is what the
 * reference loop's ratio takes out. Every suite is synchronous work, so no waiting goes uncounted;
 * the clock includes V8's helper threads (concurrent GC), which is work the task causes. A task
 * that runs a command in a child process (the start-up tasks, bench/startup.bench.ts) adds the
 * child's CPU time, as the child reports it, with chargeChildCpu: the parent only waits meanwhile.
 */
import { Bench } from 'tinybench';
import { medianWithInterval } from './median.ts';

/** The clock every figure of a run is measured with, recorded in the results file. */
export const CLOCK = 'process-cpu';

let childCpuMs = 0;

/** Counts CPU time a child process used for the task (ms) into processCpuMs. */
export function chargeChildCpu(ms: number): void {
  childCpuMs += ms;
}

/**
 * Milliseconds of CPU time this process has used (microsecond resolution), with what child
 * processes were charged for (chargeChildCpu): tinybench's `now`.
 */
export function processCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e3 + childCpuMs;
}

export interface TimingProfile {
  /** Minimum time spent in measured iterations, ms, and minimum iterations (tinybench: time, iterations). */
  timeMs: number;
  iterations: number;
  warmupMs: number;
  warmupIterations: number;
}

/**
 * The full form takes about a second of CPU time per task; --quick (CI) a fifth of that. The minimum
 * iterations are for the slow tasks (30 ms to 2 s a call): the median's interval needs samples to be
 * narrower than the whole range, which it is for 5 samples (bench/median.ts). With 15 it spans the
 * 3rd to the 13th, with 20 the 5th to the 16th.
 */
export const FULL_PROFILE: TimingProfile = { timeMs: 1000, iterations: 20, warmupMs: 200, warmupIterations: 5 };
export const QUICK_PROFILE: TimingProfile = { timeMs: 200, iterations: 15, warmupMs: 50, warmupIterations: 2 };

export interface Timing {
  /** The median of the samples and its margin of error (bench/median.ts): what the gate judges. */
  medianNs: number;
  medianRme: number;
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
    now: processCpuMs,
    retainSamples: true,
    throws: true,
  });
  bench.add(name, fn);
  await bench.run();
  const result = bench.tasks[0]!.result;
  if (result.state !== 'completed') {
    throw new Error(`${name}: tinybench finished in state ${result.state}${'error' in result ? `: ${String(result.error)}` : ''}`);
  }
  const ms = result.latency;
  if (!ms.samples?.length) throw new Error(`${name}: tinybench kept no samples`);
  const m = medianWithInterval(ms.samples);
  return { medianNs: m.median * 1e6, medianRme: m.rme, meanNs: ms.mean * 1e6, p99Ns: ms.p99 * 1e6, rme: ms.rme, samples: ms.samplesCount };
}
