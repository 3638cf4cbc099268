import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { isMap } from 'yaml';
import { InputError } from '../io/input-error.ts';
import { Problems } from '../io/problems.ts';
import { readYamlFile, parseYamlText, type YamlSource } from '../io/yaml-source.ts';
import { DEFAULT_COSTS, withCosts, type CostModel, type DeepPartial } from '../cost/cost-model.ts';
import { didYouMean } from './did-you-mean.ts';
import { readCalibration } from './calibration-file.ts';
import { readConnectKernel } from './connect-setup-file.ts';
import { FieldOrigins, type FieldPath } from './field-origins.ts';
import { describeIssues, orderProblems, type RankedProblem, type SubstitutionInfo } from './issues.ts';
import { combineInputErrors } from '../io/input-error.ts';
import { applyQuick, applySet, parseSetArg } from './overrides.ts';
import { scenarioSchema, type ResolvedScenario, type ScenarioOutput, type SweepValue } from './schema.ts';
import { findReferences, substitute } from './substitute.ts';
import { expandGrid, type SweepPoint } from './sweep.ts';

/**
 * Reads a scenario file into the list of sweep points a runner executes, each one validated and
 * resolved. Order of work: read YAML (positions kept) -> apply the `quick:` block (with --quick), then
 * --set, --seed, --replications -> check the sweep and its `${param}` references -> expand the grid and
 * drop the `exclude:`d points -> substitute each point and validate it against the schema -> resolve
 * paths and costs.
 * Every mistake is reported with file:line:col and the field path. The independent mistakes of a step
 * are reported together; a step whose result the next one needs stops the load when it finds any, so
 * what follows is not judged on a broken input (no schema complaints about a point of a malformed sweep).
 */
export interface LoadOptions {
  /** `--set path=value` arguments, applied in order (later wins). */
  set?: readonly string[];
  seed?: number;
  replications?: number;
  quick?: boolean;
}

export interface ResolvedPoint {
  index: number;
  params: SweepPoint;
  scenario: ResolvedScenario;
}

export interface LoadedScenario {
  file: string;
  /** The file as written, kept for summary.json so a run can be reproduced. */
  text: string;
  /** The scenario after --quick/--set, before substitution: the study as it was run. */
  template: Record<string, unknown>;
  name: string;
  question: string;
  seed: number;
  replications: number;
  /** Sweep parameters in declared order. */
  sweep: { name: string; values: SweepValue[] }[];
  /** The points that run: the grid minus the excluded ones, in grid order. */
  points: ResolvedPoint[];
  /** Grid points skipped by `exclude:`. */
  excluded: number;
  quick: boolean;
  /**
   * Whether the values of a sweep parameter are the file's own list, or a list --quick or --set put
   * in its place (which may leave out values other fields name, such as a chart's `where`).
   */
  sweepOverridden(name: string): boolean;
  /** The sweep lists as the file writes them, before --quick and --set (lists of scalars only). */
  declaredSweep: Record<string, SweepValue[]>;
  /** "file:line:col: field.path" (or the flag that set it) for a field, to report a later mistake there. */
  placeOf(path: FieldPath): string;
  /** Line and column where a field is written (0:0 for a flag), to order later mistakes as the file does. */
  positionOf(path: FieldPath): { line: number; col: number };
}

export function loadScenario(file: string, opts: LoadOptions = {}): LoadedScenario {
  return loadScenarioSource(readYamlFile(file, 'a scenario file in YAML'), opts);
}

export function loadScenarioText(text: string, file: string, opts: LoadOptions = {}): LoadedScenario {
  return loadScenarioSource(parseYamlText(text, file), opts);
}

