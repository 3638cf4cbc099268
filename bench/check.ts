/**
 * `npm run bench:check [-- --results FILE] [--baseline FILE] [--threshold 0.2] [--update]`:
 * the regression gate. Compares the results of the last `npm run bench` against the committed
 * baseline (decision rule in bench/regression.ts) and exits 1 when a task is slower beyond its noise
 * and the threshold, 0 otherwise, 2 on a usage or file error. `--update` writes the current results
 * as the new baseline instead of judging them (do it on purpose: see bench/README.md).
 */
import { readFileSync, existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { writeFileAtomic } from '../sim/io/atomic-write.ts';
import { compareResults, comparisonTable, DEFAULT_THRESHOLD } from './regression.ts';
import { parseResults } from './results.ts';

const USAGE = 'usage: npm run bench:check -- [--results FILE] [--baseline FILE] [--threshold FRACTION] [--update]';

export function main(argv: string[]): number {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        results: { type: 'string', default: 'out/bench/results.json' },
        baseline: { type: 'string', default: 'bench/baseline.json' },
        threshold: { type: 'string', default: String(DEFAULT_THRESHOLD) },
        update: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    process.stderr.write(`bench:check: ${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const threshold = Number(values.threshold);
  if (!(threshold > 0 && threshold < 10)) {
    process.stderr.write(`bench:check: --threshold: expected a fraction such as 0.2, found ${JSON.stringify(values.threshold)}\n`);
    return 2;
  }
  if (!existsSync(values.results)) {
    process.stderr.write(`bench:check: ${values.results}: no results file (run \`npm run bench\` first)\n`);
    return 2;
  }
  try {
    const currentText = readFileSync(values.results, 'utf8');
    const current = parseResults(currentText, values.results);
    if (values.update) {
      writeFileAtomic(values.baseline, currentText.endsWith('\n') ? currentText : `${currentText}\n`);
      process.stdout.write(`bench:check: wrote ${values.baseline} from ${values.results} (${current.tasks.length} tasks${current.quick ? ', quick form' : ''})\n`);
      return 0;
    }
    if (!existsSync(values.baseline)) {
      process.stderr.write(`bench:check: ${values.baseline}: no baseline (write one on purpose with --update)\n`);
      return 2;
    }
    const baseline = parseResults(readFileSync(values.baseline, 'utf8'), values.baseline);
    if (baseline.quick !== current.quick) {
      // A suite may give its quick form less work per call under the same task name.
      process.stdout.write(`bench:check: note: the baseline is the ${baseline.quick ? 'quick' : 'full'} form and these results the ${current.quick ? 'quick' : 'full'} form; tasks whose work differs between forms will not compare\n`);
    }
    const c = compareResults(baseline, current, threshold);
    process.stdout.write(`${comparisonTable(c)}\n`);
    process.stdout.write(
      c.failed
        ? `bench:check: FAILED: slower than ${values.baseline} beyond the noise and the ${threshold * 100}% threshold\n`
        : `bench:check: ok (threshold ${threshold * 100}%, or the combined margin of error when larger)\n`,
    );
    return c.failed ? 1 : 0;
  } catch (e) {
    process.stderr.write(`bench:check: ${(e as Error).message}\n`);
    return 2;
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exit(main(process.argv.slice(2)));
}
