import { InputError } from '../sim/io/input-error.ts';
import { quoteInput } from '../sim/io/excerpt.ts';
import { pointLabel, type Sweep } from './points.ts';
import { formatValue, metricInfo, significant } from './units.ts';
import type { MetricInfo, MetricSummary, MetricUnit, PointSummary, SweepPoint } from './types.ts';

/**
 * `expect:` lines: checks a study makes of its own results, for CI.
 *
 *   [selector] metric op value
 *
 * - metric: a metric name as in runs.csv (`firstPacketLatency.p99`, `failedConnections.rate`).
 * - op: `<`, `<=`, `>`, `>=`, `==`, `!=`.
 * - value: a number, optionally with a unit: a duration (`ns`, `us`/`µs`, `ms`, `s`, `m` minutes,
 *   `h`), a percent (`0.1%` is 0.001), or a multiplier (`k` 1e3, `M` 1e6, `G` 1e9). The unit must
 *   suit the metric (reports/units.ts): a duration for a metric in ns, a percent or plain fraction for
 *   a ratio; a metric whose unit is not known accepts any.
 * - selector, which sweep points the line applies to (none: every point):
 *   - implicit: the line starts with values of sweep parameters, each followed by a dot:
 *     `nftables.firstPacketLatency.p99` selects the points whose `mode` is `nftables`, when
 *     `nftables` is a value of exactly one parameter (details in parseSelector);
 *   - explicit: `mode=ipvs,services=1000:firstPacketLatency.p99 < 2ms`.
 *
 * What is compared: at each selected point, the mean of the metric over the point's replications
 * (the `mean` of summary.csv) against the value. The 95% confidence interval is reported beside it but
 * does not change the verdict: an expectation states where the study's estimate must lie. `==` and
 * `!=` compare exactly. A selected point where the metric was not measured (no replication produced
 * it, or the point did not run in an interrupted run) fails as `not-measured`: CI cannot confirm it.
 */

export type CompareOp = '<' | '<=' | '>' | '>=' | '==' | '!=';
export type LimitKind = 'duration' | 'percent' | 'number';

export interface Expectation {
  /** Position in the `expect:` list; errors and results name it `expect[index]`. */
  index: number;
  /** The line as written. */
  text: string;
  /** Sweep parameter -> value (as text) the line is restricted to; empty: every point. */
  selector: Record<string, string>;
  metric: string;
  op: CompareOp;
  /** The value in base units (ns, fraction, plain). */
  limit: number;
  /** The value as written, e.g. `100us`. */
  limitText: string;
  limitKind: LimitKind;
  /**
   * The selector names a value the file's sweep has but this run's does not (--quick or --set
   * replaced the list): the line does not apply to this run and is not checked.
   */
  outOfRun?: boolean;
}

export type ExpectationStatus = 'pass' | 'fail' | 'not-measured';

export interface ExpectationResult {
  index: number;
  text: string;
  metric: string;
  op: CompareOp;
  limit: number;
  limitText: string;
  /** The point checked (for `not-measured` with no point run: the selector). */
  point: SweepPoint;
  /** The mean over replications, NaN when not measured. */
  actual: number;
  n: number;
  ci95Low: number;
  ci95High: number;
  status: ExpectationStatus;
  passed: boolean;
  /** How far the mean is on the wrong side of the limit, in base units (0 when it passed). */
  excess: number;
  /** `excess` relative to |limit| (NaN when the limit is 0). */
  excessRelative: number;
  /** One line for people: which expectation, which point, actual vs limit, by how much. */
  message: string;
}

