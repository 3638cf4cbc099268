import { resolve } from 'node:path';
import { InputError } from '../io/input-error.ts';
import { Problems } from '../io/problems.ts';
import type { RunRecord } from './run-records.ts';
import { assignShards } from './shard.ts';
import { folderRecords, manifestDifference, readManifest, shardText, wholeStudyManifest, type PlannedRun, type StudyManifest } from './study-folder.ts';

/**
 * Joins the records of study folders (the shards of one study, or any folders that together hold
 * each of its runs once) into the whole study, refusing with every problem named (exit 2):
 * - a folder that is not a study folder;
 * - folders of another study file, seed, code version or options (--set, --quick, --replications)
 *   than the first folder given;
 * - a run recorded in more than one folder (a shard given twice, shards of two splits);
 * - a run recorded in none (a shard that did not finish: run it again with --resume; a shard whose
 *   folder was not given).
 */
export interface MergedStudy {
  manifest: StudyManifest;
  records: Map<string, RunRecord>;
}

/** How many runs a message names before it says "and N more". */
const NAMED = 5;

export function mergeStudyFolders(dirs: readonly string[]): MergedStudy {
  const problems = new Problems();
  const folders: { dir: string; manifest: StudyManifest }[] = [];
  const seen = new Map<string, string>();
  for (const dir of dirs) {
    const key = resolve(dir);
    if (seen.has(key)) {
      problems.add(new InputError(dir, 'each folder once', `the folder given twice (also as ${seen.get(key)})`));
      continue;
    }
    seen.set(key, dir);
    const manifest = problems.run(() => readManifest(dir));
    if (manifest) folders.push({ dir, manifest });
  }
  problems.throwIfAny();
  const first = folders[0]!;
  for (const f of folders.slice(1)) {
    const d = manifestDifference(f.manifest, first.manifest, { shard: false });
    if (d) problems.add(new InputError(folderLabel(f.dir, f.manifest), `the ${d.what} of ${first.dir}, ${d.ours}`, d.theirs));
  }
  problems.throwIfAny();

  const whole = wholeStudyManifest(first.manifest);
  const records = new Map<string, RunRecord>();
  const holders = new Map<string, string[]>();
  for (const f of folders) {
    for (const [id, record] of folderRecords(f.dir)) {
      records.set(id, record);
      holders.set(id, [...(holders.get(id) ?? []), f.dir]);
    }
  }
  reportDuplicates(whole.plan, holders, problems);
  reportMissing(whole.plan, folders, records, problems);
  problems.throwIfAny();
  return { manifest: whole, records };
}

function reportDuplicates(plan: readonly PlannedRun[], holders: ReadonlyMap<string, string[]>, problems: Problems): void {
  const byFolders = new Map<string, PlannedRun[]>();
  for (const run of plan) {
    const dirs = holders.get(run.id);
    if (dirs && dirs.length > 1) byFolders.set(dirs.join(' and '), [...(byFolders.get(dirs.join(' and ')) ?? []), run]);
  }
  for (const [dirs, runs] of byFolders) {
    problems.add(new InputError(dirs, 'each run in one folder', `${runs.length === 1 ? 'a run' : `${runs.length} runs`} in each of them: ${namedRuns(runs)}`, 'a shard given twice, or shards of two different splits'));
  }
}

function reportMissing(plan: readonly PlannedRun[], folders: readonly { dir: string; manifest: StudyManifest }[], records: ReadonlyMap<string, RunRecord>, problems: Problems): void {
  const missing = plan.filter((r) => !records.has(r.id));
  if (missing.length === 0) return;
  const accounted = new Set<string>();
  for (const f of folders) {
    const held = new Set(f.manifest.runs);
    const unfinished = missing.filter((r) => held.has(r.id));
    if (unfinished.length === 0) continue;
    for (const r of unfinished) accounted.add(r.id);
    problems.add(new InputError(folderLabel(f.dir, f.manifest), `its ${f.manifest.runs.length} runs recorded`, `${f.manifest.runs.length - unfinished.length}; missing ${namedRuns(unfinished)}`, 'the shard did not finish: run it again with --resume'));
  }
  const rest = missing.filter((r) => !accounted.has(r.id));
  if (rest.length === 0) return;
  const counts = new Set(folders.map((f) => f.manifest.shard?.count ?? 1));
  if (counts.size === 1) {
    const count = [...counts][0]!;
    const shardOf = assignShards(plan, count);
    const given = new Set(folders.map((f) => f.manifest.shard?.index ?? 0));
    for (let s = 0; s < count; s++) {
      if (given.has(s)) continue;
      const runs = plan.filter((r, i) => shardOf[i] === s && !records.has(r.id));
      if (runs.length > 0) problems.add(new InputError(`shard ${s}/${count}`, 'its folder among those given', 'none', `it holds ${namedRuns(runs)}`));
    }
    return;
  }
  problems.add(new InputError('the folders given', 'every run of the study recorded', `${rest.length} runs in none of them: ${namedRuns(rest)}`));
}

/** "out/shard-1 (shard 1/3)", "out/tiny (whole study)" */
function folderLabel(dir: string, m: StudyManifest): string {
  return `${dir} (${m.shard ? `shard ${shardText(m.shard)}` : shardText(null)})`;
}

/** "run 3 (mode=ipvs, services=100, replication 0), ... and 4 more" */
export function namedRuns(runs: readonly PlannedRun[]): string {
  const named = runs.slice(0, NAMED).map(describeRun);
  return named.join(', ') + (runs.length > NAMED ? ` and ${runs.length - NAMED} more` : '');
}

export function describeRun(run: PlannedRun): string {
  const params = Object.entries(run.point).map(([k, v]) => `${k}=${String(v)}`);
  return `run ${run.index} (${[...params, `replication ${run.replication}`].join(', ')})`;
}
