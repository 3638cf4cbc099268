import { InputError } from '../sim/io/input-error.ts';
import { checkParam, checkWhere, inWhere, selectionText } from './charts.ts';
import { closest, holds, parseExpectation } from './expectations.ts';
import { pointLabel, type Sweep } from './points.ts';
import { formatValue, metricInfo, significant } from './units.ts';
import type { MetricInfo, MetricSummary, ParamValue, PointSummary } from './types.ts';

/**
 * A study's `answer:`: the questions it asks, each answered by a computation over the figures, so
 * the report opens with answers to the study's own question rather than a description of each chart.
 * The study writes what is asked (`say`) and how to read it; the numbers and the verdict come from
 * the run:
 * - `first`: along `x`, the first value where a condition (an `expect:`-style line, with an optional
 *   selector) holds, per value of `by`: "where does the table start to drop?";
 * - `ratio`: one selection's metric over another's: "how much slower is iptables at 1000 Services?";
 * - `rank`: the values of `by` ordered by a metric at a selection: "which mode is fastest?".
 * Means over replications, as the charts draw them; a ratio says when the 95% intervals overlap.
 */
export type Where = Record<string, ParamValue | ParamValue[]>;

export interface FindingSpec {
  say: string;
  first?: { x: string; when: string; by?: string };
  ratio?: { y: string; of: Where; to: Where };
  rank?: { y: string; by: string; where?: Where };
}

interface Context {
  points: readonly PointSummary[];
  sweep: Sweep;
  metrics?: Record<string, MetricInfo>;
  /** The file's sweep lists --quick or --set replaced (a `when` may select their values). */
  declaredSweep?: Sweep;
}

/** Checks what can be checked before a run; a mistake names `answer[i]...`. `known`: metric names the runs write. */
export function checkFindings(findings: readonly FindingSpec[], sweep: Sweep, known?: readonly string[], declaredSweep?: Sweep): void {
  const param = (name: string, at: string) => checkParam(name, sweep, at);
  const metric = (name: string, at: string) => {
    if (!known || known.includes(name)) return;
    const near = closest(name, known);
    throw new InputError(at, 'a metric the runs measure (a column of runs.csv)', JSON.stringify(name), near ? `did you mean ${near}?` : undefined);
  };
  const where = (w: Where | undefined, at: string) => {
    if (w) checkWhere(w, sweep, at);
  };
  findings.forEach((f, i) => {
    const at = `answer[${i}]`;
    const kinds = (['first', 'ratio', 'rank'] as const).filter((k) => f[k] !== undefined);
    if (kinds.length !== 1) throw new InputError(at, 'exactly one of first, ratio, rank', kinds.length ? kinds.join(' and ') : 'none');
    if (f.first) {
      param(f.first.x, `${at}.first.x`);
      if (f.first.by !== undefined) param(f.first.by, `${at}.first.by`);
      // (parseExpectation itself refuses a metric not in `known`)
      parseExpectation(f.first.when, 0, sweep, { where: (_i, column) => `${at}.first.when, column ${column} of the text`, ...(known ? { knownMetrics: known } : {}), ...(declaredSweep ? { declaredSweep } : {}) });
    }
    if (f.ratio) {
      metric(f.ratio.y, `${at}.ratio.y`);
      where(f.ratio.of, `${at}.ratio.of`);
      where(f.ratio.to, `${at}.ratio.to`);
    }
    if (f.rank) {
      metric(f.rank.y, `${at}.rank.y`);
      param(f.rank.by, `${at}.rank.by`);
      where(f.rank.where, `${at}.rank.where`);
    }
  });
}

/**
 * A selection naming a value this run's sweep lacks (--quick or --set replaced the list): the text
 * saying so, else undefined.
 */
function outOfRun(ctx: Context, ...wheres: (Where | undefined)[]): string | undefined {
  for (const w of wheres) {
    for (const [name, sel] of Object.entries(w ?? {})) {
      const values = (ctx.sweep[name] ?? []).map(String);
      const missing = (Array.isArray(sel) ? sel : [sel]).map(String).filter((v) => !values.includes(v));
      if (missing.length > 0) return `not run here (--quick or --set left out ${name}=${missing.join('|')})`;
    }
  }
  return undefined;
}

/** One sentence per finding, `say: result.`; a finding none of whose points ran says so. */
export function answerFindings(findings: readonly FindingSpec[], ctx: Context): string[] {
  return findings.map((f) => {
    const result = f.first
      ? first(f.first, ctx)
      : f.ratio
        ? (outOfRun(ctx, f.ratio.of, f.ratio.to) ?? ratio(f.ratio, ctx))
        : (outOfRun(ctx, f.rank!.where) ?? rank(f.rank!, ctx));
    return `${f.say.replace(/[.?:]\s*$/, '')}: ${result}.`;
  });
}

function fmt(metric: string, v: number, ctx: Context): string {
  return formatValue(v, metricInfo(metric, ctx.metrics).unit);
}

function measured(p: PointSummary, metric: string): MetricSummary | undefined {
  const s = p.metrics[metric];
  return s && !Number.isNaN(s.mean) ? s : undefined;
}

