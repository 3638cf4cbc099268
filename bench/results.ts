/**
 * The shape of out/bench/results.json (written by bench/run.ts) and bench/baseline.json (the same
 * file, committed on purpose with `npm run bench:check -- --update`).
 */
/**
 * 2: ratios are of medians (bench/median.ts), not of means. A schema-1 file (means) cannot be
 * compared with one of schema 2, so parseResults refuses it and says to re-take the baseline.
 */
export const RESULTS_SCHEMA = 2;

export interface TaskResultRecord {
  /** Stable task name from the suite; the baseline is keyed by it. */
  name: string;
  suite: string;
  /**
   * Median of one call of the task's fn, in nanoseconds, and its relative margin of error, percent
   * (half the distribution-free 95% interval / median, bench/median.ts): the figure the gate judges.
   */
  medianNs: number;
  medianRme: number;
  /** Mean and 99th percentile, nanoseconds, and the mean's relative margin of error, percent: shown, not judged. */
  meanNs: number;
  p99Ns: number;
  rme: number;
  samples: number;
  /** What one call stands for, and the median time per unit (medianNs / count). */
  per?: { unit: string; count: number };
  perUnitNs?: number;
  /** Figures of the simulated system the task reported (rules visited, events...). */
  figures?: Record<string, number>;
  /** medianNs divided by the reference loop's median measured around this task's suite. */
  ratio: number;
  /** Relative margin of error of the ratio, percent: the task's medianRme, the reference's and the reference's drift combined. */
  ratioRme: number;
  /**
   * In a file merging several runs (bestOf): how much the task's per-unit ratio varied between those
   * runs of the same code, percent ((slowest / fastest - 1) x 100). The gate allows at least this.
   */
  runSpreadPct?: number;
}

export interface ReferenceRecord {
  /** When it was measured, in the order of the run: "before <suite>", "after all". */
  at: string;
  /** The loop's median, nanoseconds, and that median's relative margin of error, percent. */
  medianNs: number;
  medianRme: number;
}

export interface BenchResults {
  schema: number;
  quick: boolean;
  /** What the times were measured with: "process-cpu" (bench/measure.ts says why). */
  clock: string;
  /** Present when the file merges several runs (bench:check --update with several --results): how many. */
  runs?: number;
  /**
   * The run's --filter, when it had one: the gate then expects only the baseline's tasks whose name
   * contains it (a file without it was an unfiltered run, and every task of its form was expected).
   */
  filter?: string;
  host: { node: string; platform: string; arch: string; cpus: number; cpuModel: string; loadavg: number[] };
  startedAt: string;
  reference: {
    name: string;
    measurements: ReferenceRecord[];
    /** (max - min) / mean of the reference medians, percent: how much the machine drifted. */
    driftPct: number;
  };
  tasks: TaskResultRecord[];
  /** Tasks that threw, by name, with the message: reported, never silently dropped. */
  errors: { name: string; message: string }[];
}

/** Reads and checks a results or baseline file; throws an Error naming the file and what is wrong. */
export function parseResults(text: string, file: string): BenchResults {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: not JSON (${(e as Error).message})`);
  }
  const r = data as Partial<BenchResults>;
  if (typeof r !== 'object' || r === null || r.schema !== RESULTS_SCHEMA) {
    const found = (r as any)?.schema;
    // Schema 1 held ratios of means: comparing them with medians would judge the statistic, not the code.
    const hint = found === 1 ? ' (ratios of means, from before the gate judged medians: re-take it with the commands in the README, "Benchmarks and the regression gate")' : '';
    throw new Error(`${file}: expected a bench results file with schema ${RESULTS_SCHEMA}, found schema ${String(found)}${hint}`);
  }
  if (!Array.isArray(r.tasks)) throw new Error(`${file}: expected "tasks" to be an array`);
  r.tasks.forEach((t, i) => {
    for (const k of ['name', 'ratio', 'ratioRme'] as const) {
      const want = k === 'name' ? 'string' : 'number';
      if (typeof (t as any)?.[k] !== want) throw new Error(`${file}: tasks[${i}].${k}: expected a ${want}, found ${JSON.stringify((t as any)?.[k])}`);
    }
  });
  // A results file without its errors list would let a task that threw pass as merely absent.
  if (!Array.isArray(r.errors)) throw new Error(`${file}: expected "errors" to be an array (tasks that threw), found ${JSON.stringify(r.errors)}`);
  if (r.filter !== undefined && typeof r.filter !== 'string') throw new Error(`${file}: filter: expected a string, found ${JSON.stringify(r.filter)}`);
  return r as BenchResults;
}
