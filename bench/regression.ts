/**
 * The regression gate's decision, kept free of I/O so it can be tested with synthetic results.
 *
 * Each task is judged by its normalised ratio: change = (current.ratio / baseline.ratio), where a
 * ratio is the task's median time divided by the reference loop's, measured in the same process
 * (the median, not the mean: bench/median.ts says why). The noise of that change is the two ratios'
 * relative margins of error combined in quadrature (sqrt(rme_current^2 + rme_baseline^2), both
 * already including the reference's own and its drift).
 * When both sides give the work per call (`per`), ratios are taken per unit of that work.
 * A task fails only when it is slower beyond both the noise and the threshold:
 *
 *     change > 1 + max(threshold, noise)
 *
 * so a real 20%+ regression fails on a quiet run, and a noisy run needs a larger slowdown to fail
 * rather than failing on noise.
 *
 * A figure that was not produced is not a pass: a task (or a whole suite) that threw fails the gate,
 * and so does a baseline task the run should have produced but did not (same form as the baseline,
 * and inside the run's --filter if it had one): a broken or silently dropped benchmark would
 * otherwise hide exactly the regression it exists to catch. A task new in the run never fails (it is
 * "new" until the baseline is re-taken), nor does a baseline task outside the run's filter or form.
 *
 * A run's margin of error only says how steady the task was within that run. Between runs of the
 * same code a shared machine moves some tasks much more (memory- and allocation-heavy ones: other
 * jobs take the caches and memory bandwidth, which the arithmetic reference loop does not feel), so
 * a baseline made of several runs (bestOf) records each task's spread between them, and the noise
 * allowed is at least that spread: a task that varied 2x between identical runs cannot show a 20%
 * regression on that machine, and the table says so by its `allowed` column rather than failing.
 */
import type { BenchResults, TaskResultRecord } from './results.ts';

export const DEFAULT_THRESHOLD = 0.2;

export type Verdict = 'ok' | 'slower' | 'faster' | 'new' | 'missing' | 'not run' | 'error';

/** Verdicts that fail the gate. */
const FAILING: readonly Verdict[] = ['slower', 'missing', 'error'];

export interface TaskComparison {
  name: string;
  verdict: Verdict;
  /** current.ratio / baseline.ratio (1 = same speed, 1.25 = 25% slower). Absent for new/missing. */
  change?: number;
  /** The tolerance used for this task: max(threshold, combined rme), as a fraction. */
  allowed?: number;
  /** Combined relative margin of error of both ratios, or the baseline's spread between runs when larger, as a fraction. */
  noise?: number;
  /** For 'error': what the task threw. */
  message?: string;
}

export interface Comparison {
  tasks: TaskComparison[];
  /** True when a task is slower beyond its noise and the threshold, threw, or is missing (FAILING). */
  failed: boolean;
}

/**
 * The figure compared: the ratio per unit of work when both sides say what a call stands for in the
 * same unit (so a quick run doing fewer units per call compares with a full baseline), else per call.
 */
function comparable(baseline: TaskResultRecord, current: TaskResultRecord): [number, number] {
  if (baseline.per && current.per && baseline.per.unit === current.per.unit && baseline.per.count > 0 && current.per.count > 0) {
    return [baseline.ratio / baseline.per.count, current.ratio / current.per.count];
  }
  return [baseline.ratio, current.ratio];
}

export function compareTask(baseline: TaskResultRecord, current: TaskResultRecord, threshold: number): TaskComparison {
  const [base, cur] = comparable(baseline, current);
  const change = cur / base;
  const noise = Math.max(Math.hypot(current.ratioRme, baseline.ratioRme), baseline.runSpreadPct ?? 0) / 100;
  const allowed = Math.max(threshold, noise);
  let verdict: Verdict = 'ok';
  if (change > 1 + allowed) verdict = 'slower';
  // The same tolerance the other way, so an improvement shows up as a cue to update the baseline.
  else if (change < 1 / (1 + allowed)) verdict = 'faster';
  return { name: current.name, verdict, change, allowed, noise };
}

