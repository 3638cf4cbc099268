import type { FindingSpec } from './findings.ts';
import type { References } from './references.ts';
/**
 * The input of reports/: result rows and a description of the study. reports/ knows nothing of the
 * simulator's internals; the scenario runner turns what its runs measured into these rows and calls
 * `writeRunOutputs` (reports/write.ts).
 *
 * Units. Every number is in a base unit, so tables, charts and expectations can choose how to show it:
 * - durations in nanoseconds (integer or not), e.g. `firstPacketLatency.p99 = 41250` is 41.25µs;
 * - ratios as fractions, e.g. `failedConnections.rate = 0.002` is 0.2%;
 * - counts, rates per second and bytes as plain numbers.
 * The unit of each metric is declared in `ScenarioMeta.metrics`, or else follows the naming rule of
 * reports/units.ts (`metricUnit`).
 */

/** A value of a sweep parameter, as written in the scenario (`iptables`, `1000`, `"1s"`). */
export type ParamValue = string | number;

/**
 * One sweep point: the value of each sweep parameter, keyed by parameter name. A scenario without a
 * sweep has one point, `{}`.
 */
export type SweepPoint = Record<string, ParamValue>;

/** What one run (one sweep point, one replication) measured. */
export interface RunRow {
  point: SweepPoint;
  /** 0-based replication index within the point. */
  replication: number;
  /** The master seed this run's random streams were derived from. */
  seed: number | string;
  /**
   * Every metric of the run by name, e.g. `firstPacketLatency.p99`, `failedConnections.rate`.
   * NaN means "not measured in this run" (a percentile with no samples): it is left out of the
   * replication statistics and written as an empty cell / null.
   */
  metrics: Record<string, number>;
}

/** One value of a metric over simulated time, in one run. */
export interface TimeseriesRow {
  point: SweepPoint;
  replication: number;
  /** Start of the interval, in simulated seconds. */
  t: number;
  /** Series name, e.g. `failedConnections.perSecond`, `conntrack.entries`. */
  series: string;
  value: number;
}

/** The unit of a metric's numbers (see the file comment). */
export type MetricUnit = 'ns' | 'ratio' | 'count' | 'perSecond' | 'bytes' | 'none';

/**
 * Which direction of change is an improvement, for `svcsim compare`; `none` for an informational
 * figure (events executed, connections opened, kernel objects, samples counted): a change in it is
 * shown but is neither a regression nor an improvement.
 */
export type Better = 'lower' | 'higher' | 'none';

export interface MetricInfo {
  unit?: MetricUnit;
  better?: Better;
  /** One line for the report's summary table caption and for people reading summary.json. */
  description?: string;
}

/**
 * One `charts:` entry of a scenario.
 * - `x`: a sweep parameter, or `time` for a chart of a time series over simulated seconds.
 * - `y`: a metric name (`firstPacketLatency.p99`), or a series name when `x` is `time`.
 * - `color`: a sweep parameter that makes one line/bar group per value. Sweep parameters that are
 *   neither `x` nor `color` and take several values are appended to the series label, so no two
 *   points are drawn on top of each other.
 */
export interface ChartSpec {
  title: string;
  x: string;
  /**
   * The metric drawn (a series name when x is `time`), or several of one unit, each its own series
   * labelled by its name: `[drops.conntrack_table_full, drops.conntrack_insert_failed]` (drops by reason).
   */
  y: string | string[];
  color?: string;
  xScale?: 'log' | 'linear';
  yScale?: 'log' | 'linear';
  kind?: 'line' | 'bar' | 'point';
  /** `ci95` (default): the 95% confidence interval of the mean over replications; `none`. */
  errorBars?: 'ci95' | 'none';
  /** File name under charts/ without extension; default: the title in kebab case. */
  name?: string;
  /**
   * Only the sweep points whose parameters take these values (a value or a list of values per
   * parameter), so a study of many parameters draws readable charts: `{ churn: pod-kill, minSyncPeriod: 1s }`.
   */
  where?: Record<string, ParamValue | ParamValue[]>;
}

/** What the runner knows about the study; everything summary.json needs to reproduce it. */
export interface ScenarioMeta {
  name: string;
  question: string;
  assumptions: string[];
  /** The scenario as loaded (after --set overrides), so summary.json can reproduce the run. */
  scenario: unknown;
  svcsimVersion: string;
  seed: number | string;
  replications: number;
  /** Sweep parameters in the order the scenario declares them, each with its values in order. */
  sweep: Record<string, ParamValue[]>;
  /** Grid points the scenario's `exclude:` skips (they are not run, and not missing). Default 0. */
  excluded?: number;
  /**
   * The lists of the scenario file's sweep that --quick or --set replaced, as the file writes them:
   * an `expect:` line selecting only values left out of `sweep` is not checked in this run.
   */
  declaredSweep?: Record<string, ParamValue[]>;
  charts: ChartSpec[];
  /** The `expect:` lines as written; parsed by reports/expectations.ts. */
  expectations: string[];
  /** The study's `answer:` findings (reports/findings.ts): its questions, answered from the figures. */
  findings?: FindingSpec[];
  /** True when the run was interrupted: the outputs hold only the runs that finished. */
  partial: boolean;
  /** Units and direction of metrics, by full name (`firstPacketLatency.p99`) or base name (`firstPacketLatency`). */
  metrics?: Record<string, MetricInfo>;
  /** The scenario file's text, shown in the report's setup section. */
  source?: string;
  /** The study's `reference:` points (reports/references.ts): drawn on the charts, compared in the report. */
  references?: References;
}

/** Everything the outputs are made of. */
export interface ReportInput {
  meta: ScenarioMeta;
  runs: RunRow[];
  timeseries?: TimeseriesRow[];
}

/** Replication statistics of one metric at one sweep point (see sim/engine/stats/replication.ts). */
export interface MetricSummary {
  /** Replications that measured the metric (NaN values are left out). */
  n: number;
  mean: number;
  stdev: number;
  ci95Low: number;
  ci95High: number;
}

export interface PointSummary {
  point: SweepPoint;
  /** Replications that ran at this point. */
  runs: number;
  metrics: Record<string, MetricSummary>;
}
