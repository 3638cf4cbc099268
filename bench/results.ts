/**
 * The shape of out/bench/results.json (written by bench/run.ts) and bench/baseline.json (the same
 * file, committed on purpose with `npm run bench:check -- --update`).
 */
export const RESULTS_SCHEMA = 1;

export interface TaskResultRecord {
  /** Stable task name from the suite; the baseline is keyed by it. */
  name: string;
  suite: string;
  /** Mean and 99th percentile of one call of the task's fn, in nanoseconds. */
  meanNs: number;
  p99Ns: number;
  /** Relative margin of error of the mean, percent (95% confidence half-width / mean). */
  rme: number;
  samples: number;
  /** What one call stands for, and the mean time per unit (meanNs / count). */
  per?: { unit: string; count: number };
  perUnitNs?: number;
  /** Figures of the simulated system the task reported (rules visited, events...). */
  figures?: Record<string, number>;
  /** meanNs divided by the reference loop measured around this task's suite. */
  ratio: number;
  /** Relative margin of error of the ratio, percent: task rme, reference rme and reference drift combined. */
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
  meanNs: number;
  rme: number;
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
    /** (max - min) / mean of the reference measurements, percent: how much the machine drifted. */
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
    throw new Error(`${file}: expected a bench results file with schema ${RESULTS_SCHEMA}, found schema ${String((r as any)?.schema)}`);
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