const OPS: CompareOp[] = ['<=', '>=', '==', '!=', '<', '>'];
const OP = /<=|>=|==|!=|<|>/;
const VALUE = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*(ns|us|µs|ms|s|m|h|%|k|M|G)?$/;
const DURATION_NS: Record<string, number> = { ns: 1, us: 1e3, 'µs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
const MULTIPLIER: Record<string, number> = { k: 1e3, M: 1e6, G: 1e9 };
const METRIC = /^[A-Za-z_][\w-]*(\.[\w-]+)*$/;

export interface ParseOptions {
  /** Field name for error paths; default `expect`. */
  field?: string;
  /**
   * Names the place of a mistake for the InputError, from the line's index and the 1-based column
   * within the line's text. Default: `expect[2], column 37 of "…"`. The scenario loader can map it
   * to `file:line:col` instead.
   */
  where?: (index: number, column: number, text: string) => string;
  /** Units and directions declared by the scenario. */
  metrics?: Record<string, MetricInfo>;
  /** When given, a metric not in this list is an error (with a suggestion). */
  knownMetrics?: readonly string[];
  /**
   * The sweep as the scenario file writes it, when --quick or --set replaced some of its lists:
   * selectors may name its values too (`ebpf.firstPacketLatency.p99` stays a selector when a
   * --set left ebpf out), and such a line is marked `outOfRun` rather than read as a metric name.
   */
  declaredSweep?: Sweep;
}

/** Parses every `expect:` line; the first mistake throws an InputError naming `expect[i]` and the column. */
export function parseExpectations(lines: readonly unknown[], sweep: Sweep, options: ParseOptions = {}): Expectation[] {
  return lines.map((line, i) => parseExpectation(line, i, sweep, options));
}

/** A piece of the line with the 0-based offset where it starts, so errors can point at it. */
interface Span {
  text: string;
  at: number;
}

/** Trims a span, moving its start past the leading blanks. */
function trimSpan(text: string, at: number): Span {
  const lead = text.length - text.trimStart().length;
  return { text: text.trim(), at: at + lead };
}

export function parseExpectation(line: unknown, index: number, sweep: Sweep, options: ParseOptions = {}): Expectation {
  const field = options.field ?? 'expect';
  const example = 'an expectation such as "nftables.firstPacketLatency.p99 < 100us"';
  if (typeof line !== 'string') throw new InputError(`${field}[${index}]`, example, line === null ? 'null' : typeof line);
  const where = (at: number): string =>
    options.where ? options.where(index, at + 1, line) : `${field}[${index}], column ${at + 1} of ${quoteInput(line)}`;

  const opMatch = OP.exec(line);
  if (!opMatch) throw new InputError(where(0), `${example}, with one of ${OPS.join(' ')}`, 'no comparison');
  const op = opMatch[0] as CompareOp;
  const lhs = trimSpan(line.slice(0, opMatch.index), 0);
  const rhs = trimSpan(line.slice(opMatch.index + op.length), opMatch.index + op.length);
  if (lhs.text === '') throw new InputError(where(opMatch.index), `a metric before ${op}`, 'nothing');
  if (rhs.text === '') throw new InputError(where(rhs.at), `a value after ${op}`, 'nothing');
  const second = OP.exec(rhs.text);
  if (second) throw new InputError(where(rhs.at + second.index), 'one comparison per line', JSON.stringify(second[0]));

  const selectable = withDeclaredValues(sweep, options.declaredSweep);
  const { selector, metric } = parseSelector(lhs, selectable, where, options.knownMetrics);
  const outOfRun = Object.entries(selector).some(([name, v]) => !(sweep[name] ?? []).some((x) => String(x) === v));
  if (!METRIC.test(metric.text)) throw new InputError(where(metric.at), 'a metric name such as firstPacketLatency.p99', JSON.stringify(metric.text));
  if (options.knownMetrics && !options.knownMetrics.includes(metric.text)) {
    const near = closest(metric.text, options.knownMetrics);
    throw new InputError(where(metric.at), 'a metric the runs measure', JSON.stringify(metric.text), near ? `did you mean ${near}?` : undefined);
  }
  const value = parseLimit(rhs.text, where(rhs.at));
  checkUnit(metricInfo(metric.text, options.metrics).unit, value.kind, metric.text, rhs.text, where(rhs.at));
  return {
    index,
    text: line.trim(),
    selector,
    metric: metric.text,
    op,
    limit: value.limit,
    limitText: rhs.text,
    limitKind: value.kind,
    ...(outOfRun ? { outOfRun } : {}),
  };
}

/** Each parameter of the run's sweep with its values, then the values only the file's list has. */
function withDeclaredValues(sweep: Sweep, declared: Sweep | undefined): Sweep {
  if (!declared) return sweep;
  const out: Sweep = {};
  for (const [name, values] of Object.entries(sweep)) {
    const extra = (declared[name] ?? []).filter((d) => !values.some((v) => String(v) === String(d)));
    out[name] = [...values, ...extra];
  }
  return out;
}

function parseSelector(
  lhs: Span,
  sweep: Sweep,
  where: (at: number) => string,
  knownMetrics: readonly string[] | undefined,
): { selector: Record<string, string>; metric: Span } {
  const selector: Record<string, string> = {};
  const colon = lhs.text.indexOf(':');
  if (colon >= 0) {
    let at = lhs.at;
    for (const raw of lhs.text.slice(0, colon).split(',')) {
      const part = trimSpan(raw, at);
      at += raw.length + 1;
      const eq = part.text.indexOf('=');
      const name = part.text.slice(0, eq).trim();
      const value = part.text.slice(eq + 1).trim();
      if (eq < 0 || name === '' || value === '') {
        throw new InputError(where(part.at), 'a selector of parameter=value pairs separated by commas, such as "mode=ipvs,services=1000:"', JSON.stringify(part.text));
      }
      const values = sweep[name];
      if (!values) {
        const params = Object.keys(sweep);
        const near = closest(name, params);
        throw new InputError(
          where(part.at),
          params.length ? `a sweep parameter (${params.join(', ')})` : 'no selector: the scenario has no sweep',
          JSON.stringify(name),
          near ? `did you mean ${near}?` : undefined,
        );
      }
      const match = values.find((v) => sameValue(v, value));
      if (match === undefined) throw new InputError(where(part.at + eq + 1), `a value of ${name} (${values.join(', ')})`, JSON.stringify(value));
      if (name in selector) throw new InputError(where(part.at), `${name} selected once`, `${name} twice`);
      selector[name] = String(match);
    }
    return { selector, metric: trimSpan(lhs.text.slice(colon + 1), lhs.at + colon + 1) };
  }
  // Implicit selector: the line starts with `VALUE.` where VALUE is a value of a sweep parameter
  // (compared as text, so `0.5.metric` works for a value 0.5); that restricts the line to the points
  // where the parameter has that value. Several prefixes can follow each other
  // (`ipvs.1000.syncDuration.mean`). The longest matching value wins; a value that belongs to two
  // parameters is ambiguous and needs the explicit `name=value:` form. Peeling stops when what is
  // left is a metric the runs measure (when that list is known) or has no dot left.
  let rest = lhs;
  for (;;) {
    if (!rest.text.includes('.') || knownMetrics?.includes(rest.text)) break;
    let best: { value: string; owners: string[] } | undefined;
    for (const [name, values] of Object.entries(sweep)) {
      for (const v of values) {
        const s = String(v);
        if (!rest.text.startsWith(`${s}.`) || rest.text.length === s.length + 1) continue;
        if (!best || s.length > best.value.length) best = { value: s, owners: [name] };
        else if (s === best.value && !best.owners.includes(name)) best.owners.push(name);
      }
    }
    if (!best) break;
    if (best.owners.length > 1) {
      throw new InputError(
        where(rest.at),
        `"${best.value}" to be the value of one sweep parameter`,
        `a value of ${best.owners.join(' and ')}`,
        `write ${best.owners[0]}=${best.value}:metric to choose`,
      );
    }
    const name = best.owners[0]!;
    if (name in selector) throw new InputError(where(rest.at), `${name} selected once`, `${selector[name]} and ${best.value}`);
    selector[name] = best.value;
    rest = { text: rest.text.slice(best.value.length + 1), at: rest.at + best.value.length + 1 };
  }
  return { selector, metric: rest };
}

function sameValue(v: string | number, text: string): boolean {
  if (String(v) === text) return true;
  if (typeof v !== 'number') return false;
  const m = VALUE.exec(text);
  if (!m || (m[2] !== undefined && !(m[2] in MULTIPLIER))) return false;
  return Number(m[1]) * (m[2] ? MULTIPLIER[m[2]]! : 1) === v;
}

export function parseLimit(text: string, where: string): { limit: number; kind: LimitKind } {
  const m = VALUE.exec(text);
  if (!m) {
    throw new InputError(where, 'a number with an optional unit (ns, us, ms, s, m, %, k, M), such as 100us or 0.1%', quoteInput(text));
  }
  const n = Number(m[1]);
  const unit = m[2];
  if (unit === undefined) return { limit: n, kind: 'number' };
  if (unit === '%') return { limit: n / 100, kind: 'percent' };
  if (unit in MULTIPLIER) return { limit: n * MULTIPLIER[unit]!, kind: 'number' };
  return { limit: n * DURATION_NS[unit]!, kind: 'duration' };
}

function checkUnit(unit: MetricUnit, kind: LimitKind, metric: string, text: string, where: string): void {
  if (unit === 'none') return;
  if (unit === 'ns') {
    if (kind === 'duration' || (kind === 'number' && Number(text) === 0)) return;
    throw new InputError(where, `a duration such as 100us (${metric} is a duration)`, quoteInput(text), kind === 'number' ? `add a unit, e.g. ${text}us` : undefined);
  }
  if (kind === 'duration') throw new InputError(where, `a value without a time unit (${metric} is measured as ${unit})`, quoteInput(text));
  if (kind === 'percent' && unit !== 'ratio') throw new InputError(where, `a plain number (${metric} is a ${unit}, not a ratio)`, quoteInput(text));
}

/** The closest name by edit distance, when it is close enough to be a plausible typo. */
export function closest(name: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(name.toLowerCase(), c.toLowerCase());
    if (d < bestD) [best, bestD] = [c, d];
  }
  return bestD <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

/** Whether `actual op limit` holds; shared by expectations and the report's findings. */
export function holds(actual: number, op: CompareOp, limit: number): boolean {
  switch (op) {
    case '<': return actual < limit;
    case '<=': return actual <= limit;
    case '>': return actual > limit;
    case '>=': return actual >= limit;
    case '==': return actual === limit;
    case '!=': return actual !== limit;
  }
}

function matches(point: SweepPoint, selector: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(selector)) if (point[k] === undefined || String(point[k]) !== v) return false;
  return true;
}

