import { availableParallelism } from 'node:os';
import { isAbsolute, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { writeRunOutputs } from '../../reports/write.ts';
import { InputError } from '../io/input-error.ts';
import { quoteInput } from '../io/excerpt.ts';
import { Problems } from '../io/problems.ts';
import { loadScenario, type LoadedScenario } from '../scenario/load.ts';
import { precheckStudy } from '../scenario/precheck.ts';
import { studyProgress } from '../scenario/progress.ts';
import { toReportInput } from '../scenario/report-input.ts';
import { MODEL_URL } from '../scenario/run-point-contract.ts';
import { runStudy } from '../scenario/runner.ts';
import { addExamples } from './examples.ts';

/**
 * `svcsim scenario [FILE...]` (`npm run scenario`): runs each study and writes its run folder.
 *
 * Every file is loaded and checked (schema, sweep, charts, expect lines) before the first run starts,
 * so a mistake in any of them exits 2 with nothing written. A mistake only the model can see (a
 * setting it does not simulate) stops the study it is in before that study writes anything; studies
 * of earlier files on the command line have been written by then. Runs go to a pool of worker threads; the
 * outputs do not depend on --jobs. Ctrl-C stops the study in progress, writes what finished (marked
 * partial) and exits 130, like a shell does for SIGINT; a second Ctrl-C exits at once.
 *
 * Exit status: 0 all expectations held; 1 an expectation failed (or was not measured); 2 bad input;
 * 130 interrupted.
 */
export const DEFAULT_SCENARIO = fileURLToPath(new URL('../../scenarios/quickstart.yaml', import.meta.url));

export interface ScenarioFlags {
  out?: string;
  seed?: string;
  replications?: string;
  jobs?: string;
  set: string[];
  quick?: boolean;
  junit?: string;
}

export function registerScenario(program: Command): void {
  const command = program
    .command('scenario')
    .description('Run scenario files (default: scenarios/quickstart.yaml) and write CSV, charts and a report for each')
    .argument('[files...]', 'scenario YAML files')
    .option('--out <dir>', 'run folder (default out/<name>/); with several files, a folder per study inside it')
    .option('--seed <n>', "master seed (overrides the file's)")
    .option('--replications <n>', 'replications per sweep point (overrides the file)')
    .option('--jobs <n>', 'worker threads (default: the number of cores)')
    .option('--set <path=value>', 'override a field, e.g. --set proxy.minSyncPeriod=2s (repeatable)', (v: string, acc: string[]) => [...acc, v], [])
    .option('--quick', "the study's quick: version (fewer points, shorter runs) for CI")
    .option('--junit <file>', 'also write the expectations as JUnit XML')
    .action(async (files: string[], flags: ScenarioFlags) => {
      process.exitCode = await runScenarioCommand(files, flags);
    });
  addExamples(command, [
    { say: 'Run the quick version of the quickstart study into out/quickstart/', run: ['svcsim scenario scenarios/quickstart.yaml --quick --out out/quickstart'] },
    { say: 'The same with a longer minimum sync period and two replications', run: ['svcsim scenario scenarios/quickstart.yaml --quick --replications 2 --set proxy.minSyncPeriod=2s --out out/quickstart-2s'] },
  ]);
}

/** Where the command reports: results on `out`, progress and notices on `err` (tests pass their own). */
export interface ScenarioIo {
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream & { isTTY?: boolean };
  signal?: AbortSignal;
  /** file: URL of the module exporting runPoint; default the model (tests use a stand-in). */
  modelUrl?: string;
}

export async function runScenarioCommand(files: string[], flags: ScenarioFlags, io: ScenarioIo = { out: process.stdout, err: process.stderr }): Promise<number> {
  const paths = files.length ? files : [DEFAULT_SCENARIO];
  // Bad flags, then each file's mistakes in command-line order: all of them, as none depends on another.
  const flagProblems = new Problems();
  const jobs = flags.jobs === undefined ? availableParallelism() : flagProblems.run(() => wholeNumber('--jobs', flags.jobs!, 1));
  const seed = flags.seed === undefined ? undefined : flagProblems.run(() => wholeNumber('--seed', flags.seed!, 0));
  const replications = flags.replications === undefined ? undefined : flagProblems.run(() => wholeNumber('--replications', flags.replications!, 1));
  if (flags.junit !== undefined && paths.length > 1) flagProblems.add(new InputError('--junit', 'one scenario file (the JUnit file holds one study)', `${paths.length} files`));
  flagProblems.throwIfAny();
  const opts = {
    set: flags.set,
    quick: flags.quick === true,
    ...(seed === undefined ? {} : { seed }),
    ...(replications === undefined ? {} : { replications }),
  };

  // Everything is read and checked before anything runs.
  const problems = new Problems();
  const studies = paths.map((p) =>
    problems.run(() => {
      const study = loadScenario(p, opts);
      precheckStudy(study);
      return study;
    }),
  );
  problems.throwIfAny();
  const loaded = studies as LoadedScenario[];
  const outDirs = loaded.map((s) => (flags.out === undefined ? resolve('out', s.name) : paths.length > 1 ? resolve(flags.out, s.name) : resolve(flags.out)));
  outDirs.forEach((dir, i) => {
    if (outDirs.indexOf(dir) !== i) {
      throw new InputError(loaded[i]!.placeOf(['name']), 'scenarios with distinct names (each names its run folder)', `${JSON.stringify(loaded[i]!.name)} twice`);
    }
  });

  const interrupt = new AbortController();
  if (io.signal?.aborted) interrupt.abort();
  io.signal?.addEventListener('abort', () => interrupt.abort(), { once: true });
  const onSigint = () => {
    if (interrupt.signal.aborted) process.exit(130);
    io.err.write('\nsvcsim: interrupted; writing the runs that finished (Ctrl-C again to quit at once)\n');
    interrupt.abort();
  };
  process.on('SIGINT', onSigint);
  let status = 0;
  try {
    for (let i = 0; i < loaded.length; i++) {
      const code = await runOne(loaded[i]!, outDirs[i]!, jobs!, flags.junit, interrupt.signal, io);
      status = Math.max(status, code);
      if (code === 130) break;
    }
  } finally {
    process.off('SIGINT', onSigint);
  }
  return status;
}

async function runOne(study: LoadedScenario, outDir: string, jobs: number, junit: string | undefined, signal: AbortSignal, io: ScenarioIo): Promise<number> {
  const runs = study.points.length * study.replications;
  const skipped = study.excluded ? `, ${study.excluded} excluded` : '';
  io.err.write(
    `svcsim: ${study.name}${study.quick ? ' (--quick)' : ''}: ${study.points.length} point${study.points.length === 1 ? '' : 's'}${skipped} x ${study.replications} replication${study.replications === 1 ? '' : 's'} = ${runs} run${runs === 1 ? '' : 's'} on ${Math.min(jobs, runs)} worker${Math.min(jobs, runs) === 1 ? '' : 's'}\n`,
  );
  const result = await runStudy(study, { jobs, signal, progress: studyProgress(study, io.err), modelUrl: io.modelUrl ?? MODEL_URL });
  const written = await writeRunOutputs(toReportInput(study, result), outDir, junit === undefined ? {} : { junit });

  const out = io.out;
  out.write(`\n${study.name}: ${study.question}\n`);
  if (result.partial) out.write(`PARTIAL: interrupted after ${result.runs.length} of ${result.planned} runs; the outputs hold only those.\n`);
  out.write(`report: ${shownPath(written.reportPath)}\n\n${written.headline}\n`);
  if (written.expectations.length > 0) {
    const held = written.expectations.length - written.failedExpectations;
    out.write(`\nexpectations: ${held} of ${written.expectations.length} held\n`);
    // The message already says FAILED or NOT MEASURED, which point and by how much.
    for (const e of written.expectations) if (!e.passed) out.write(`  ${e.message}\n`);
  }
  if (written.notChecked.length > 0) {
    out.write(`not checked (they select only sweep values --quick or --set left out): ${written.notChecked.join('; ')}\n`);
  }
  if (result.partial) return 130;
  return written.failedExpectations > 0 ? 1 : 0;
}

/** A path under the working directory relative to it (`out/quickstart/report.html`), others absolute. */
function shownPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

function wholeNumber(flag: string, text: string, min: number): number {
  const n = Number(text);
  if (!/^\s*\d+\s*$/.test(text) || !Number.isSafeInteger(n) || n < min) {
    throw new InputError(flag, min === 0 ? 'a whole number (0 or more)' : `a whole number, at least ${min}`, quoteInput(text));
  }
  return n;
}
