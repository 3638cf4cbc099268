import { relative, resolve } from 'node:path';
import { writeFileAtomic } from '../sim/io/atomic-write.ts';
import { answerFromCharts } from './answer.ts';
import { answerFindings, checkFindings } from './findings.ts';
import { checkChartSpecs, renderScenarioCharts } from './charts.ts';
import { runsCsv, summaryCsv, timeseriesCsv } from './csv.ts';
import { checkExpectations, parseExpectations, type ExpectationResult } from './expectations.ts';
import { headlineTable } from './headline.ts';
import { junitXml } from './junit.ts';
import { buildReportBlocks } from './report-doc.ts';
import { renderReportHtml } from './report-html.ts';
import { renderReportMarkdown } from './report-md.ts';
import { summarizePoints } from './summarize.ts';
import { buildSummaryDoc, stringifySummaryDoc } from './summary-json.ts';
import type { ReportInput } from './types.ts';

/**
 * The run folder: everything a scenario run leaves behind, from the rows the runner collected.
 *
 *   runs.csv        one row per run: sweep parameters, replication, seed, every metric
 *   summary.csv     per sweep point and metric: n, mean, stdev, 95% CI of the mean
 *   timeseries.csv  per run, series and interval of simulated time
 *   summary.json    all of it with the scenario, svcsim version and seed (input of `svcsim compare`)
 *   charts/NAME.svg, charts/NAME.png
 *   report.md, report.html (self-contained)
 *
 * Each file is written whole or not at all (sim/io/atomic-write.ts), report.html last, so a folder
 * whose report.html is there holds a consistent set. The same input gives byte-identical files:
 * nothing comes from the clock or from the order runs finished in. A user's mistake in the charts or
 * the `expect:` lines throws an InputError before any file is written.
 */

export interface WriteOptions {
  /** Path of a JUnit XML file to write (one testcase per expectation), relative to the working directory. */
  junit?: string;
}

export interface WrittenOutputs {
  /** Every path written, relative to outDir (the JUnit file too, which may be outside it). */
  files: string[];
  /** Each expectation at each sweep point it selects: held or not, by how much. */
  expectations: ExpectationResult[];
  /** How many of `expectations` did not hold (failed or not measured). */
  failedExpectations: number;
  /** `expect[i] text` of the lines that select only sweep values this run left out (not checked). */
  notChecked: string[];
  /** A short plain-text table of the headline numbers for the terminal. */
  headline: string;
  /** Absolute path of report.html. */
  reportPath: string;
}

const FILE_NOTES: Record<string, string> = {
  'runs.csv': 'one row per run: sweep parameters, replication, seed, every metric (durations in ns, ratios as fractions)',
  'summary.csv': 'per sweep point and metric: n, mean, stdev, 95% confidence interval of the mean',
  'timeseries.csv': 'metrics over simulated time, per run',
  'summary.json': 'everything above with the scenario, svcsim version and seed; input of svcsim compare',
};

export async function writeRunOutputs(input: ReportInput, outDir: string, opts: WriteOptions = {}): Promise<WrittenOutputs> {
  const { meta } = input;
  const sweep = meta.sweep;
  // Mistakes in the study's own text first, before anything is written.
  const parsed = parseExpectations(meta.expectations, sweep, { metrics: meta.metrics, ...(meta.declaredSweep ? { declaredSweep: meta.declaredSweep } : {}) });
  const notChecked = parsed.filter((e) => e.outOfRun).map((e) => `expect[${e.index}] ${e.text}`);
  checkChartSpecs(meta.charts, sweep);
  checkFindings(meta.findings ?? [], sweep, undefined, meta.declaredSweep);

  const { names, metrics, points } = summarizePoints(input.runs, sweep);
  const expectations = checkExpectations(parsed, points, names, meta.metrics);
  const chartData = { points, sweep, timeseries: input.timeseries ?? [], metrics: meta.metrics, ...(meta.references ? { references: meta.references } : {}) };
  const charts = await renderScenarioCharts(meta.charts, chartData);

  const outputs: [string, string | Uint8Array][] = [
    ['runs.csv', runsCsv(input.runs, sweep)],
    ['summary.csv', summaryCsv(points, names)],
    ['timeseries.csv', timeseriesCsv(input.timeseries ?? [], sweep)],
    ['summary.json', stringifySummaryDoc(buildSummaryDoc(meta, points, metrics, expectations))],
  ];
  for (const c of charts) {
    if (!c.rendered) continue;
    outputs.push([`charts/${c.name}.svg`, c.rendered.svg], [`charts/${c.name}.png`, c.rendered.png]);
  }
  const listed = [...outputs.map(([f]) => (FILE_NOTES[f] ? `${f}: ${FILE_NOTES[f]}` : f)), 'report.md, report.html: this report'];
  const answer = answerFromCharts(meta.charts, chartData);
  const findings = answerFindings(meta.findings ?? [], { points, sweep, metrics: meta.metrics, ...(meta.declaredSweep ? { declaredSweep: meta.declaredSweep } : {}) });
  const blocks = buildReportBlocks({ meta, names, metrics, points, expectations, notChecked, charts, files: listed, answer, findings });
  outputs.push(['report.md', renderReportMarkdown(blocks)], ['report.html', renderReportHtml(blocks, `${meta.name}: svcsim report`)]);

  const files: string[] = [];
  for (const [file, content] of outputs) {
    writeFileAtomic(resolve(outDir, file), content);
    files.push(file);
  }
  if (opts.junit !== undefined) {
    const path = resolve(opts.junit);
    writeFileAtomic(path, junitXml(meta.name, expectations, names));
    files.push(relative(resolve(outDir), path));
  }
  return {
    files,
    expectations,
    failedExpectations: expectations.filter((e) => !e.passed).length,
    notChecked,
    headline: headlineTable(meta, points, names, metrics),
    reportPath: resolve(outDir, 'report.html'),
  };
}
