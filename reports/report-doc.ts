import type { ChartOutput } from './charts.ts';
import { expectationsVerdict } from './answer.ts';
import type { ExpectationResult } from './expectations.ts';
import { studyMetrics } from './headline.ts';
import { byCodeUnit, gridPoints, pointLabel } from './points.ts';
import { baseName, formatValue, metricInfo, significant } from './units.ts';
import type { PointSummary, ScenarioMeta } from './types.ts';
import { referenceBlocks } from './references.ts';
import { connectSetupBlocks } from './connect-setup-section.ts';

/**
 * The report as a list of blocks, written once and rendered twice: report.md (reports/report-md.ts)
 * and report.html (reports/report-html.ts). Text in blocks is plain; each renderer escapes it.
 *
 * Order: the question, a partial marker when the run was interrupted, the answer the figures give,
 * the setup, the charts, the expectations and whether they held, the summary tables (headline
 * metrics first), the model's assumptions, and the files of the run folder.
 */

export type Align = 'left' | 'right';

export type Block =
  | { kind: 'heading'; level: 1 | 2 | 3; text: string }
  | { kind: 'paragraph'; text: string; label?: string }
  | { kind: 'notice'; label: string; text: string }
  | { kind: 'list'; items: string[] }
  | { kind: 'table'; header: string[]; rows: string[][]; align: Align[] }
  | { kind: 'chart'; title: string; file: string; svg?: string; missing?: string }
  | { kind: 'code'; summary: string; lang: string; text: string };

