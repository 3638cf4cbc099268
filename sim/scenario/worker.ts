import { parentPort, workerData } from 'node:worker_threads';
import { isInputError } from '../io/input-error.ts';
import { problemsOf } from '../io/problems.ts';
import type { RunPoint } from './run-point-contract.ts';
import type { WorkerReply, WorkerRequest } from './pool.ts';

/**
 * A pool worker: loads the model module named by the pool (`runPoint` export) once, then runs the
 * points it is sent, one at a time, replying with the result or the error. A user's mistake
 * (InputError) travels as the fields of each of its problems so the main thread can report it as
 * the user's mistakes; anything else is a bug.
 */
const { modelUrl } = workerData as { modelUrl: string };
const model = (await import(modelUrl)) as { runPoint?: RunPoint };
if (typeof model.runPoint !== 'function') throw new Error(`${modelUrl} does not export runPoint`);
const runPoint = model.runPoint;

parentPort!.on('message', (req: WorkerRequest) => {
  let reply: WorkerReply;
  try {
    reply = { index: req.index, ok: true, result: runPoint(req.input) };
  } catch (e) {
    reply = isInputError(e)
      ? { index: req.index, ok: false, inputError: problemsOf(e).map((p) => ({ where: p.where, expected: p.expected, found: p.found, hint: p.hint })) }
      : { index: req.index, ok: false, error: e instanceof Error ? (e.stack ?? e.message) : String(e) };
  }
  parentPort!.postMessage(reply);
});
