/**
 * `svcsim calibrate`: checks the host, runs the probes in throw-away namespaces, fits the
 * CostModel, and writes the calibration JSON, a Markdown report and its charts. Reads the wall
 * clock, which is why it lives outside sim/.
 */
import { cpus, loadavg, release } from 'node:os';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { InputError, isInputError } from '../sim/io/input-error.ts';
import { printableMessage, textOf } from '../sim/io/excerpt.ts';
import { dirname, join, basename } from 'node:path';
import { writeFileAtomic } from '../sim/io/atomic-write.ts';
import { DEFAULT_COSTS, withCosts } from '../sim/cost/cost-model.ts';
import { CALIBRATION_KIND, CALIBRATION_VERSION, fitCostModel, mergePoints, type CalibrationFile, type CalibrationPoints, type HostInfo } from './model.ts';
import { NamespaceRegistry } from './namespaces.ts';
import { missingMessage, missingPrerequisites, realHost } from './preflight.ts';
import { measureConntrack, measureRestore, measureVmap, measureWalk } from './probes.ts';
import type { TopLevelSpec } from 'vega-lite';
import { FULL_PLAN, QUICK_PLAN, type CalibrationPlan } from './plan.ts';
import { calibrationCharts, calibrationReport } from './report.ts';
import { measureEbpfIfPossible } from './ebpf/measure.ts';

export class MissingPrerequisites extends Error {
  constructor(readonly missing: string[]) {
    super(missingMessage(missing));
  }
}

function version(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return (r.stdout || r.stderr || 'unknown').trim().split('\n')[0]!;
}

function hostInfo(loadavgStart: number[]): HostInfo {
  const round = (v: number[]) => v.map((l) => Math.round(l * 100) / 100);
  return {
    kernel: release(),
    iptables: `${version('iptables-legacy', ['--version'])}; ${version('iptables-nft', ['--version'])}`,
    nft: version('nft', ['--version']),
    conntrack: version('conntrack', ['--version']),
    cpuModel: cpus()[0]?.model ?? 'unknown',
    cpus: cpus().length,
    loadavgStart: round(loadavgStart),
    loadavgEnd: round(loadavg()),
  };
}

/**
 * Runs every probe of the plan. Throws MissingPrerequisites, having removed its preflight namespace,
 * before creating anything else. The registry (and with it the SIGINT/SIGTERM handler that removes
 * everything and exits 130/143) exists before the first namespace, the preflight's, is made.
 */
export async function measure(plan: CalibrationPlan, log: (s: string) => void): Promise<{ points: CalibrationPoints; host: HostInfo }> {
  const reg = new NamespaceRegistry();
  try {
    const preflight = reg.nextName('preflight');
    reg.adopt(preflight);
    const missing = missingPrerequisites(realHost, preflight);
    reg.forget(preflight);
    if (missing.length) throw new MissingPrerequisites(missing);
    const load0 = loadavg();
    const points: CalibrationPoints = { walk: [], restore: [], update: [], vmap: [] };
    const e = plan.endpointsPerService;
    for (const b of plan.backends) {
      const r = await measureRestore(reg, b, { ...plan.restore, endpointsPerService: e }, log);
      points.restore.push(...r.restore);
      points.update.push(...r.update);
    }
    for (const b of plan.backends) points.walk.push(...(await measureWalk(reg, b, { ...plan.walk, endpointsPerService: e }, log)));
    if (plan.vmap.services.length) points.vmap = await measureVmap(reg, { ...plan.vmap, endpointsPerService: e }, log);
    if (plan.conntrack) points.conntrack = await measureConntrack(reg, plan.conntrack, log);
    const ebpf = await measureEbpfIfPossible(reg, plan, log);
    if (ebpf) points.ebpf = ebpf;
    return { points, host: hostInfo(load0) };
  } finally {
    reg.close();
  }
}

export function buildCalibrationFile(points: CalibrationPoints, host: HostInfo, plan: CalibrationPlan, measuredAt: string, command: string): CalibrationFile {
  const m = fitCostModel(points);
  const file: CalibrationFile = {
    kind: CALIBRATION_KIND,
    version: CALIBRATION_VERSION,
    measuredAt,
    quick: plan.quick,
    endpointsPerService: plan.endpointsPerService,
    command,
    host,
    costs: m.costs,
    fits: m.fits,
    warnings: m.warnings,
    points,
  };
  if (m.conntrack) file.conntrack = m.conntrack;
  if (m.ebpf) file.ebpf = m.ebpf;
  return file;
}

export interface CalibrateOutputs {
  json: string;
  report: string;
  charts: string[];
  /** Why charts were not rendered (the report still lists every figure), if they were not. */
  chartsSkipped?: string;
}

type RenderChart = (spec: TopLevelSpec) => Promise<{ svg: string; png: Uint8Array }>;

/**
 * reports/render.ts (vega-lite -> SVG and PNG) loads vega and resvg, which only the charts need; it is
 * imported when charts are drawn, and a failure to load it leaves the calibration and its report
 * written, with the charts as vega-lite JSON.
 */
async function loadRenderer(): Promise<RenderChart | string> {
  try {
    const mod = await import('../reports/render.ts');
    return mod.renderChart;
  } catch (e) {
    return `reports/render.ts could not be loaded (${(e as Error).message.split('\n')[0]})`;
  }
}

