import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { ReportInput, ScenarioMeta } from '../../reports/types.ts';
import { writeFileAtomic } from '../io/atomic-write.ts';
import { InputError } from '../io/input-error.ts';
import { codeVersion } from './code-version.ts';
import type { LoadedScenario } from './load.ts';
import { reportMeta, reportRows } from './report-input.ts';
import { parseExact, readRunRecords, runId, stringifyExact, writeRunRecord, type RunRecord } from './run-records.ts';
import { assignShards, runCost, type Shard } from './shard.ts';
import { planRuns, type SweepPoint } from './sweep.ts';

/**
 * A study folder's `records/`: `study.json` (what the study is, which code ran it, which runs this
 * folder holds) and a run record per finished run (sim/scenario/run-records.ts). Every run folder has
 * one, sharded or not; the outputs (runs.csv, the report, ...) are always made from it by
 * `studyInputFromRecords`, so an uninterrupted run, a resumed one and a merge of shards give the same
 * bytes by construction.
 *
 * study.json names the study three ways, so a refusal can say what differs:
 *   fileHash   SHA-256 of the study file's text;
 *   seed       the master seed;
 *   studyHash  SHA-256 of everything the outputs are made of besides the runs (the study as run,
 *              after --quick, --set and --replications, its charts and expectations) and the run
 *              plan: same file and seed but another --set gives another studyHash.
 * and `codeVersion` (sim/scenario/code-version.ts) names the code.
 */
export const FOLDER_FORMAT = 'svcsim/study-folder/v1';
export const RECORDS_DIR = 'records';
const MANIFEST = 'study.json';

export interface PlannedRun {
  id: string;
  index: number;
  point: SweepPoint;
  replication: number;
  seed: number;
  /** Estimated cost (sim/scenario/shard.ts runCost), for the split. */
  cost: number;
}

export interface StudyManifest {
  format: typeof FOLDER_FORMAT;
  study: { name: string; file: string; fileHash: string; seed: number; studyHash: string };
  codeVersion: string;
  /** The share this folder runs; null for the whole study. */
  shard: Shard | null;
  /** Ids of the runs this folder holds when complete, in run order. */
  runs: string[];
  /** Every run of the study, in run order. */
  plan: PlannedRun[];
  /** What reports/ is told about the study; its `partial` is false here: the records decide it. */
  meta: ScenarioMeta;
}

/** The study's runs with identities and costs, in run order. */
export function planStudy(loaded: LoadedScenario): PlannedRun[] {
  return planRuns(
    loaded.points.map((p) => p.params),
    loaded.replications,
    loaded.seed,
  ).map((spec) => ({
    id: runId(spec.point, spec.replication),
    index: spec.index,
    point: spec.point,
    replication: spec.replication,
    seed: spec.seed,
    cost: runCost(loaded.points[spec.pointIndex]!.scenario),
  }));
}

/** The manifest of `loaded` run whole (shard null) or as one shard. */
export function studyManifest(loaded: LoadedScenario, shard: Shard | null): StudyManifest {
  const plan = planStudy(loaded);
  const meta = reportMeta(loaded, false);
  const shardOf = shard ? assignShards(plan, shard.count) : undefined;
  const runs = plan.filter((_r, i) => !shardOf || shardOf[i] === shard!.index).map((r) => r.id);
  const studyHash = sha256(stringifyExact({ meta, plan }));
  return normalized({
    format: FOLDER_FORMAT,
    study: { name: loaded.name, file: basename(loaded.file), fileHash: sha256(loaded.text), seed: loaded.seed, studyHash },
    codeVersion: codeVersion(),
    shard,
    runs,
    plan,
    meta,
  });
}

/** The manifest of the whole study that `m`, a shard's, is part of. */
export function wholeStudyManifest(m: StudyManifest): StudyManifest {
  return { ...m, shard: null, runs: m.plan.map((r) => r.id) };
}

export function recordsDir(outDir: string): string {
  return join(outDir, RECORDS_DIR);
}

/**
 * A study's records folder while the study runs. With `resume`, the records a run of the same study,
 * code and shard left in `outDir` are kept (`recorded`) and only the rest need running; resuming a
 * folder of another study, code version or shard is refused (exit 2). Without it (or with nothing to
 * resume) the folder starts empty. Nothing is written until the first run is recorded or `finish` is
 * called, so a study stopped by a mistake the model finds leaves the folder as it was.
 */
export class StudyFolder {
  /** The records already there (resume), by run id. */
  readonly recorded: ReadonlyMap<string, RunRecord>;
  private prepared: boolean;
  private readonly resumed: boolean;
  private readonly outDirExisted: boolean;

  constructor(
    readonly outDir: string,
    readonly manifest: StudyManifest,
    resume: boolean,
  ) {
    const dir = recordsDir(outDir);
    const previous = resume ? readManifestIfAny(dir) : undefined;
    if (previous) {
      const differs = manifestDifference(previous, manifest);
      if (differs) throw new InputError(`--resume ${join(dir, MANIFEST)}`, `a folder left by this study (${differs.what} ${differs.ours})`, `${differs.what} ${differs.theirs}`, 'run without --resume to start over, or give another --out');
      const held = new Set(manifest.runs);
      this.recorded = new Map([...readRunRecords(dir)].filter(([id]) => held.has(id)));
    } else {
      this.recorded = new Map();
    }
    this.prepared = this.resumed = previous !== undefined;
    this.outDirExisted = existsSync(outDir);
  }

