import type { Command } from 'commander';
import { InputError } from '../io/input-error.ts';
import { quoteInput } from '../io/excerpt.ts';
import { parseThreshold } from '../io/threshold.ts';
import { compareSummaries, formatChanges, formatComparison, type Comparison } from '../../reports/compare.ts';
import { readSummaryDoc } from '../../reports/summary-json.ts';
import { addExamples } from './examples.ts';

/**
 * `svcsim compare BASELINE.json CURRENT.json [--threshold 5%] [--alpha 0.05] [--all]`: the regression
 * check between two summary.json files of the same study (reports/compare.ts says what counts).
 * By default it prints only the changed metrics, a row each, and a summary line; `--all` prints the
 * full table, every metric at every sweep point.
 * `--threshold` is a percentage (`5%`) or a fraction (`0.05`); a bare number above 1 is refused with
 * a hint (`5` read as 5% before the flag had one reading: sim/io/threshold.ts).
 * Exit status: 0 no regression, 1 at least one regression, 2 bad input (a file missing or not a
 * summary.json, a bad flag).
 */

export function parseAlpha(text: string): number {
  const v = Number(text);
  if (text.trim() === '' || !(v > 0 && v < 1)) throw new InputError('--alpha', 'a significance level between 0 and 1, such as 0.05', quoteInput(text));
  return v;
}

export interface CompareRun {
  comparison: Comparison;
  text: string;
  exitCode: 0 | 1;
}

export function runCompare(baselineFile: string, currentFile: string, opts: { threshold?: string; alpha?: string; all?: boolean } = {}): CompareRun {
  const threshold = parseThreshold(opts.threshold ?? '5%');
  const alpha = parseAlpha(opts.alpha ?? '0.05');
  const baseline = readSummaryDoc(baselineFile);
  const current = readSummaryDoc(currentFile);
  const comparison = compareSummaries(baseline, current, { threshold, alpha });
  return { comparison, text: (opts.all ? formatComparison : formatChanges)(comparison, { baseline: baselineFile, current: currentFile }), exitCode: comparison.regressions > 0 ? 1 : 0 };
}

export function registerCompare(program: Command): void {
  const command = program
    .command('compare')
    .description('Compare two summary.json files and print the metrics that changed; exit 1 on a significant regression larger than the threshold')
    .argument('<baseline>', 'summary.json of the baseline run')
    .argument('<current>', 'summary.json of the run to check')
    .option('--threshold <value>', 'smallest relative change of a mean that counts: a percentage (5%) or a fraction (0.05)', '5%')
    .option('--alpha <p>', "significance level of Welch's t-test", '0.05')
    .option('--all', 'print every metric at every sweep point (the full table) instead of only the changed metrics')
    .action((baseline: string, current: string, opts: { threshold: string; alpha: string; all?: boolean }) => {
      const r = runCompare(baseline, current, opts);
      process.stdout.write(r.text);
      if (r.exitCode !== 0) process.exitCode = r.exitCode;
    });
  addExamples(command, [
    {
      say: 'Run the quickstart study twice, the second time with a slower conntrack insert, and compare the runs',
      run: [
        'svcsim scenario scenarios/quickstart.yaml --quick --replications 3 --out out/base',
        'svcsim scenario scenarios/quickstart.yaml --quick --replications 3 --out out/slower --set costs.conntrackInsertNs=2000',
        'svcsim compare out/base/summary.json out/slower/summary.json',
      ],
      exit: 1,
    },
    { say: 'The same comparison as a full table, every metric at every point, with a 10% threshold', run: ['svcsim compare out/base/summary.json out/slower/summary.json --all --threshold 10%'], exit: 1 },
  ]);
}
