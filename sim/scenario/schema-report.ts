import { z } from 'zod';
import { duration } from './schema-fields.ts';
import { sweepValue } from './schema-sweep.ts';

/** What a study records and reports: `metrics:`, `charts:` and the `answer:` questions. */

export const metricsSchema = z
  .strictObject({
    interval: duration('Bucket width of timeseries.csv. Default 1s.').prefault('1s'),
    programmingProbe: duration(
      'Runs without churn: every this interval one endpoint of a random Service turns not ready, and back one interval later (a readiness flap; the pod keeps serving), so network programming latency is measured on a static cluster. 0s: off. Default 1s.',
    ).prefault('1s'),
  })
  .describe('What the runs record besides their summary metrics.');

export const chartSchema = z
  .strictObject({
    title: z.string().min(1).describe('Chart title; also names the chart file.'),
    x: z.string().min(1).describe('Sweep parameter on the x axis, or `time` for a time series over simulated seconds.'),
    y: z
      .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
      .describe('Metric on the y axis, e.g. firstPacketLatency.p99 (a series name when x is `time`), or a list of metrics of one unit drawn as one series each, e.g. drops by reason.'),
    color: z.string().min(1).optional().describe('Sweep parameter that splits the lines.'),
    xScale: z.enum(['linear', 'log']).default('linear').describe('Default linear.'),
    yScale: z.enum(['linear', 'log']).default('linear').describe('Default linear.'),
    kind: z.enum(['line', 'bar', 'point']).default('line').describe('Default line.'),
    errorBars: z
      .enum(['ci95', 'none'])
      .default('ci95')
      .describe('ci95: the 95% confidence interval of the mean over replications; none. Default ci95.'),
    name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/).optional().describe('File name under charts/ without extension. Default: the title in kebab case.'),
    where: z
      .record(z.string(), z.union([sweepValue, z.array(sweepValue).min(1)]))
      .optional()
      .describe('Only the sweep points whose parameters take these values (a value or a list per parameter), e.g. { churn: pod-kill, minSyncPeriod: 1s }. Default: every point.'),
  })
  .describe('A chart of the results.');
const selectionSchema = z.record(z.string(), z.union([sweepValue, z.array(sweepValue).min(1)]));

/** One question of the study answered from the figures (reports/findings.ts). */
export const findingSchema = z
  .strictObject({
    say: z.string().min(1).describe('What is asked, as the answer\'s lead: "Where the table starts to drop".'),
    first: z
      .strictObject({
        x: z.string().min(1).describe('Sweep parameter walked in its declared order.'),
        when: z.string().min(1).describe('The condition, as an expect: line (optional selector): "unclosed=0:conntrack.occupancy.peak >= 99%".'),
        by: z.string().min(1).optional().describe('Sweep parameter answered value by value.'),
      })
      .optional()
      .describe('The first value of x where the condition holds (every point there), per value of by.'),
    ratio: z
      .strictObject({
        y: z.string().min(1).describe('Metric.'),
        of: selectionSchema.describe('Selection whose mean is divided, e.g. { mode: iptables, services: 1000 }.'),
        to: selectionSchema.describe('Selection divided by.'),
      })
      .optional()
      .describe('One selection\'s mean over another\'s, and whether their 95% intervals overlap.'),
    rank: z
      .strictObject({
        y: z.string().min(1).describe('Metric.'),
        by: z.string().min(1).describe('Sweep parameter whose values are ranked.'),
        where: selectionSchema.optional().describe('Points to rank at, e.g. { services: 1000 }.'),
      })
      .optional()
      .describe('The values of by, lowest mean first.'),
  })
  .describe('A question answered from the figures: exactly one of first, ratio, rank.');