export interface ReportModel {
  meta: ScenarioMeta;
  /** Sweep parameter names, in sweep order. */
  names: string[];
  /** Every metric the runs report, sorted. */
  metrics: string[];
  points: PointSummary[];
  expectations: ExpectationResult[];
  charts: ChartOutput[];
  /** Files of the run folder, relative to it, for the last section. */
  files: string[];
  /** `expect[i] text` of lines that select only sweep values this run left out. */
  notChecked?: string[];
  /** What each chart's numbers say (reports/answer.ts answerFromCharts), in chart order. */
  answer?: string[];
  /** The study's own questions answered from the figures (reports/findings.ts), in `answer:` order. */
  findings?: string[];
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** Runs the study should make (its grid less the excluded points, times the replications) and runs that finished. */
export function runCounts(model: { meta: ReportModel['meta']; points: readonly { runs: number }[] }): { expected: number; finished: number } {
  return {
    expected: (gridPoints(model.meta.sweep).length - (model.meta.excluded ?? 0)) * model.meta.replications,
    finished: model.points.reduce((a, p) => a + p.runs, 0),
  };
}

function setup(model: ReportModel): Block[] {
  const { meta } = model;
  const runs = runCounts(model);
  const sweep = Object.entries(meta.sweep);
  const items: string[] = [];
  if (sweep.length === 0) items.push('Sweep: none (one point).');
  else {
    for (const [name, values] of sweep) items.push(`${name}: ${values.join(', ')}`);
    const grid = gridPoints(meta.sweep).length;
    const excluded = meta.excluded ?? 0;
    items.push(
      excluded > 0
        ? `${plural(grid - excluded, 'sweep point')} (every combination of the values above, less ${excluded} skipped by \`exclude:\`).`
        : `${plural(grid, 'sweep point')} (every combination of the values above).`,
    );
  }
  items.push(
    `${plural(meta.replications, 'replication')} per point, each with its own random streams derived from master seed ${meta.seed}.`,
    `${runs.finished} of ${plural(runs.expected, 'run')} finished.`,
    `svcsim ${meta.svcsimVersion}.`,
  );
  const blocks: Block[] = [{ kind: 'heading', level: 2, text: 'Setup' }, { kind: 'list', items }];
  if (meta.source !== undefined && meta.source !== '') blocks.push({ kind: 'code', summary: 'The scenario file', lang: 'yaml', text: meta.source });
  return blocks;
}

function charts(model: ReportModel): Block[] {
  if (model.charts.length === 0) return [];
  const blocks: Block[] = [{ kind: 'heading', level: 2, text: 'Charts' }];
  const ci = model.charts.some((c) => (c.chart.errorBars ?? 'ci95') === 'ci95');
  if (ci) blocks.push({ kind: 'paragraph', text: 'Lines join the means over replications; bars and bands show the 95% confidence interval of the mean.' });
  for (const c of model.charts) {
    blocks.push({
      kind: 'chart',
      title: c.chart.title,
      file: `charts/${c.name}.svg`,
      ...(c.rendered ? { svg: c.rendered.svg } : {}),
      ...(c.missing !== undefined ? { missing: c.missing } : {}),
    });
  }
  return blocks;
}

const STATUS_TEXT: Record<ExpectationResult['status'], string> = { pass: 'held', fail: 'FAILED', 'not-measured': 'NOT MEASURED' };

function expectations(model: ReportModel): Block[] {
  const notChecked = model.notChecked ?? [];
  const skipped: Block[] =
    notChecked.length === 0
      ? []
      : [
          {
            kind: 'paragraph',
            text: `Not checked in this run, as they select only sweep values that --quick or --set left out: ${notChecked.join('; ')}.`,
          },
        ];
  if (model.expectations.length === 0) return skipped.length ? [{ kind: 'heading', level: 2, text: 'Expectations' }, ...skipped] : [];
  const held = model.expectations.filter((e) => e.passed).length;
  const rows = model.expectations.map((e) => {
    const unit = metricInfo(e.metric, model.meta.metrics).unit;
    const ci = Number.isFinite(e.ci95Low) ? `${formatValue(e.ci95Low, unit)} – ${formatValue(e.ci95High, unit)}` : '';
    let by = '';
    if (e.status === 'fail' && e.op !== '!=') {
      by = formatValue(e.excess, unit) + (Number.isFinite(e.excessRelative) ? ` (${significant(e.excessRelative * 100)}%)` : '');
    }
    return [STATUS_TEXT[e.status], e.text, pointLabel(e.point, model.names), formatValue(e.actual, unit), ci, by];
  });
  return [
    { kind: 'heading', level: 2, text: 'Expectations' },
    {
      kind: 'paragraph',
      text: `${held} of ${plural(model.expectations.length, 'check')} held. Each line is checked at every sweep point it selects, against the mean over replications.`,
    },
    { kind: 'table', header: ['result', 'expectation', 'point', 'mean', '95% CI', 'wrong side by'], rows, align: ['left', 'left', 'left', 'right', 'right', 'right'] },
    ...skipped,
  ];
}

/** Headline metrics first, then the others by name. */
export function reportMetricOrder(model: ReportModel): string[] {
  const head = studyMetrics(model.meta, model.metrics);
  return [...head, ...model.metrics.filter((m) => !head.includes(m)).sort(byCodeUnit)];
}

function results(model: ReportModel): Block[] {
  const blocks: Block[] = [{ kind: 'heading', level: 2, text: 'Results' }];
  if (model.points.length === 0) {
    blocks.push({ kind: 'paragraph', text: 'No run finished, so there is nothing to summarise.' });
    return blocks;
  }
  blocks.push({
    kind: 'paragraph',
    text: 'Per sweep point: the mean over replications, the 95% confidence interval of the mean (Student t with n − 1 degrees of freedom), the sample standard deviation, and n, the replications that measured the metric.',
  });
  const order = reportMetricOrder(model);
  const headline = studyMetrics(model.meta, model.metrics);
  // The headline metrics under Results, everything else the runs measured after them.
  const firstOther = headline.length > 0 ? order.find((m) => !headline.includes(m)) : undefined;
  for (const m of order) {
    const info = metricInfo(m, model.meta.metrics);
    if (m === firstOther) blocks.push({ kind: 'heading', level: 2, text: 'Other metrics' });
    const description = model.meta.metrics?.[m]?.description ?? model.meta.metrics?.[baseName(m)]?.description;
    // No "lower is better" here: the naming rule that guesses it (for svcsim compare) has nothing to
    // say about a configured limit such as conntrack.max, and a report should not claim it does.
    blocks.push({ kind: 'heading', level: 3, text: m });
    if (description) blocks.push({ kind: 'paragraph', text: description });
    const rows = model.points.map((p) => {
      const s = p.metrics[m];
      const cells = model.names.map((n) => (p.point[n] === undefined ? '' : String(p.point[n])));
      if (!s || s.n === 0) return [...cells, 'n/a', '', '', '0'];
      const ci = Number.isFinite(s.ci95Low) ? `${formatValue(s.ci95Low, info.unit)} – ${formatValue(s.ci95High, info.unit)}` : '';
      const stdev = Number.isFinite(s.stdev) ? formatValue(s.stdev, info.unit) : '';
      return [...cells, formatValue(s.mean, info.unit), ci, stdev, String(s.n)];
    });
    const header = model.names.length > 0 ? [...model.names] : ['point'];
    const lead = model.names.length > 0 ? rows : rows.map((r) => ['(single point)', ...r]);
    blocks.push({
      kind: 'table',
      header: [...header, 'mean', '95% CI', 'stdev', 'n'],
      rows: lead,
      align: [...header.map((): Align => 'left'), 'right', 'right', 'right', 'right'],
    });
  }
  return blocks;
}

/** The answer its figures give: computed sentences, one per chart, and the expectations' verdict. */
function answer(model: ReportModel): Block[] {
  const findings = [...(model.findings ?? [])];
  const items = [...(model.answer ?? [])];
  const verdict = expectationsVerdict(model.expectations, model.notChecked?.length ?? 0);
  if (verdict !== undefined) (findings.length > 0 ? findings : items).push(verdict);
  if (items.length === 0 && findings.length === 0) return [];
  const blocks: Block[] = [
    { kind: 'heading', level: 2, text: 'Answer from the figures' },
    {
      kind: 'paragraph',
      text: 'Read from the means over replications that the charts draw (the Results section gives their intervals); the sentences are computed from the numbers, so they say what changed and by how much, not why. The assumptions below bound how far they carry to a real cluster.',
    },
  ];
  if (findings.length > 0) blocks.push({ kind: 'list', items: findings });
  if (items.length > 0) {
    if (findings.length > 0) blocks.push({ kind: 'paragraph', text: 'Chart by chart:' });
    blocks.push({ kind: 'list', items });
  }
  return blocks;
}

function assumptions(model: ReportModel): Block[] {
  const items = [
    ...model.meta.assumptions,
    'Replications are independent runs of the same model with different random streams; the intervals say how much the estimate would move with other seeds, not how far the model is from a real cluster.',
  ];
  return [
    { kind: 'heading', level: 2, text: 'Assumptions' },
    { kind: 'list', items },
  ];
}

export function buildReportBlocks(model: ReportModel): Block[] {
  const { meta } = model;
  const blocks: Block[] = [{ kind: 'heading', level: 1, text: meta.name }];
  blocks.push({ kind: 'paragraph', label: 'Question.', text: meta.question });
  if (meta.partial) {
    const runs = runCounts(model);
    blocks.push({
      kind: 'notice',
      label: 'Partial results.',
      text: `The run was interrupted: ${runs.finished} of ${plural(runs.expected, 'run')} finished. Every figure below covers only the runs that finished.`,
    });
  }
  blocks.push(...answer(model), ...setup(model), ...charts(model), ...referenceBlocks(meta.references, model.points, meta.metrics), ...connectSetupBlocks(model.points, model.names), ...expectations(model), ...results(model), ...assumptions(model));
  blocks.push({ kind: 'heading', level: 2, text: 'Files' }, { kind: 'list', items: model.files });
  return blocks;
}
