/** Synthetic benchmark results for the gate's tests: a task is named and given its ratio; the rest is fixed. */
import { RESULTS_SCHEMA, type BenchResults, type TaskResultRecord } from '../results.ts';

export function fakeTask(name: string, ratio: number, ratioRme = 1): TaskResultRecord {
  return { name, suite: 's', medianNs: ratio * 1000, medianRme: ratioRme, meanNs: ratio * 1000, p99Ns: ratio * 1200, rme: ratioRme, samples: 50, ratio, ratioRme };
}

export function fakeResults(tasks: TaskResultRecord[], more: Partial<BenchResults> = {}): BenchResults {
  return {
    schema: RESULTS_SCHEMA,
    quick: true,
    clock: 'process-cpu',
    host: { node: 'v20', platform: 'linux', arch: 'x64', cpus: 2, cpuModel: 'x', loadavg: [0, 0, 0] },
    startedAt: '2026-01-01T00:00:00.000Z',
    reference: { name: 'ref', measurements: [{ at: 'before s', medianNs: 1000, medianRme: 1 }], driftPct: 0 },
    tasks,
    errors: [],
    ...more,
  };
}