/**
 * Checks each expectation at each point it selects (points in the order given, which is sweep order
 * for `summarizePoints`). One result per (expectation, point); a line `outOfRun` (it selects values
 * this run's sweep left out) gives none.
 */
export function checkExpectations(
  expectations: readonly Expectation[],
  points: readonly PointSummary[],
  names: readonly string[],
  declared?: Record<string, MetricInfo>,
): ExpectationResult[] {
  const results: ExpectationResult[] = [];
  for (const e of expectations) {
    if (e.outOfRun) continue;
    const unit = metricInfo(e.metric, declared).unit;
    const selected = points.filter((p) => matches(p.point, e.selector));
    if (selected.length === 0) {
      results.push(result(e, { ...e.selector }, undefined, unit, names, 'no selected point ran'));
      continue;
    }
    for (const p of selected) {
      const s = p.metrics[e.metric];
      results.push(result(e, p.point, s, unit, names, s ? `no replication measured ${e.metric}` : noSuchMetric(e.metric, p)));
    }
  }
  return results;
}

function noSuchMetric(metric: string, p: PointSummary): string {
  const near = closest(metric, Object.keys(p.metrics));
  return `the runs report no metric ${metric}${near ? `; did you mean ${near}?` : ''}`;
}

function result(
  e: Expectation,
  point: SweepPoint,
  s: MetricSummary | undefined,
  unit: MetricUnit,
  names: readonly string[],
  whyNotMeasured: string,
): ExpectationResult {
  const actual = s ? s.mean : NaN;
  const measured = s !== undefined && s.n > 0 && !Number.isNaN(actual);
  const passed = measured && holds(actual, e.op, e.limit);
  const status: ExpectationStatus = !measured ? 'not-measured' : passed ? 'pass' : 'fail';
  let excess = 0;
  if (status === 'fail') {
    excess = e.op === '<' || e.op === '<=' ? actual - e.limit : e.op === '>' || e.op === '>=' ? e.limit - actual : Math.abs(actual - e.limit);
  }
  const excessRelative = e.limit === 0 ? NaN : excess / Math.abs(e.limit);
  const at = pointLabel(point, names);
  const head = `expect[${e.index}] ${e.text} at ${at}`;
  let message: string;
  if (status === 'not-measured') {
    message = `${head}: NOT MEASURED (${whyNotMeasured})`;
  } else {
    const ci = s!.n > 1 && Number.isFinite(s!.ci95Low) ? `, 95% CI ${formatValue(s!.ci95Low, unit)}..${formatValue(s!.ci95High, unit)}` : '';
    const measuredText = `mean ${formatValue(actual, unit)} over ${s!.n} replication${s!.n === 1 ? '' : 's'}${ci}`;
    if (passed) message = `${head}: ok (${measuredText})`;
    else {
      const side = e.op === '<' || e.op === '<=' ? 'over' : e.op === '>' || e.op === '>=' ? 'under' : e.op === '==' ? 'off' : 'equal to';
      const by = e.op === '!=' ? '' : ` by ${formatValue(excess, unit)}${Number.isFinite(excessRelative) ? ` (${significant(excessRelative * 100)}%)` : ''}`;
      message = `${head}: FAILED, ${measuredText}: ${side} the limit ${e.limitText}${by}`;
    }
  }
  return {
    index: e.index,
    text: e.text,
    metric: e.metric,
    op: e.op,
    limit: e.limit,
    limitText: e.limitText,
    point,
    actual,
    n: s ? s.n : 0,
    ci95Low: s ? s.ci95Low : NaN,
    ci95High: s ? s.ci95High : NaN,
    status,
    passed,
    excess,
    excessRelative,
    message,
  };
}
