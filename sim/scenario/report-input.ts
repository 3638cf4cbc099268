import { svcsimVersion } from './version.ts';
import { reportReferences } from './reference-input.ts';
import type { FindingSpec } from '../../reports/findings.ts';
import type { ChartSpec as ReportChart, ReportInput, RunRow, ScenarioMeta, SweepPoint as ReportPoint, TimeseriesRow as ReportSeriesRow } from '../../reports/types.ts';
import { SECOND } from '../engine/time.ts';
import type { LoadedScenario } from './load.ts';
import type { ResolvedScenario } from './schema.ts';
import { MODEL_METRICS } from './metric-info.ts';
import { modeAssumptions } from '../proxy/cost/assumptions.ts';
import type { RunPointResult } from './run-point-contract.ts';
import { manifestAssumptions } from './manifest-assumptions.ts';
import { topologyAssumptions } from './run-point-topology.ts';
import type { StudyResult } from './runner.ts';
import type { SweepPoint } from './sweep.ts';

/** The study as reports/ takes it: meta, a row per run, and the runs' time series. */
export function toReportInput(loaded: LoadedScenario, study: StudyResult): ReportInput {
  return { meta: reportMeta(loaded, study.partial), ...reportRows(study.runs) };
}

/** A run as the rows are made from it: its place in the sweep and what the model returned. */
export interface RowSource {
  spec: { point: SweepPoint; replication: number; seed: number };
  result: RunPointResult;
}

/** The runs' rows and time-series rows, in the order given. */
export function reportRows(studyRuns: readonly RowSource[]): Pick<ReportInput, 'runs' | 'timeseries'> {
  const runs: RunRow[] = [];
  const timeseries: ReportSeriesRow[] = [];
  for (const { spec, result } of studyRuns) {
    const point = reportPoint(spec.point);
    runs.push({ point, replication: spec.replication, seed: spec.seed, metrics: result.metrics });
    for (const row of result.timeseries) {
      timeseries.push({ point, replication: spec.replication, t: row.t / SECOND, series: row.series, value: row.value });
    }
  }
  return { runs, timeseries };
}

/** What reports/ is told about the study itself. */
export function reportMeta(loaded: LoadedScenario, partial: boolean): ScenarioMeta {
  const first = loaded.points[0]!.scenario;
  return {
    name: loaded.name,
    question: loaded.question,
    // The study's own statements, then those of the comparison modes it runs (their models' assumptions).
    // Then, on manifests, the defaults used where the dump lacks a value and the objects ignored.
    assumptions: [...first.assumptions, ...modeAssumptions(loaded.points.map((p) => p.scenario.proxy.mode)), ...manifestAssumptions(loaded), ...topologyAssumptions(loaded.points)],
    scenario: loaded.template,
    svcsimVersion: svcsimVersion(),
    seed: loaded.seed,
    replications: loaded.replications,
    sweep: reportSweep(loaded),
    excluded: loaded.excluded,
    ...declaredSweep(loaded),
    charts: first.charts.map(reportChart),
    expectations: first.expect,
    findings: reportFindings(loaded),
    partial,
    metrics: MODEL_METRICS,
    source: loaded.text,
    ...(first.reference ? { references: reportReferences(first.reference) } : {}),
  };
}

/** The sweep as reports/ takes it: parameters in declared order, each with its values in order. */
export function reportSweep(loaded: LoadedScenario): Record<string, (string | number)[]> {
  const sweep: Record<string, (string | number)[]> = {};
  for (const s of loaded.sweep) sweep[s.name] = s.values.map(reportValue);
  return sweep;
}

/** The file's own lists of the sweep parameters --quick or --set replaced, when there are any. */
export function declaredSweep(loaded: LoadedScenario): { declaredSweep?: Record<string, (string | number)[]> } {
  const out: Record<string, (string | number)[]> = {};
  for (const s of loaded.sweep) {
    const declared = loaded.declaredSweep[s.name];
    if (declared && loaded.sweepOverridden(s.name)) out[s.name] = declared.map(reportValue);
  }
  return Object.keys(out).length > 0 ? { declaredSweep: out } : {};
}

/** reports/ takes strings and numbers; a boolean sweep value is written as "true"/"false". */
function reportValue(v: string | number | boolean): string | number {
  return typeof v === 'boolean' ? String(v) : v;
}

/** A selection (`where`, `of`, `to`) as reports/ takes it: values as the points carry them (booleans as text). */
function reportWhere(w: Record<string, string | number | boolean | (string | number | boolean)[]>): Record<string, string | number | (string | number)[]> {
  return Object.fromEntries(Object.entries(w).map(([k, v]) => [k, Array.isArray(v) ? v.map(reportValue) : reportValue(v)]));
}

/** A chart as reports/ takes it. */
function reportChart(chart: ResolvedScenario['charts'][number]): ReportChart {
  const { where, ...rest } = chart;
  return where === undefined ? rest : { ...rest, where: reportWhere(where) };
}

/** The study's `answer:` as reports/ takes it. */
export function reportFindings(loaded: LoadedScenario): FindingSpec[] {
  return loaded.points[0]!.scenario.answer.map(reportFinding);
}

/** A finding as reports/ takes it. */
function reportFinding(f: ResolvedScenario['answer'][number]): FindingSpec {
  const out: FindingSpec = { say: f.say };
  if (f.first) out.first = f.first.by === undefined ? { x: f.first.x, when: f.first.when } : { x: f.first.x, when: f.first.when, by: f.first.by };
  if (f.ratio) out.ratio = { y: f.ratio.y, of: reportWhere(f.ratio.of), to: reportWhere(f.ratio.to) };
  if (f.rank) out.rank = f.rank.where === undefined ? { y: f.rank.y, by: f.rank.by } : { y: f.rank.y, by: f.rank.by, where: reportWhere(f.rank.where) };
  return out;
}

function reportPoint(p: SweepPoint): ReportPoint {
  const out: ReportPoint = {};
  for (const [k, v] of Object.entries(p)) out[k] = reportValue(v);
  return out;
}
