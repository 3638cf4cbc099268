import { inWhere, selectionText } from './charts.ts';
import type { Block } from './report-doc.ts';
import { formatValue, metricInfo } from './units.ts';
import type { MetricInfo, ParamValue, PointSummary, SweepPoint } from './types.ts';

/**
 * A study's `reference:` points: figures measured on a real kernel or published, set beside the
 * simulated ones. They are drawn as marks on the charts of their metric and compared in the report's
 * agreement table. They never feed the model: the CostModel comes from calibration, and a
 * disagreement is reported, not tuned away.
 */
export interface ReferencePoint {
  /** Value of the study's x parameter (References.x) the point is at. */
  x: ParamValue;
  /** The other sweep parameters that pick the simulated line, e.g. { mode: iptables }. */
  series: Record<string, ParamValue>;
  metric: string;
  /** `p50`, `p99`, `mean`... appended to the metric for the column; absent when the metric is a whole column name. */
  percentile?: string;
  /** In the metric's base unit (ns for times). */
  value: number;
  /** A URL, or a file of this repository (a calibration measurement). */
  source: string;
  /** Short name for the table and the chart's legend, e.g. "kubernetes.io blog 2025". Default: the source. */
  label?: string;
  /** What exactly was measured, and why it may differ from the simulated figure. */
  note?: string;
}

export interface References {
  /** The sweep parameter the points' x values belong to. */
  x: string;
  /** A simulated figure more than this factor above or below the reference is a disagreement. */
  factor: number;
  points: ReferencePoint[];
}

/** The runs.csv column a reference point compares with. */
export function referenceColumn(p: Pick<ReferencePoint, 'metric' | 'percentile'>): string {
  return p.percentile ? `${p.metric}.${p.percentile}` : p.metric;
}

export interface Agreement {
  ref: ReferencePoint;
  column: string;
  /** The simulated points it is compared with (every point at x whose parameters match `series`). */
  matches: { point: SweepPoint; simulated: number }[];
  /** Mean of the simulated figures over the matching points (NaN without one). */
  simulated: number;
  /** simulated / reference. */
  ratio: number;
  /** Whether the ratio is within [1/factor, factor]. */
  agrees: boolean;
}

/** The simulated points a reference point is compared with. */
export function matchingPoints(ref: ReferencePoint, xParam: string, points: readonly PointSummary[]): PointSummary[] {
  return points.filter((p) => String(p.point[xParam]) === String(ref.x) && inWhere(p.point, ref.series));
}

export function agreements(refs: References, points: readonly PointSummary[]): Agreement[] {
  return refs.points.map((ref) => {
    const column = referenceColumn(ref);
    const matches = matchingPoints(ref, refs.x, points)
      .map((p) => ({ point: p.point, simulated: p.metrics[column]?.mean ?? NaN }))
      .filter((m) => !Number.isNaN(m.simulated));
    const simulated = matches.length ? matches.reduce((a, m) => a + m.simulated, 0) / matches.length : NaN;
    const ratio = simulated / ref.value;
    return { ref, column, matches, simulated, ratio, agrees: ratio >= 1 / refs.factor && ratio <= refs.factor };
  });
}

function ratioText(r: number): string {
  if (!Number.isFinite(r)) return 'n/a';
  return r >= 10 || r < 0.1 ? `${r.toPrecision(2)}×` : `${r.toFixed(2)}×`;
}

/** The report's section: the agreement table and the disagreements, each with its reference's note. */
export function referenceBlocks(refs: References | undefined, points: readonly PointSummary[], metrics?: Record<string, MetricInfo>): Block[] {
  if (!refs || refs.points.length === 0) return [];
  const rows = agreements(refs, points);
  const blocks: Block[] = [
    { kind: 'heading', level: 2, text: 'Agreement with references' },
    {
      kind: 'paragraph',
      text: `Each reference point (marked ◆ on the charts of its metric) beside the simulated mean at the same ${refs.x} and series. A ratio (simulated / reference) beyond ${refs.factor}× either way is a disagreement. References are never used to fit the model: a disagreement is reported, not tuned away.`,
    },
  ];
  const fmt = (v: number, column: string) => (Number.isFinite(v) ? formatValue(v, metricInfo(column, metrics).unit) : 'not simulated');
  blocks.push({
    kind: 'table',
    header: [refs.x, 'series', 'metric', 'simulated', 'reference', 'simulated / reference', `within ${refs.factor}×`, 'source'],
    rows: rows.map((a) => [
      String(a.ref.x),
      selectionText(a.ref.series) || '(all)',
      a.column,
      fmt(a.simulated, a.column),
      fmt(a.ref.value, a.column),
      ratioText(a.ratio),
      !Number.isFinite(a.ratio) ? 'n/a' : a.agrees ? 'yes' : 'no',
      a.ref.label ? `${a.ref.label}: ${a.ref.source}` : a.ref.source,
    ]),
    align: ['left', 'left', 'left', 'right', 'right', 'right', 'left', 'left'],
  });
  const off = rows.filter((a) => Number.isFinite(a.ratio) && !a.agrees);
  const agreeing = rows.filter((a) => a.agrees).length;
  blocks.push({ kind: 'paragraph', text: `${agreeing} of ${rows.length} reference points agree within ${refs.factor}×; ${off.length} ${off.length === 1 ? 'does' : 'do'} not.` });
  if (off.length > 0) {
    blocks.push({
      kind: 'list',
      items: off.map((a) => {
        const where = `${refs.x}=${a.ref.x}${Object.keys(a.ref.series).length ? `, ${selectionText(a.ref.series)}` : ''}`;
        const how = a.ratio > 1 ? `${ratioText(a.ratio)} the reference` : `${ratioText(1 / a.ratio)} below the reference`;
        return `${a.column} at ${where}: simulated ${fmt(a.simulated, a.column)}, ${how} (${fmt(a.ref.value, a.column)}). ${a.ref.note ?? 'The reference says nothing of how it was measured.'}`;
      }),
    });
  }
  return blocks;
}

/** A reference point as a chart draws it, in the chart's display unit. */
export interface ReferenceMark {
  x: ParamValue;
  series: string;
  y: number;
  reference: string;
}

/**
 * The reference points a chart draws: those of its one metric, at its x parameter. `seriesOf` gives
 * the label of the chart's line a simulated point belongs to, so a mark takes its line's colour.
 */
export function referenceMarks(
  refs: References | undefined,
  chart: { x: string; y: string | string[]; where?: Record<string, ParamValue | ParamValue[]> },
  points: readonly PointSummary[],
  seriesOf: (p: SweepPoint) => string,
  divisor: number,
): ReferenceMark[] {
  if (!refs || Array.isArray(chart.y) || chart.x !== refs.x) return [];
  const marks: ReferenceMark[] = [];
  for (const ref of refs.points) {
    if (referenceColumn(ref) !== chart.y) continue;
    // The point the reference stands for; a simulated one when the run has it, so the other sweep
    // parameters of its label are those of its line.
    const at: SweepPoint = matchingPoints(ref, refs.x, points).find((p) => inWhere(p.point, chart.where))?.point ?? { ...ref.series, [refs.x]: ref.x };
    if (!inWhere(at, chart.where)) continue;
    marks.push({ x: ref.x, series: seriesOf(at), y: ref.value / divisor, reference: ref.label ?? ref.source });
  }
  return marks;
}
