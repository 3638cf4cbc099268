import { Worker } from 'node:worker_threads';
import { InputError, combineInputErrors } from '../io/input-error.ts';
import type { RunPointInput, RunPointResult } from './run-point-contract.ts';

/**
 * A pool of worker threads that runs sweep points. Each worker loads the TypeScript model through
 * tsx's loader (registered inside the worker, because Node 20 does not apply the parent's --import
 * hooks to a worker's entry module) and runs one point at a time. Runs are handed out in index order
 * and results are reported with their index, so the caller can write outputs in run order whatever
 * the number of workers.
 *
 * Stopping: when `signal` aborts, no new run is started, the runs in flight are abandoned (their
 * workers terminated: a model's run is synchronous and cannot be asked to stop midway), and the
 * promise resolves with `interrupted: true` and the runs that had finished.
 */
export interface WorkerRequest {
  index: number;
  input: RunPointInput;
}

export type WorkerReply =
  | { index: number; ok: true; result: RunPointResult }
  | { index: number; ok: false; inputError: SentInputError[] }
  | { index: number; ok: false; error: string };

/** An InputError as it crosses the thread boundary (structured clone keeps fields, not the class). */
export interface SentInputError {
  where: string;
  expected: string;
  found?: string | undefined;
  hint?: string | undefined;
}

export interface PoolTask {
  index: number;
  input: RunPointInput;
}

export interface PoolOptions {
  jobs: number;
  /** file: URL of a module exporting `runPoint` (see run-point-contract.ts). */
  modelUrl: string;
  /** Called as each run finishes (in completion order, which varies with jobs). */
  onResult?: (index: number, result: RunPointResult) => void;
  signal?: AbortSignal;
}

export interface PoolOutcome {
  results: Map<number, RunPointResult>;
  interrupted: boolean;
}

const TSX_API = import.meta.resolve('tsx/esm/api');
const WORKER = new URL('./worker.ts', import.meta.url).href;
const BOOTSTRAP = `import(${JSON.stringify(TSX_API)}).then((api) => { api.register(); return import(${JSON.stringify(WORKER)}); })`;

export function runPool(tasks: readonly PoolTask[], opts: PoolOptions): Promise<PoolOutcome> {
  const results = new Map<number, RunPointResult>();
  if (tasks.length === 0) return Promise.resolve({ results, interrupted: false });
  const jobs = Math.max(1, Math.min(opts.jobs, tasks.length));
  return new Promise<PoolOutcome>((resolve, reject) => {
    const workers: Worker[] = [];
    let next = 0;
    let finished = false;

    const stop = (then: () => void) => {
      if (finished) return;
      finished = true;
      opts.signal?.removeEventListener('abort', onAbort);
      Promise.all(workers.map((w) => w.terminate())).then(then, then);
    };
    const onAbort = () => stop(() => resolve({ results, interrupted: true }));
    if (opts.signal?.aborted) return onAbort();
    opts.signal?.addEventListener('abort', onAbort, { once: true });

    const dispatch = (w: Worker) => {
      if (finished) return;
      if (next >= tasks.length) {
        if (results.size === tasks.length) stop(() => resolve({ results, interrupted: false }));
        return;
      }
      const task = tasks[next++]!;
      w.postMessage({ index: task.index, input: task.input } satisfies WorkerRequest);
    };

    for (let i = 0; i < jobs; i++) {
      const w = new Worker(BOOTSTRAP, { eval: true, workerData: { modelUrl: opts.modelUrl } });
      workers.push(w);
      w.on('message', (reply: WorkerReply) => {
        if (finished) return;
        if (reply.ok) {
          results.set(reply.index, reply.result);
          opts.onResult?.(reply.index, reply.result);
          dispatch(w);
        } else if ('inputError' in reply) {
          const problems = reply.inputError.map((e) => new InputError(e.where, e.expected, e.found, e.hint));
          stop(() => reject(combineInputErrors(problems)));
        } else {
          stop(() => reject(new Error(`run ${reply.index} failed in the model:\n${reply.error}`)));
        }
      });
      w.on('error', (e) => stop(() => reject(e)));
      w.on('exit', (code) => {
        if (!finished) stop(() => reject(new Error(`a pool worker exited unexpectedly (code ${code})`)));
      });
      dispatch(w);
    }
  });
}
