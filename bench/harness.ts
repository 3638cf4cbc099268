/**
 * The benchmark run: loads the suites, times every task with tinybench, and measures the reference
 * loop before the first suite, between suites and after the last, so each suite is bracketed by two
 * reference measurements. A task's ratio is its median over the mean of its bracket's two medians;
 * the ratio's margin of error combines the task's median rme, the reference's and half the bracket's
 * spread (the machine's drift while the suite ran), in quadrature.
 */
import { cpus, loadavg } from 'node:os';
import { loadSuite, type LoadedSuite } from './discover.ts';
import { CLOCK, timeFunction, type Timing, type TimingProfile } from './measure.ts';
import { REFERENCE_NAME, referenceWorkload } from './reference.ts';
import { RESULTS_SCHEMA, type BenchResults, type ReferenceRecord, type TaskResultRecord } from './results.ts';
import type { BenchTask } from './suite.ts';

export interface HarnessOptions {
  files: string[];
  quick: boolean;
  filter?: string;
  profile: TimingProfile;
  /** Progress lines (suite and task names) go here; the table is printed by the caller. */
  log: (line: string) => void;
}

interface PendingTask {
  suite: string;
  task: BenchTask;
  timing: Timing;
  figures?: Record<string, number>;
}

export async function runHarness(opts: HarnessOptions): Promise<BenchResults> {
  const startedAt = new Date().toISOString();
  const suites: { loaded: LoadedSuite; tasks: BenchTask[] }[] = [];
  const errors: BenchResults['errors'] = [];
  for (const file of opts.files) {
    // A suite that does not load or list its tasks is reported as an error of that suite; the
    // others still run, so one broken file does not hide every other figure.
    try {
      const loaded = await loadSuite(file);
      const tasks = loaded.suite.tasks({ quick: opts.quick }).filter((t) => !opts.filter || t.name.includes(opts.filter));
      if (tasks.length) suites.push({ loaded, tasks });
    } catch (e) {
      errors.push({ name: `suite ${file}`, message: e instanceof Error ? e.message : String(e) });
      opts.log(`suite ${file}: ERROR ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  const refs: ReferenceRecord[] = [];
  const measureReference = async (at: string) => {
    const t = await timeFunction(REFERENCE_NAME, referenceWorkload, opts.profile);
    refs.push({ at, medianNs: t.medianNs, medianRme: t.medianRme });
    opts.log(`reference ${at}: ${(t.medianNs / 1e3).toFixed(1)} us ±${t.medianRme.toFixed(1)}%`);
  };

  const bySuite: PendingTask[][] = [];
  for (const { loaded, tasks } of suites) {
    await measureReference(`before ${loaded.suite.name}`);
    const done: PendingTask[] = [];
    for (const task of tasks) {
      opts.log(`${task.name} ...`);
      try {
        await task.beforeAll?.();
        const timing = await timeFunction(task.name, task.fn, opts.profile);
        done.push({ suite: loaded.suite.name, task, timing, figures: task.figures?.() });
      } catch (e) {
        errors.push({ name: task.name, message: e instanceof Error ? e.message : String(e) });
        opts.log(`${task.name}: ERROR ${e instanceof Error ? e.message : String(e)}`);
      } finally {
        await task.afterAll?.();
      }
    }
    bySuite.push(done);
  }
  await measureReference('after all');

  const tasks: TaskResultRecord[] = [];
  bySuite.forEach((done, i) => {
    const before = refs[i]!;
    const after = refs[i + 1]!;
    const refNs = (before.medianNs + after.medianNs) / 2;
    const halfSpreadPct = (Math.abs(before.medianNs - after.medianNs) / refNs) * 50;
    const refRme = Math.hypot((before.medianRme + after.medianRme) / 2, halfSpreadPct);
    for (const p of done) tasks.push(taskRecord(p, refNs, refRme));
  });

  const medians = refs.map((r) => r.medianNs);
  const meanOfRefs = medians.reduce((a, b) => a + b, 0) / medians.length;
  const cpu = cpus();
  return {
    schema: RESULTS_SCHEMA,
    quick: opts.quick,
    clock: CLOCK,
    host: {
      node: process.version,
      platform: process.platform,
      arch: process.arch,
      cpus: cpu.length,
      cpuModel: cpu[0]?.model ?? 'unknown',
      loadavg: loadavg().map((l) => Math.round(l * 100) / 100),
    },
    startedAt,
    ...(opts.filter ? { filter: opts.filter } : {}),
    reference: {
      name: REFERENCE_NAME,
      measurements: refs,
      driftPct: ((Math.max(...medians) - Math.min(...medians)) / meanOfRefs) * 100,
    },
    tasks,
    errors,
  };
}

function taskRecord(p: PendingTask, refNs: number, refRme: number): TaskResultRecord {
  const rec: TaskResultRecord = {
    name: p.task.name,
    suite: p.suite,
    medianNs: p.timing.medianNs,
    medianRme: p.timing.medianRme,
    meanNs: p.timing.meanNs,
    p99Ns: p.timing.p99Ns,
    rme: p.timing.rme,
    samples: p.timing.samples,
    ratio: p.timing.medianNs / refNs,
    ratioRme: Math.hypot(p.timing.medianRme, refRme),
  };
  if (p.task.per) {
    rec.per = p.task.per;
    rec.perUnitNs = p.timing.medianNs / p.task.per.count;
  }
  if (p.figures) rec.figures = p.figures;
  return rec;
}