export function compareResults(baseline: BenchResults, current: BenchResults, threshold = DEFAULT_THRESHOLD): Comparison {
  const base = new Map(baseline.tasks.map((t) => [t.name, t]));
  const errored = new Map<string, string>();
  for (const e of current.errors ?? []) if (!errored.has(e.name)) errored.set(e.name, e.message);
  const seen = new Set<string>();
  const tasks: TaskComparison[] = [];
  for (const cur of current.tasks) {
    seen.add(cur.name);
    // Merged runs (bestOf) may hold a figure from one run and an error from another: still an error.
    if (errored.has(cur.name)) continue;
    const b = base.get(cur.name);
    tasks.push(b ? compareTask(b, cur, threshold) : { name: cur.name, verdict: 'new' });
  }
  for (const [name, message] of errored) {
    seen.add(name);
    tasks.push({ name, verdict: 'error', message });
  }
  for (const b of baseline.tasks) {
    if (seen.has(b.name)) continue;
    const expected = baseline.quick === current.quick && (current.filter === undefined || b.name.includes(current.filter));
    tasks.push({ name: b.name, verdict: expected ? 'missing' : 'not run' });
  }
  return { tasks, failed: tasks.some((t) => FAILING.includes(t.verdict)) };
}

export function comparisonTable(c: Comparison): string {
  const rows = [['task', 'change', 'allowed', 'verdict']];
  for (const t of c.tasks) {
    rows.push([
      t.name,
      t.change === undefined ? '' : `${t.change >= 1 ? '+' : ''}${((t.change - 1) * 100).toFixed(1)}%`,
      t.allowed === undefined ? '' : `±${(t.allowed * 100).toFixed(1)}%`,
      verdictText(t),
    ]);
  }
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c2, i) => (i === 1 || i === 2 ? c2.padStart(w[i]!) : c2.padEnd(w[i]!))).join('  ').trimEnd()).join('\n');
}

function verdictText(t: TaskComparison): string {
  switch (t.verdict) {
    case 'slower':
      return 'SLOWER (fails)';
    case 'error':
      return `ERROR (fails): ${(t.message ?? '').split('\n')[0]!.slice(0, 120)}`;
    case 'missing':
      return 'MISSING (fails): in the baseline, not produced by this run';
    case 'new':
      return 'new (not in baseline)';
    case 'not run':
      return 'not run (outside this run\'s filter or form)';
    default:
      return t.verdict;
  }
}

/** A task's figure per unit of work (per call when it does not say), for choosing among runs. */
function perUnitRatio(t: TaskResultRecord): number {
  return t.per && t.per.count > 0 ? t.ratio / t.per.count : t.ratio;
}

/**
 * Several runs of the same form merged into one: each task's record from the run where its ratio
 * (per unit of work) was lowest, with that run's margin of error. Other jobs on a shared machine only
 * ever slow a task down (preemption is out of CPU time, but caches, memory bandwidth and a busy
 * sibling hyperthread are not), so the fastest of a few runs is the steadier estimate: on this
 * project's 2-core machine at a load average of 13-15, two clean quick runs of the same commit
 * differed by up to 3.9x on one task and 1.5-2x on several. A real regression slows every run.
 */
export function bestOf(runs: BenchResults[], names: string[] = runs.map((_, i) => `run ${i + 1}`)): BenchResults {
  if (runs.length === 0) throw new Error('bestOf: no runs');
  const forms = new Set(runs.map((r) => r.quick));
  if (forms.size > 1) throw new Error(`${names.join(', ')}: runs of both the quick and the full form cannot be merged`);
  // A --filter run beside an unfiltered one only adds figures (a retry of the tasks that looked
  // slower, bench/gate.ts): the merge expects every task, as the unfiltered run did. Filtered runs
  // alone must share their filter, or the tasks the merge expects would be unclear.
  const filters = new Set(runs.map((r) => r.filter));
  const unfiltered = runs.find((r) => r.filter === undefined);
  if (filters.size > 1 && !unfiltered) throw new Error(`${names.join(', ')}: runs with different --filter cannot be merged`);
  if (runs.length === 1) return runs[0]!;
  const best = new Map<string, TaskResultRecord>();
  const slowest = new Map<string, number>();
  for (const r of runs) {
    for (const t of r.tasks) {
      const b = best.get(t.name);
      if (!b || perUnitRatio(t) < perUnitRatio(b)) best.set(t.name, t);
      slowest.set(t.name, Math.max(slowest.get(t.name) ?? 0, perUnitRatio(t)));
    }
  }
  for (const [name, t] of best) best.set(name, { ...t, runSpreadPct: (slowest.get(name)! / perUnitRatio(t) - 1) * 100 });
  const first = unfiltered ?? runs[0]!;
  return {
    ...first,
    runs: runs.length,
    reference: {
      name: first.reference.name,
      measurements: runs.flatMap((r) => r.reference.measurements),
      driftPct: Math.max(...runs.map((r) => r.reference.driftPct)),
    },
    tasks: [...best.values()],
    errors: runs.flatMap((r) => r.errors),
  };
}