function loadScenarioSource(src: YamlSource, opts: LoadOptions): LoadedScenario {
  if (src.docs.length !== 1) {
    throw new InputError(src.file, 'one YAML document (a scenario)', `${src.docs.length} documents`);
  }
  if (!isMap(src.docs[0]!.contents)) {
    throw new InputError(`${src.file}:1:1`, 'a mapping of scenario fields (name, question, cluster, ...)', src.docs[0]!.contents ? 'another kind of YAML value' : 'an empty file');
  }
  const template = src.docs[0]!.toJS({ maxAliasCount: 1000 }) as Record<string, unknown>;
  const origins = new FieldOrigins(src);

  const declaredSweep = scalarLists(template.sweep);
  const quick = applyOverrides(template, origins, opts);

  const sweep = readSweep(template, origins);
  checkReferences(template, sweep, origins);
  const grid = expandGrid(sweep.map((s) => [s.name, s.values] as const));
  const exclusions = readExclude(template, sweep, origins);
  const kept = grid.filter((p) => !exclusions.some((e) => matchesExclusion(p, e)));
  if (kept.length === 0) throw new InputError(origins.place(['exclude']).where, 'exclusions that leave some sweep point to run', `all ${grid.length} excluded`);
  const points = resolvePoints(template, kept, sweep, origins, dirname(resolve(src.file)));
  const first = points[0]!.scenario;
  return {
    file: src.file,
    text: src.text,
    template,
    name: first.name,
    question: first.question,
    seed: first.seed,
    replications: first.replications,
    sweep,
    points,
    excluded: grid.length - kept.length,
    quick,
    sweepOverridden: (name) => sweepOverridden(origins, name),
    declaredSweep,
    placeOf: (path) => origins.place(path).where,
    positionOf: (path) => {
      const { line, col } = origins.place(path);
      return { line, col };
    },
  };
}

/**
 * The `quick:` block (with --quick), then --set, --seed and --replications. Every bad --set and bad
 * `quick.set` entry is reported; none of them is applied, since a study checked without the change
 * the user asked for would only show its consequences.
 */
function applyOverrides(template: Record<string, unknown>, origins: FieldOrigins, opts: LoadOptions): boolean {
  const problems = new Problems();
  const quick = opts.quick === true && applyQuick(template, origins, problems);
  const sets = (opts.set ?? []).map((arg) => problems.run(() => parseSetArg(arg)));
  problems.throwIfAny();
  for (const o of sets) applySet(template, o!, origins);
  if (opts.seed !== undefined) {
    template.seed = opts.seed;
    origins.register(['seed'], { kind: 'flag', label: `--seed ${opts.seed}` });
  }
  if (opts.replications !== undefined) {
    template.replications = opts.replications;
    origins.register(['replications'], { kind: 'flag', label: `--replications ${opts.replications}` });
  }
  return quick;
}

type Exclusion = Record<string, SweepValue[]>;

/**
 * `exclude:` entries, checked against the sweep: each names sweep parameters (a misspelt one gets a
 * hint) and values they take. A sweep list reduced by --quick or --set may lack a value an exclusion
 * names, so only a list as the file wrote it must hold every excluded value. Every bad entry, name
 * and value is reported.
 */
function readExclude(template: Record<string, unknown>, sweep: { name: string; values: SweepValue[] }[], origins: FieldOrigins): Exclusion[] {
  const raw = template.exclude;
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw new InputError(origins.place(['exclude']).where, 'a list of sweep points to skip, such as [{ mode: userspace, services: [20000, 50000] }]', 'a ' + typeof raw);
  const problems = new Problems();
  const out = raw.map((entry, i) => {
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry) || Object.keys(entry).length === 0) {
      problems.add(new InputError(origins.place(['exclude', i]).where, 'a mapping of sweep parameters to values, such as { mode: userspace }', foundText(entry)));
      return {};
    }
    const exclusion: Exclusion = {};
    for (const [name, v] of Object.entries(entry as Record<string, unknown>)) {
      const values = problems.run(() => excludedValues(sweep, origins, i, name, v));
      if (values) exclusion[name] = values;
    }
    return exclusion;
  });
  problems.throwIfAny();
  return out;
}

/** The values one `exclude:` entry names for sweep parameter `name`, each checked against the sweep. */
function excludedValues(sweep: { name: string; values: SweepValue[] }[], origins: FieldOrigins, i: number, name: string, v: unknown): SweepValue[] {
  const names = sweep.map((s) => s.name);
  const param = sweep.find((s) => s.name === name);
  if (!param) {
    throw new InputError(
      origins.place(['exclude', i, name], { key: true }).where,
      names.length ? `a sweep parameter (${names.join(', ')})` : 'a sweep parameter, but the scenario has no sweep',
      `'${name}'`,
      didYouMean(name, names),
    );
  }
  const values = Array.isArray(v) ? v : [v];
  const problems = new Problems();
  values.forEach((value, j) => {
    const at: FieldPath = Array.isArray(v) ? ['exclude', i, name, j] : ['exclude', i, name];
    if (!['string', 'number', 'boolean'].includes(typeof value)) return problems.add(new InputError(origins.place(at).where, 'a string, number or boolean', foundText(value)));
    // A sweep list replaced by --set or the quick: block may leave out values an exclusion names.
    if (!sweepOverridden(origins, name) && !param.values.includes(value as SweepValue)) {
      problems.add(
        new InputError(
          origins.place(at).where,
          `a value of sweep.${name} (${param.values.map((x) => JSON.stringify(x)).join(', ')})`,
          JSON.stringify(value),
          didYouMean(String(value), param.values.map(String)),
        ),
      );
    }
  });
  problems.throwIfAny();
  return values as SweepValue[];
}

