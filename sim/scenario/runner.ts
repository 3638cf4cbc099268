import type { LoadedScenario } from './load.ts';
import { runPool } from './pool.ts';
import type { RunPointResult } from './run-point-contract.ts';
import { planRuns, type RunSpec } from './sweep.ts';

/**
 * Runs a loaded study: every sweep point times every replication, through the worker pool. Results are
 * placed by run index, never by completion order, so what comes back (and every file made from it,
 * see report-input.ts) is the same whatever --jobs is.
 */
export interface ProgressSink {
  start(total: number): void;
  runDone(done: number, run: RunSpec): void;
  stop(): void;
}

export interface RunStudyOptions {
  jobs: number;
  /** file: URL of the module exporting runPoint. */
  modelUrl: string;
  signal?: AbortSignal;
  progress?: ProgressSink;
  /** Run only these run indexes (a shard's share, or what a resumed run has left); default all. */
  only?: ReadonlySet<number>;
  /** Called as each run finishes, in completion order (to record it at once: study-folder.ts). */
  onRun?: (run: StudyRun) => void;
}

export interface StudyRun {
  spec: RunSpec;
  result: RunPointResult;
}

export interface StudyResult {
  runs: StudyRun[];
  planned: number;
  /** True when the study was interrupted: `runs` holds only those that finished. */
  partial: boolean;
}

export async function runStudy(loaded: LoadedScenario, opts: RunStudyOptions): Promise<StudyResult> {
  const specs = planRuns(
    loaded.points.map((p) => p.params),
    loaded.replications,
    loaded.seed,
  );
  const chosen = opts.only ? specs.filter((spec) => opts.only!.has(spec.index)) : specs;
  const tasks = chosen.map((spec) => ({
    index: spec.index,
    input: { scenario: loaded.points[spec.pointIndex]!.scenario, point: spec.point, replication: spec.replication, seed: spec.seed },
  }));
  opts.progress?.start(chosen.length);
  let done = 0;
  try {
    const outcome = await runPool(tasks, {
      jobs: opts.jobs,
      modelUrl: opts.modelUrl,
      ...(opts.signal ? { signal: opts.signal } : {}),
      onResult: (index, result) => {
        opts.onRun?.({ spec: specs[index]!, result });
        opts.progress?.runDone(++done, specs[index]!);
      },
    });
    const runs: StudyRun[] = [];
    for (const spec of chosen) {
      const result = outcome.results.get(spec.index);
      if (result) runs.push({ spec, result });
    }
    return { runs, planned: chosen.length, partial: outcome.interrupted };
  } finally {
    opts.progress?.stop();
  }
}
