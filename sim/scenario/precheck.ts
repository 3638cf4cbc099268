import { mayHaveTopology } from './run-point-topology.ts';
import { checkChartSpecs } from '../../reports/charts.ts';
import { checkFindings } from '../../reports/findings.ts';
import { parseExpectation } from '../../reports/expectations.ts';
import type { ChartSpec } from '../../reports/types.ts';
import { InputError, combineInputErrors, isInputError } from '../io/input-error.ts';
import type { FieldPath } from './field-origins.ts';
import { orderProblems, type RankedProblem } from './issues.ts';
import type { LoadedScenario } from './load.ts';
import { didYouMean } from './did-you-mean.ts';
import { parseFieldPath } from './overrides.ts';
import { declaredSweep, reportFindings as toReportInputFindings, reportSweep } from './report-input.ts';
import { modelMetricNames, modelSeries } from '../run/metric-names.ts';
import { checkReferences } from './reference-input.ts';

/**
 * The checks of a study's own text that reports/ would otherwise make after every run has finished:
 * `charts:` name sweep parameters and metrics (or series) the runs write, `expect:` lines parse, select
 * sweep values and name metrics the runs write. Made before the first run, so a typo costs nothing,
 * and reported at the line and column where the chart or line is written rather than as
 * `charts[1].y`, with a "did you mean" from the model's metric names (model/metric-names.ts).
 */
export function precheckStudy(loaded: LoadedScenario): void {
  const first = loaded.points[0]!.scenario;
  const sweep = reportSweep(loaded);
  const names = { churn: loaded.points.some((p) => p.scenario.churn.length > 0), dns: loaded.points.some((p) => p.scenario.dns !== undefined), external: loaded.points.some((p) => p.scenario.external !== undefined), topology: loaded.points.some((p) => mayHaveTopology(p.scenario)), rules: loaded.points.some((p) => p.scenario.dataPlane === 'rules') };
  const metrics = modelMetricNames(names);
  const findings = toReportInputFindings(loaded);
  const problems: RankedProblem[] = [];
  // Each chart, expect line and answer is checked on its own, so every one with a mistake is reported,
  // ordered by where it is written. The reports/ checks walk a list with forEach, which skips the
  // holes of a sparse array: a list holding only item i is checked under its own index.
  const check = (path: FieldPath, run: () => void) => {
    try {
      run();
    } catch (e) {
      if (!isInputError(e)) throw e;
      const { line, col } = loaded.positionOf(path);
      problems.push({ error: placed(loaded, e), rank: [line, col] });
    }
  };
  first.charts.forEach((_, i) => check(['charts', i], () => checkChartSpecs(only(first.charts as ChartSpec[], i), sweep, 'charts', metrics, modelSeries(names))));
  checkChartSelections(loaded, check);
  first.expect.forEach((line, i) =>
    check(['expect', i], () =>
      parseExpectation(line, i, sweep, {
        ...declaredSweep(loaded),
        knownMetrics: metrics,
        where: (index, column) => `${loaded.placeOf(['expect', index])}, column ${column} of the line`,
      }),
    ),
  );
  findings.forEach((_, i) => check(['answer', i], () => checkFindings(only(findings, i), sweep, metrics, declaredSweep(loaded).declaredSweep)));
  checkReferences(loaded, metrics, check);
  if (problems.length > 0) throw combineInputErrors(orderProblems(problems));
}

function only<T>(list: readonly T[], i: number): T[] {
  const out: T[] = [];
  out[i] = list[i]!;
  return out;
}

/** reports/ names a chart or answer by its field path; the user reads the line and column in the file. */
function placed(loaded: LoadedScenario, e: InputError): InputError {
  if (!/^(charts|answer)\[\d+\]/.test(e.where)) return e;
  // A condition's column within its text (answer[i].first.when) stays after the place.
  const [, field, column] = /^(.*?)((?:, column \d+.*)?)$/.exec(e.where)!;
  return new InputError(`${loaded.placeOf(parseFieldPath(field!, field!))}${column}`, e.expected, e.found, e.hint);
}

/**
 * A chart's `where:` values must be values of the sweep as the file writes it; a list --quick or --set
 * replaced may lack some, and the chart then draws nothing and says so in the report.
 */
function checkChartSelections(loaded: LoadedScenario, check: (path: FieldPath, run: () => void) => void): void {
  const charts = loaded.points[0]!.scenario.charts;
  charts.forEach((chart, i) => {
    for (const [name, sel] of Object.entries(chart.where ?? {})) {
      const param = loaded.sweep.find((s) => s.name === name);
      if (!param || loaded.sweepOverridden(name)) continue;
      const values = Array.isArray(sel) ? sel : [sel];
      values.forEach((v, j) => {
        if (param.values.some((x) => String(x) === String(v))) return;
        const at = Array.isArray(sel) ? ['charts', i, 'where', name, j] : ['charts', i, 'where', name];
        check(at, () => {
          throw new InputError(
            loaded.placeOf(at),
            `a value of sweep.${name} (${param.values.map((x) => JSON.stringify(x)).join(', ')})`,
            JSON.stringify(v),
            didYouMean(String(v), param.values.map(String)),
          );
        });
      });
    }
  });
}