/** The lists of scalars in a `sweep:` mapping as written; anything else is left to readSweep to report. */
function scalarLists(sweep: unknown): Record<string, SweepValue[]> {
  const out: Record<string, SweepValue[]> = {};
  if (sweep === null || typeof sweep !== 'object' || Array.isArray(sweep)) return out;
  for (const [name, values] of Object.entries(sweep)) {
    if (Array.isArray(values) && values.every((v) => ['string', 'number', 'boolean'].includes(typeof v))) out[name] = values as SweepValue[];
  }
  return out;
}

/** A sweep list written by --set or the quick: block rather than at sweep.NAME in the file. */
function sweepOverridden(origins: FieldOrigins, name: string): boolean {
  const path: FieldPath = ['sweep', name];
  const o = origins.resolve(path);
  return o.kind === 'flag' || o.path.join('.') !== path.join('.');
}

function matchesExclusion(point: SweepPoint, e: Exclusion): boolean {
  return Object.entries(e).every(([name, values]) => values.includes(point[name]!));
}

function foundText(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  return typeof v === 'object' ? 'a mapping' : JSON.stringify(v);
}

/** The `sweep:` parameters; every bad name, list and value is reported. */
function readSweep(template: Record<string, unknown>, origins: FieldOrigins): { name: string; values: SweepValue[] }[] {
  const sweep = template.sweep;
  if (sweep === undefined || sweep === null) return [];
  if (typeof sweep !== 'object' || Array.isArray(sweep)) {
    throw new InputError(origins.place(['sweep']).where, 'a mapping of parameter names to lists of values', Array.isArray(sweep) ? 'a list' : JSON.stringify(sweep));
  }
  const problems = new Problems();
  const out = Object.entries(sweep).map(([name, values]) => ({ name, values: problems.run(() => sweepValues(name, values, origins)) ?? [] }));
  problems.throwIfAny();
  return out;
}

function sweepValues(name: string, values: unknown, origins: FieldOrigins): SweepValue[] {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
    throw new InputError(origins.place(['sweep', name], { key: true }).where, 'a parameter name of letters, digits and _', JSON.stringify(name));
  }
  if (!Array.isArray(values) || values.length === 0) {
    throw new InputError(origins.place(['sweep', name]).where, 'a non-empty list of values, such as [iptables, ipvs]', Array.isArray(values) ? 'an empty list' : JSON.stringify(values));
  }
  const problems = new Problems();
  const seen = new Set<string>();
  values.forEach((v, i) => {
    const key = JSON.stringify(v);
    if (!['string', 'number', 'boolean'].includes(typeof v)) {
      problems.add(new InputError(origins.place(['sweep', name, i]).where, 'a string, number or boolean', v === null ? 'null' : 'a list or mapping'));
    } else if (seen.has(key)) {
      problems.add(new InputError(origins.place(['sweep', name, i]).where, 'distinct values', `${key} twice`));
    }
    seen.add(key);
  });
  problems.throwIfAny();
  return values as SweepValue[];
}

/**
 * Every `${param}` names a sweep parameter, and every parameter is referenced somewhere. A misspelt
 * reference also leaves its parameter unreferenced, so the unreferenced ones are reported only when
 * every reference is good.
 */