  /** Writes one finished run's record, whole. */
  record(record: RunRecord): void {
    this.prepare();
    writeRunRecord(recordsDir(this.outDir), record);
  }

  /** Makes sure the manifest is there (a shard that holds no run, a study stopped before any run). */
  finish(): void {
    this.prepare();
  }

  /**
   * Takes back what this study wrote, when a mistake the model found stops it: its records are of a
   * study file that has to change, so no later run can use them. A resumed folder is left as it was.
   */
  abandon(): void {
    if (this.resumed || !this.prepared) return;
    rmSync(this.outDirExisted ? recordsDir(this.outDir) : this.outDir, { recursive: true, force: true });
    this.prepared = false;
  }

  private prepare(): void {
    if (this.prepared) return;
    rmSync(recordsDir(this.outDir), { recursive: true, force: true });
    writeManifest(this.outDir, this.manifest);
    this.prepared = true;
  }
}

export function writeManifest(outDir: string, manifest: StudyManifest): void {
  writeFileAtomic(join(recordsDir(outDir), MANIFEST), `${stringifyExact(manifest)}\n`);
}

/** The manifest of a study folder; an InputError naming the folder when it has none. */
export function readManifest(outDir: string): StudyManifest {
  const m = readManifestIfAny(recordsDir(outDir));
  if (!m) throw new InputError(outDir, `a svcsim study folder (with ${RECORDS_DIR}/${MANIFEST}, written by svcsim scenario)`, 'none');
  return m;
}

function readManifestIfAny(dir: string): StudyManifest | undefined {
  const file = join(dir, MANIFEST);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw e;
  }
  let m: Partial<StudyManifest> | null;
  try {
    m = parseExact(text) as Partial<StudyManifest> | null;
  } catch {
    throw new InputError(file, `a study manifest (${FOLDER_FORMAT}, JSON)`, 'text that is not JSON');
  }
  if (!m || m.format !== FOLDER_FORMAT) throw new InputError(file, `a study manifest (format ${FOLDER_FORMAT})`, m && typeof m === 'object' && 'format' in m ? `format ${JSON.stringify(m.format)}` : 'other JSON');
  return m as StudyManifest;
}

export interface ManifestDifference {
  what: string;
  ours: string;
  theirs: string;
}

/** The first way `theirs` is not the same study, code and shard as `ours`, from most to least telling. */
export function manifestDifference(theirs: StudyManifest, ours: StudyManifest, opts: { shard?: boolean } = {}): ManifestDifference | undefined {
  // [what, same?, ours, theirs]: the study file is compared by its text (the name is shown, but a
  // copy of the file under another name is the same study).
  const file = (m: StudyManifest) => `${m.study.file} (sha256 ${m.study.fileHash.slice(0, 12)})`;
  const checks: [string, boolean, string, string][] = [
    ['code version', ours.codeVersion === theirs.codeVersion, ours.codeVersion, theirs.codeVersion],
    ['study file', ours.study.fileHash === theirs.study.fileHash, file(ours), file(theirs)],
    ['seed', ours.study.seed === theirs.study.seed, String(ours.study.seed), String(theirs.study.seed)],
    ['study as run (--set, --quick, --replications)', ours.study.studyHash === theirs.study.studyHash, ours.study.studyHash.slice(0, 12), theirs.study.studyHash.slice(0, 12)],
  ];
  if (opts.shard !== false) checks.push(['shard', shardText(ours.shard) === shardText(theirs.shard), shardText(ours.shard), shardText(theirs.shard)]);
  for (const [what, same, a, b] of checks) if (!same) return { what, ours: a, theirs: b };
  return undefined;
}

export function shardText(shard: Shard | null): string {
  return shard ? `${shard.index}/${shard.count}` : 'whole study';
}

/**
 * The outputs' input from a manifest and records: rows in run order, `partial` when some planned
 * run of the manifest has no record.
 */
export function studyInputFromRecords(manifest: StudyManifest, records: ReadonlyMap<string, RunRecord>): { input: ReportInput; recorded: number; planned: number } {
  const done = manifest.plan.filter((r) => records.has(r.id)).map((r) => ({ spec: r, result: records.get(r.id)!.result }));
  const partial = done.length < manifest.runs.length;
  return { input: { meta: { ...manifest.meta, partial }, ...reportRows(done) }, recorded: done.length, planned: manifest.runs.length };
}

/** The records of the folder, as written. */
export function folderRecords(outDir: string): Map<string, RunRecord> {
  return readRunRecords(recordsDir(outDir));
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** As a reader of study.json sees it (JSON keeps no undefined fields). */
function normalized(m: StudyManifest): StudyManifest {
  return parseExact(stringifyExact(m)) as StudyManifest;
}
