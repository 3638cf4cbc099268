import { resolve } from 'node:path';
import type { Command } from 'commander';
import { InputError } from '../io/input-error.ts';
import { mergeStudyFolders } from '../scenario/merge.ts';
import { StudyFolder } from '../scenario/study-folder.ts';
import { addExamples } from './examples.ts';
import { writeStudyOutputs } from './study-outputs.ts';

/**
 * `svcsim merge DIR... --out DIR [--junit FILE]`: joins the shard folders of one study (written by
 * `svcsim scenario --shard I/N`) into the run folder one unsharded run writes, byte for byte: its
 * records/ and runs.csv, summary.csv, timeseries.csv, summary.json, the charts and the report, made
 * by the same writer (sim/cli/study-outputs.ts). Folders of different studies, seeds or code
 * versions, and runs recorded twice or not at all, are refused with each named
 * (sim/scenario/merge.ts).
 *
 * Exit status: 0 all expectations held; 1 an expectation failed (or was not measured); 2 bad input.
 */
export interface MergeFlags {
  out: string;
  junit?: string;
}

export async function runMergeCommand(dirs: string[], flags: MergeFlags, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const outDir = resolve(flags.out);
  const clash = dirs.find((d) => resolve(d) === outDir);
  if (clash !== undefined) throw new InputError('--out', 'a folder other than the shard folders (the merge rewrites its records)', clash);
  const merged = mergeStudyFolders(dirs);
  const folder = new StudyFolder(outDir, merged.manifest, false);
  for (const run of merged.manifest.plan) folder.record(merged.records.get(run.id)!);
  folder.finish();
  return writeStudyOutputs(merged.manifest, merged.records, outDir, flags.junit, out);
}

export function registerMerge(program: Command): void {
  const command = program
    .command('merge')
    .description('Join the shard folders of a study (svcsim scenario --shard I/N) into the run folder one unsharded run writes')
    .argument('<dirs...>', 'shard folders')
    .requiredOption('--out <dir>', 'run folder to write')
    .option('--junit <file>', 'also write the expectations as JUnit XML')
    .action(async (dirs: string[], flags: MergeFlags) => {
      process.exitCode = await runMergeCommand(dirs, flags);
    });
  addExamples(command, [
    {
      say: 'Run the quick quickstart study as two shards, then merge them',
      run: [
        'svcsim scenario scenarios/quickstart.yaml --quick --shard 0/2 --out out/qs-shard-0',
        'svcsim scenario scenarios/quickstart.yaml --quick --shard 1/2 --out out/qs-shard-1',
        'svcsim merge out/qs-shard-0 out/qs-shard-1 --out out/qs-merged',
      ],
    },
  ]);
}