function checkReferences(template: Record<string, unknown>, sweep: { name: string; values: SweepValue[] }[], origins: FieldOrigins): void {
  const names = sweep.map((s) => s.name);
  const refs = findReferences(template);
  const unknown = new Problems();
  for (const r of refs) {
    if (!names.includes(r.param)) {
      unknown.add(
        new InputError(
          origins.place(r.path).where,
          names.length ? `a sweep parameter (${names.join(', ')})` : 'a sweep parameter, but the scenario has no sweep',
          `\${${r.param}}`,
          didYouMean(r.param, names),
        ),
      );
    }
  }
  unknown.throwIfAny();
  const unused = new Problems();
  for (const s of sweep) {
    if (!refs.some((r) => r.param === s.name)) {
      unused.add(
        new InputError(
          origins.place(['sweep', s.name], { key: true }).where,
          `a reference to \${${s.name}} in some field, since every sweep parameter changes the scenario`,
          'no reference',
          `write "\${${s.name}}" where the value goes, or remove the parameter`,
        ),
      );
    }
  }
  unused.throwIfAny();
}

/**
 * Every point substituted and validated. The schema's problems of all points are reported together,
 * each once; the files the points name (manifests, calibration) are looked for only when the schema
 * holds, since a path of a field that failed is no path at all.
 */
function resolvePoints(
  template: Record<string, unknown>,
  kept: readonly SweepPoint[],
  sweep: { name: string; values: SweepValue[] }[],
  origins: FieldOrigins,
  baseDir: string,
): ResolvedPoint[] {
  const schemaProblems: RankedProblem[] = [];
  const parsed = kept.map((params) => {
    const used: { path: FieldPath; param: string }[] = [];
    const r = scenarioSchema.safeParse(substitute(template, params, used), { reportInput: true });
    if (!r.success) schemaProblems.push(...describeIssues(r.error.issues, origins, substitutionInfo(used, params, sweep)));
    return r.data;
  });
  if (schemaProblems.length > 0) throw combineInputErrors(orderProblems(schemaProblems));
  const problems = new Problems();
  const points = kept.map((params, index) => ({ index, params, scenario: problems.run(() => resolveFiles(parsed[index]!, origins, baseDir))! }));
  problems.throwIfAny();
  return points;
}

function substitutionInfo(used: readonly { path: FieldPath; param: string }[], params: SweepPoint, sweep: { name: string; values: SweepValue[] }[]): SubstitutionInfo[] {
  return used.map((u) => {
    const values = sweep.find((s) => s.name === u.param)!.values;
    const value = params[u.param];
    return { path: u.path, param: u.param, value, sweepPath: ['sweep', u.param, values.indexOf(value!)] };
  });
}

/** The manifests path made absolute, and the costs: defaults, then the calibration file, then the overrides. */
function resolveFiles(s: ScenarioOutput, origins: FieldOrigins, baseDir: string): ResolvedScenario {
  const problems = new Problems();
  const cluster = { ...s.cluster };
  if (cluster.manifests !== undefined) {
    const manifests = cluster.manifests;
    cluster.manifests = problems.run(() => existingPath(baseDir, manifests, ['cluster', 'manifests'], origins, 'Kubernetes manifests'));
  }
  const { calibration, ...overrides } = (s.costs ?? {}) as DeepPartial<CostModel> & { calibration?: string };
  let costs = DEFAULT_COSTS;
  if (calibration !== undefined) {
    const calibrated = problems.run(() => {
      const path = existingPath(baseDir, calibration, ['costs', 'calibration'], origins, 'a calibration file');
      return readCalibration(path, origins.place(['costs', 'calibration']).where);
    });
    if (calibrated) costs = withCosts(costs, calibrated);
  }
  const connectFile = s.connectSetup?.calibration;
  const connectSetup = connectFile === undefined ? s.connectSetup : { ...s.connectSetup!, calibration: problems.run(() => {
    const path = existingPath(baseDir, connectFile, ['connectSetup', 'calibration'], origins, 'a connect-latency file');
    readConnectKernel(path, origins.place(['connectSetup', 'calibration']).where);
    return path;
  }) };
  problems.throwIfAny();
  costs = withCosts(costs, overrides);
  return { ...s, cluster, costs, ...(connectSetup ? { connectSetup } : {}) };
}

function existingPath(baseDir: string, rel: string, at: FieldPath, origins: FieldOrigins, what: string): string {
  const abs = resolve(baseDir, rel);
  if (!existsSync(abs)) throw new InputError(origins.place(at).where, `a path to ${what} (relative to the scenario file)`, `${JSON.stringify(rel)}: no such file`);
  return abs;
}