/** Writes the calibration JSON at `out`, and `<name>.md` plus `<name>-charts/` beside it. */
export async function writeCalibration(file: CalibrationFile, out: string): Promise<CalibrateOutputs> {
  const stem = basename(out).replace(/\.json$/, '');
  const chartDirName = `${stem}-charts`;
  const chartDir = join(dirname(out), chartDirName);
  const reportPath = join(dirname(out), `${stem}.md`);
  const calibrated = withCosts(DEFAULT_COSTS, file.costs);
  const charts = calibrationCharts(file, DEFAULT_COSTS, calibrated);
  const render = await loadRenderer();
  const written: string[] = [];
  for (const c of charts) {
    writeFileAtomic(join(chartDir, `${c.name}.vl.json`), `${JSON.stringify(c.spec, null, 2)}\n`);
    if (typeof render === 'string') continue;
    const rendered = await render(c.spec);
    writeFileAtomic(join(chartDir, `${c.name}.svg`), rendered.svg);
    writeFileAtomic(join(chartDir, `${c.name}.png`), rendered.png);
    written.push(join(chartDir, `${c.name}.svg`));
  }
  writeFileAtomic(out, `${JSON.stringify(file, null, 2)}\n`);
  const shown = typeof render === 'string' ? [] : charts;
  writeFileAtomic(reportPath, calibrationReport(file, DEFAULT_COSTS, calibrated, { jsonName: basename(out), chartDir: chartDirName, charts: shown }));
  return { json: out, report: reportPath, charts: written, ...(typeof render === 'string' ? { chartsSkipped: render } : {}) };
}

export interface CalibrateOptions {
  quick: boolean;
  out: string;
  /** The command line, recorded in the file. */
  command: string;
  log: (line: string) => void;
}

/**
 * The whole `svcsim calibrate`: measure (throws MissingPrerequisites before creating anything),
 * fit, write. Returns what was written and the file, for the caller's summary.
 */
export async function runCalibrate(o: CalibrateOptions): Promise<{ file: CalibrationFile; outputs: CalibrateOutputs }> {
  const plan = o.quick ? QUICK_PLAN : FULL_PLAN;
  const started = new Date().toISOString();
  const { points, host } = await measure(plan, o.log);
  const file = buildCalibrationFile(points, host, plan, started, o.command);
  const outputs = await writeCalibration(file, o.out);
  return { file, outputs };
}

/**
 * Fits and writes again from the points of earlier calibration files (`svcsim calibrate --from FILE
 * [--from FILE2...]`), with no measuring: for a change of the fitting or the report, or of the
 * defaults the report compares with, or to combine runs (each point the median of the runs that
 * measured it, mergePoints). The first file's host and date are kept, with the others' dates and
 * load averages recorded in the command.
 */
export async function refitCalibration(from: string | string[], out: string, command: string): Promise<{ file: CalibrationFile; outputs: CalibrateOutputs }> {
  const files = (Array.isArray(from) ? from : [from]).map((f) => readCalibrationFile(f));
  const first = files[0]!;
  const forms = new Set(files.map((f) => `${f.quick} ${f.endpointsPerService ?? 4}`));
  if (forms.size > 1) throw new InputError(`--from ${[from].flat().join(' ')}`, 'runs of the same form (all full or all --quick, same endpoints per service)', [...forms].join('; '));
  const plan = { ...(first.quick ? QUICK_PLAN : FULL_PLAN), endpointsPerService: first.endpointsPerService ?? 4 };
  const points = mergePoints(files.map((f) => f.points));
  const provenance = files.length > 1 ? `; median of ${files.length} runs: ${files.map((f) => `${f.measuredAt} (load ${f.host.loadavgStart[0]}-${f.host.loadavgEnd[0]})`).join(', ')}` : '';
  const file = buildCalibrationFile(points, first.host, plan, first.measuredAt, `${first.command} (refitted: ${command}${provenance})`);
  return { file, outputs: await writeCalibration(file, out) };
}

function readCalibrationFile(from: string): CalibrationFile {
  let old: CalibrationFile;
  try {
    old = JSON.parse(textOf(from, readFileSync(from), 'a calibration JSON written by svcsim calibrate')) as CalibrationFile;
  } catch (e) {
    if (isInputError(e)) throw e;
    throw new InputError(`--from ${from}`, 'a calibration JSON written by svcsim calibrate', printableMessage((e as Error).message));
  }
  if (old?.kind !== CALIBRATION_KIND || !old.points || !Array.isArray(old.points.restore)) {
    throw new InputError(`--from ${from}`, `a calibration JSON written by svcsim calibrate (kind "${CALIBRATION_KIND}" with points)`, JSON.stringify(old?.kind));
  }
  return old;
}

/** A few lines for the terminal: each fitted field beside its default. */
export function calibrationSummary(file: CalibrationFile): string {
  const lines: string[] = [];
  const flat = (prefix: string, v: unknown): [string, number][] =>
    typeof v === 'number' ? [[prefix, v]] : v && typeof v === 'object' ? Object.entries(v).flatMap(([k, x]) => flat(prefix ? `${prefix}.${k}` : k, x)) : [];
  for (const [field, value] of flat('', file.costs)) {
    const def = flat('', DEFAULT_COSTS).find(([f]) => f === field)?.[1];
    lines.push(`  ${field.padEnd(32)} ${String(value).padStart(12)} ns   (default ${def ?? '-'})`);
  }
  for (const [name, f] of Object.entries(file.fits)) lines.push(`  fit ${name.padEnd(28)} R^2 ${f.r2.toFixed(3)}  n=${f.n}`);
  for (const w of file.warnings) lines.push(`  warning: ${w}`);
  return lines.join('\n');
}