function first(spec: NonNullable<FindingSpec['first']>, ctx: Context): string {
  const e = parseExpectation(spec.when, 0, ctx.sweep, ctx.declaredSweep ? { declaredSweep: ctx.declaredSweep } : {});
  if (e.outOfRun) return `not run here (--quick or --set left out the values "${spec.when}" selects)`;
  const xs = ctx.sweep[spec.x] ?? [];
  const groups = spec.by === undefined ? [undefined] : (ctx.sweep[spec.by] ?? []);
  const parts: string[] = [];
  for (const g of groups) {
    const pts = ctx.points.filter((p) => inWhere(p.point, e.selector) && (g === undefined || String(p.point[spec.by!]) === String(g)) && measured(p, e.metric));
    if (pts.length === 0) continue;
    const label = g === undefined ? '' : `for ${spec.by}=${g} `;
    let found: string | undefined;
    for (const x of xs) {
      const at = pts.filter((p) => String(p.point[spec.x]) === String(x));
      // Every point at this x (other parameters may vary) must meet the condition.
      if (at.length > 0 && at.every((p) => holds(measured(p, e.metric)!.mean, e.op, e.limit))) {
        const means = at.map((p) => measured(p, e.metric)!.mean);
        found = `from ${spec.x}=${x} (${fmt(e.metric, Math.min(...means), ctx)}${means.length > 1 ? `–${fmt(e.metric, Math.max(...means), ctx)}` : ''})`;
        break;
      }
    }
    if (found === undefined) {
      const ran = xs.filter((x) => pts.some((p) => String(p.point[spec.x]) === String(x)));
      const values = pts.map((p) => measured(p, e.metric)!.mean);
      const range = ran.length > 1 ? `${spec.x}=${ran[0]}–${ran[ran.length - 1]}` : `${spec.x}=${ran[0]}`;
      const lo = fmt(e.metric, Math.min(...values), ctx);
      const hi = fmt(e.metric, Math.max(...values), ctx);
      found = `not within ${range} (${lo === hi ? lo : `${lo} to ${hi}`})`;
    }
    parts.push(label + found);
  }
  return parts.length ? `${e.metric} ${e.op} ${e.limitText} ${parts.join('; ')}` : `no point measured ${e.metric}`;
}

/** The one point a selection names (the mean over the points it matches, when several do). */
function select(where: Where, metric: string, ctx: Context): { mean: number; lo: number; hi: number; label: string } | undefined {
  const pts = ctx.points.filter((p) => inWhere(p.point, where) && measured(p, metric));
  if (pts.length === 0) return undefined;
  const label = selectionText(where, ' ');
  if (pts.length === 1) {
    const s = measured(pts[0]!, metric)!;
    return { mean: s.mean, lo: s.ci95Low, hi: s.ci95High, label };
  }
  const mean = pts.reduce((a, p) => a + measured(p, metric)!.mean, 0) / pts.length;
  return { mean, lo: NaN, hi: NaN, label: `${label} (mean of ${pts.length} points)` };
}

function ratio(spec: NonNullable<FindingSpec['ratio']>, ctx: Context): string {
  const a = select(spec.of, spec.y, ctx);
  const b = select(spec.to, spec.y, ctx);
  if (!a || !b) return `not measured at ${!a ? 'the first' : 'the second'} selection`;
  let text = `${spec.y} ${fmt(spec.y, a.mean, ctx)} at ${a.label} against ${fmt(spec.y, b.mean, ctx)} at ${b.label}`;
  if (b.mean !== 0) text += `: ${significant(a.mean / b.mean)}×`;
  if ([a.lo, a.hi, b.lo, b.hi].every(Number.isFinite)) {
    text += a.lo <= b.hi && b.lo <= a.hi ? ' (the 95% intervals overlap: the replications cannot tell them apart)' : ' (95% intervals apart)';
  }
  return text;
}

function rank(spec: NonNullable<FindingSpec['rank']>, ctx: Context): string {
  const names = Object.keys(ctx.sweep);
  const pts = ctx.points.filter((p) => inWhere(p.point, spec.where) && measured(p, spec.y));
  if (pts.length === 0) return `no point measured ${spec.y}`;
  const byValue = new Map<string, number[]>();
  for (const p of pts) {
    const k = String(p.point[spec.by]);
    const list = byValue.get(k) ?? [];
    list.push(measured(p, spec.y)!.mean);
    byValue.set(k, list);
  }
  const order = (ctx.sweep[spec.by] ?? []).map(String);
  const ranked = [...byValue]
    .map(([k, vs]) => ({ k, v: vs.reduce((a, b) => a + b, 0) / vs.length }))
    .sort((a, b) => a.v - b.v || order.indexOf(a.k) - order.indexOf(b.k));
  const where = spec.where ? ` at ${pointLabel(Object.fromEntries(Object.entries(spec.where).map(([k, v]) => [k, Array.isArray(v) ? v.join('|') : v])), names)}` : '';
  const lowest = ranked[0]!;
  const highest = ranked[ranked.length - 1]!;
  const spread = lowest.v > 0 && ranked.length > 1 ? `; ${highest.k} is ${significant(highest.v / lowest.v)}× ${lowest.k}` : '';
  return `${spec.y}${where}, lowest first: ${ranked.map((r) => `${r.k} ${fmt(spec.y, r.v, ctx)}`).join(' ≤ ')}${spread}`;
}
