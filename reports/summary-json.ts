import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { InputError } from '../sim/io/input-error.ts';
import { printableMessage, textOf } from '../sim/io/excerpt.ts';
import type { ExpectationResult } from './expectations.ts';
import { byCodeUnit } from './points.ts';
import { runCounts } from './report-doc.ts';
import { baseName, metricInfo } from './units.ts';
import type { Better, ChartSpec, MetricSummary, MetricUnit, ParamValue, PointSummary, ScenarioMeta } from './types.ts';

/**
 * summary.json: everything about a run folder in one file, enough to reproduce it (the scenario as
 * loaded, the svcsim version, the seed) and to compare it with another (`svcsim compare`).
 *
 * Deterministic bytes: keys are in a fixed order (the scenario's own objects with sorted keys,
 * points in sweep order, metrics sorted), numbers in JavaScript's shortest round-trip form, no
 * timestamps and nothing from the wall clock. NaN (not measured) is written as null.
 */
export const SUMMARY_FORMAT = 'svcsim-summary/1';

export interface SummaryDoc {
  format: typeof SUMMARY_FORMAT;
  name: string;
  question: string;
  svcsimVersion: string;
  seed: number | string;
  replications: number;
  partial: boolean;
  /** Runs the sweep asked for (points x replications) and runs that finished. */
  runs: { expected: number; finished: number };
  sweep: Record<string, ParamValue[]>;
  /** Unit and direction of every metric present (declared or by the naming rule of reports/units.ts). */
  metrics: Record<string, { unit: MetricUnit; better: Better; description?: string }>;
  points: PointSummary[];
  expectations: {
    index: number;
    text: string;
    point: Record<string, ParamValue>;
    status: ExpectationResult['status'];
    actual: number;
    limit: number;
    excess: number;
  }[];
  assumptions: string[];
  charts: ChartSpec[];
  scenario: unknown;
}

/** A copy with object keys sorted at every level (arrays keep their order). */
export function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort(byCodeUnit)) {
      const x = (v as Record<string, unknown>)[k];
      if (x !== undefined) out[k] = canonical(x);
    }
    return out;
  }
  return v;
}

function orderedSummary(s: MetricSummary): MetricSummary {
  return { n: s.n, mean: s.mean, stdev: s.stdev, ci95Low: s.ci95Low, ci95High: s.ci95High };
}

function orderedChart(c: ChartSpec): ChartSpec {
  const out: ChartSpec = { title: c.title, x: c.x, y: c.y };
  if (c.color !== undefined) out.color = c.color;
  if (c.xScale !== undefined) out.xScale = c.xScale;
  if (c.yScale !== undefined) out.yScale = c.yScale;
  if (c.kind !== undefined) out.kind = c.kind;
  if (c.errorBars !== undefined) out.errorBars = c.errorBars;
  if (c.name !== undefined) out.name = c.name;
  return out;
}

export function buildSummaryDoc(
  meta: ScenarioMeta,
  points: readonly PointSummary[],
  metricNames: readonly string[],
  expectations: readonly ExpectationResult[],
): SummaryDoc {
  const metrics: SummaryDoc['metrics'] = {};
  for (const m of [...metricNames].sort(byCodeUnit)) {
    const info = metricInfo(m, meta.metrics);
    const description = meta.metrics?.[m]?.description ?? meta.metrics?.[baseName(m)]?.description;
    metrics[m] = description === undefined ? { unit: info.unit, better: info.better } : { unit: info.unit, better: info.better, description };
  }
  const sweep: Record<string, ParamValue[]> = {};
  for (const [k, v] of Object.entries(meta.sweep)) sweep[k] = [...v];
  return {
    format: SUMMARY_FORMAT,
    name: meta.name,
    question: meta.question,
    svcsimVersion: meta.svcsimVersion,
    seed: meta.seed,
    replications: meta.replications,
    partial: meta.partial,
    runs: runCounts({ meta, points }),
    sweep,
    metrics,
    points: points.map((p) => {
      const ms: Record<string, MetricSummary> = {};
      for (const k of Object.keys(p.metrics).sort(byCodeUnit)) ms[k] = orderedSummary(p.metrics[k]!);
      return { point: { ...p.point }, runs: p.runs, metrics: ms };
    }),
    expectations: expectations.map((e) => ({
      index: e.index,
      text: e.text,
      point: { ...e.point },
      status: e.status,
      actual: e.actual,
      limit: e.limit,
      excess: e.excess,
    })),
    assumptions: [...meta.assumptions],
    charts: meta.charts.map(orderedChart),
    scenario: canonical(meta.scenario),
  };
}

export function stringifySummaryDoc(doc: SummaryDoc): string {
  return JSON.stringify(doc, null, 2) + '\n';
}

// Reading summary.json back (svcsim compare). Nulls become NaN again.
const num = z.union([z.number(), z.null()]).transform((v) => (v === null ? NaN : v));
const paramValue = z.union([z.string(), z.number()]);
const metricSummary = z.object({ n: z.number().int().nonnegative(), mean: num, stdev: num, ci95Low: num, ci95High: num });
const docSchema = z.object({
  format: z.literal(SUMMARY_FORMAT),
  name: z.string(),
  question: z.string(),
  svcsimVersion: z.string(),
  seed: z.union([z.number(), z.string()]),
  replications: z.number().int().nonnegative(),
  partial: z.boolean(),
  runs: z.object({ expected: z.number(), finished: z.number() }),
  sweep: z.record(z.string(), z.array(paramValue)),
  metrics: z.record(
    z.string(),
    z.object({ unit: z.enum(['ns', 'ratio', 'count', 'perSecond', 'bytes', 'none']), better: z.enum(['lower', 'higher', 'none']), description: z.string().optional() }),
  ),
  points: z.array(z.object({ point: z.record(z.string(), paramValue), runs: z.number().int().nonnegative(), metrics: z.record(z.string(), metricSummary) })),
  expectations: z.array(z.any()),
  assumptions: z.array(z.string()),
  charts: z.array(z.any()),
  scenario: z.unknown(),
});

/** Parses summary.json text; any mismatch is an InputError naming the file and the field. */
export function parseSummaryDoc(text: string, file: string): SummaryDoc {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new InputError(file, 'a summary.json file (JSON)', `text that is not JSON (${printableMessage((e as Error).message)})`);
  }
  if (raw === null || typeof raw !== 'object' || (raw as { format?: unknown }).format !== SUMMARY_FORMAT) {
    const f = raw !== null && typeof raw === 'object' ? (raw as { format?: unknown }).format : undefined;
    throw new InputError(
      `${file}: format`,
      `"${SUMMARY_FORMAT}" (the summary.json a scenario run writes)`,
      f === undefined ? 'no format field' : JSON.stringify(f),
    );
  }
  const parsed = docSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const path = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '');
    throw new InputError(`${file}: ${path || '(top level)'}`, 'a valid summary.json field', printableMessage(issue.message));
  }
  return parsed.data as unknown as SummaryDoc;
}

export function readSummaryDoc(file: string): SummaryDoc {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(file, 'a readable summary.json file', code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'a directory' : String(code ?? e));
  }
  return parseSummaryDoc(textOf(file, bytes, 'a summary.json file'), file);
}
