import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { InputError } from '../io/input-error.ts';
import { quoteInput } from '../io/excerpt.ts';
import { Problems } from '../io/problems.ts';
import { loadScenario, type LoadedScenario } from '../scenario/load.ts';
import { precheckStudy } from '../scenario/precheck.ts';
import { studyProgress } from '../scenario/progress.ts';
import { MODEL_URL } from '../scenario/run-point-contract.ts';
import { RECORD_FORMAT } from '../scenario/run-records.ts';
import { runStudy } from '../scenario/runner.ts';
import { parseShard, type Shard } from '../scenario/shard.ts';
import { folderRecords, studyManifest, StudyFolder } from '../scenario/study-folder.ts';
import { addExamples } from './examples.ts';
import { shownPath, writeStudyOutputs } from './study-outputs.ts';

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
 * Each run is recorded in the folder's records/ the moment it finishes, and the outputs are made from
 * those records (sim/scenario/study-folder.ts). `--resume` keeps the records a stopped run of the same
 * study left (Ctrl-C, SIGKILL, a killed pod) and runs only the rest. `--shard I/N` runs only shard I's
 * share of the runs (sim/scenario/shard.ts) and writes only the records: `svcsim merge` makes the
 * outputs from all N shard folders.
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
  shard?: string;
  resume?: boolean;
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
    .option('--shard <I/N>', "run only shard I's share of the runs (0 <= I < N) and record them; join the shards with svcsim merge")
    .option('--resume', 'keep the runs a stopped run of this study recorded in the folder and run only the rest')
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
  const shard = flags.shard === undefined ? undefined : flagProblems.run(() => parseShard(flags.shard!));
  if (flags.junit !== undefined && flags.shard !== undefined) flagProblems.add(new InputError('--junit', 'no --shard (a shard writes only run records; give --junit to svcsim merge)', '--shard'));
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
  const folderName = (name: string) => (shard ? `${name}-shard-${shard.index}-of-${shard.count}` : name);
  const outDirs = loaded.map((s) => (flags.out === undefined ? resolve('out', folderName(s.name)) : paths.length > 1 ? resolve(flags.out, folderName(s.name)) : resolve(flags.out)));
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
      const code = await runOne(loaded[i]!, outDirs[i]!, { jobs: jobs!, junit: flags.junit, shard, resume: flags.resume === true }, interrupt.signal, io);
      status = Math.max(status, code);
      if (code === 130) break;
    }
  } finally {
    process.off('SIGINT', onSigint);
  }
  return status;
}

interface RunOneOptions {
  jobs: number;
  junit: string | undefined;
  shard: Shard | undefined;
  resume: boolean;
}

async function runOne(study: LoadedScenario, outDir: string, opts: RunOneOptions, signal: AbortSignal, io: ScenarioIo): Promise<number> {
  const manifest = studyManifest(study, opts.shard ?? null);
  const folder = new StudyFolder(outDir, manifest, opts.resume);
  const recorded = folder.recorded;
  const held = new Set(manifest.runs);
  const todo = new Set(manifest.plan.filter((r) => held.has(r.id) && !recorded.has(r.id)).map((r) => r.index));
  io.err.write(`svcsim: ${study.name}${study.quick ? ' (--quick)' : ''}: ${studyShape(study)} on ${plural(Math.min(opts.jobs, todo.size), 'worker')}${shareNote(opts.shard, held.size, recorded.size)}\n`);
  const running = runStudy(study, {
    jobs: opts.jobs,
    signal,
    progress: studyProgress(study, io.err),
    modelUrl: io.modelUrl ?? MODEL_URL,
    only: todo,
    onRun: ({ spec, result }) => {
      const { id } = manifest.plan[spec.index]!;
      folder.record({ format: RECORD_FORMAT, id, index: spec.index, point: spec.point, replication: spec.replication, seed: spec.seed, result });
    },
  });
  // A mistake only the model sees (an InputError) stops the study with nothing of it kept.
  const result = await running.catch((e: unknown) => {
    folder.abandon();
    throw e;
  });
  folder.finish();
  if (opts.shard) {
    const done = recorded.size + result.runs.length;
    io.out.write(`\n${study.name}: shard ${opts.shard.index}/${opts.shard.count}: ${done} of ${held.size} runs recorded in ${shownPath(outDir)}${result.partial ? ' (interrupted: run again with --resume)' : ''}\n`);
    return result.partial ? 130 : 0;
  }
  const code = await writeStudyOutputs(manifest, folderRecords(outDir), outDir, opts.junit, io.out);
  return result.partial ? 130 : code;
}

/** "6 points x 3 replications = 18 runs" (with ", 2 excluded" when the study excludes points). */
function studyShape(study: LoadedScenario): string {
  const runs = study.points.length * study.replications;
  const skipped = study.excluded ? `, ${study.excluded} excluded` : '';
  return `${plural(study.points.length, 'point')}${skipped} x ${plural(study.replications, 'replication')} = ${plural(runs, 'run')}`;
}

/** What of the study this command runs, when not all of it. */
function shareNote(shard: Shard | undefined, held: number, recorded: number): string {
  const parts: string[] = [];
  if (shard) parts.push(`shard ${shard.index}/${shard.count} holds ${plural(held, 'run')}`);
  if (recorded > 0) parts.push(`${recorded} already recorded (--resume)`);
  return parts.length ? `; ${parts.join(', ')}` : '';
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function wholeNumber(flag: string, text: string, min: number): number {
  const n = Number(text);
  if (!/^\s*\d+\s*$/.test(text) || !Number.isSafeInteger(n) || n < min) {
    throw new InputError(flag, min === 0 ? 'a whole number (0 or more)' : `a whole number, at least ${min}`, quoteInput(text));
  }
  return n;
}
