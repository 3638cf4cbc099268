import { z } from 'zod';
import { issueText } from './issue-text.ts';
import { duration } from './schema-fields.ts';
import { sweepValue } from './schema-sweep.ts';

/**
 * `reference:` figures measured or published, drawn beside the simulated lines and compared in the
 * report (reports/references.ts). Each point names its source: a URL, or a file of this repository
 * (a calibration measurement), relative to the scenario file. The metric and the sweep parameters
 * are checked before any run (precheck-reference.ts).
 */
const referencePointSchema = z
  .strictObject({
    x: sweepValue.describe('Value of reference.x (a sweep parameter) the figure is at, e.g. 1000.'),
    series: z.record(z.string(), sweepValue).default({}).describe('The other sweep parameters that pick the simulated line, e.g. { mode: iptables }. Default: every point at x.'),
    metric: z.string().min(1).describe('A metric the runs write, e.g. connectSetupLatency, or a whole column such as connectSetupLatency.p50.'),
    percentile: z
      .string()
      .regex(/^(p\d+(\.\d+)?|mean|max)$/, { error: () => issueText({ expected: 'a percentile such as p50, p90, p99, or mean or max' }) })
      .optional()
      .describe('Appended to the metric for the column compared: p50, p90, p99, mean, max.'),
    value: z
      .union([duration('A duration, for a time metric.'), z.number()])
      .describe('The figure: a duration ("120us") for a time, else a number in the metric\'s base unit.'),
    source: z
      .string()
      .min(1, { error: () => issueText({ expected: 'where the figure comes from: a URL or a file of this repository' }) })
      .describe('Where the figure comes from: an http(s) URL, or a file of this repository relative to the scenario file (a calibration measurement).'),
    label: z.string().min(1).optional().describe('Short name in the table and the chart legend. Default: the source.'),
    note: z.string().min(1).optional().describe('What exactly was measured (hardware, kernel, what the clock covered): the report gives it where the figures disagree.'),
  })
  .describe('One figure from a measurement or a publication.');

export const referenceSchema = z
  .strictObject({
    x: z.string().min(1).describe('The sweep parameter the points\' x values belong to, e.g. services.'),
    factor: z.number().gt(1).default(2).describe('A simulated figure more than this factor above or below its reference is reported as a disagreement. Default 2.'),
    points: z.array(referencePointSchema).min(1).describe('The figures.'),
  })
  .describe('Measured or published figures set beside the simulated ones: marks on the charts and an agreement table in the report. Never used to fit the model.');
