/**
 * `npm run bench:check [-- --results FILE] [--baseline FILE] [--threshold 0.2] [--update]`:
 * the regression gate. Compares the results of the last `npm run bench` against the committed
 * baseline of the same form (decision rule in bench/regression.ts) and exits 1 when a task is slower
 * beyond its noise and the threshold, when a task errored, or when a baseline task the run should
 * have produced is missing (bench/regression.ts), 0 otherwise, 2 on a usage or file error. `--update` writes the
 * current results as the new baseline instead of judging them (do it on purpose:
 * docs/benchmarks.md, "Updating a baseline").
 *
 * `--threshold` is a fraction (`0.2`, the default) or a percentage (`20%`); a bare number above 1 is
 * refused (sim/io/threshold.ts, the reading `svcsim compare` shares).
 *
 * `--results` may be given several times (runs of the same form): each task is then taken from its
 * fastest run, for --update as for judging. On a shared machine interference only ever slows a task
 * down, so the best of a few runs is a steadier figure than any one run (see regression.ts bestOf).
 *
 * Each form has its own baseline: bench/baseline.json (full) and bench/baseline-quick.json (--quick,
 * what CI runs). The quick form warms each task up for a quarter of the time, so JIT-heavy tasks
 * measure slower in it, and a quick run judged against the full baseline shows regressions that
 * are not there.
 */
import { readFileSync, existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { writeFileAtomic } from '../sim/io/atomic-write.ts';
import { parseThreshold } from '../sim/io/threshold.ts';
import { bestOf, compareResults, comparisonTable, DEFAULT_THRESHOLD, type Comparison, type Verdict } from './regression.ts';
import { parseResults } from './results.ts';

const USAGE = 'usage: npm run bench:check -- [--results FILE]... [--baseline FILE] [--threshold FRACTION|PERCENT%] [--update]';

export const FULL_BASELINE = 'bench/baseline.json';
export const QUICK_BASELINE = 'bench/baseline-quick.json';

/** The committed baseline a run of either form is judged against. */
export function baselineFor(quick: boolean): string {
  return quick ? QUICK_BASELINE : FULL_BASELINE;
}

function failures(c: Comparison): string {
  const count = (v: Verdict) => c.tasks.filter((t) => t.verdict === v).length;
  return [
    count('slower') && `${count('slower')} slower beyond the noise and the threshold`,
    count('error') && `${count('error')} errored`,
    count('missing') && `${count('missing')} missing (in the baseline, not produced)`,
  ]
    .filter(Boolean)
    .join(', ');
}

export function main(argv: string[]): number {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        results: { type: 'string', multiple: true, default: ['out/bench/results.json'] },
        baseline: { type: 'string' },
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
  let threshold: number;
  try {
    threshold = parseThreshold(values.threshold);
  } catch (e) {
    process.stderr.write(`bench:check: ${(e as Error).message}\n`);
    return 2;
  }
  const missing = values.results.find((f) => !existsSync(f));
  if (missing !== undefined) {
    process.stderr.write(`bench:check: ${missing}: no results file (run \`npm run bench\` first)\n`);
    return 2;
  }
  try {
    const runs = values.results.map((f) => parseResults(readFileSync(f, 'utf8'), f));
    const current = bestOf(runs, values.results);
    values.baseline ??= baselineFor(current.quick);
    if (values.update) {
      // A baseline holds every task of its form, each with a figure: a filtered run or one with
      // errors would make the gate stop expecting the tasks it lacks.
      if (current.errors.length) {
        process.stderr.write(`bench:check: --update: ${values.results.join(', ')} has errors (${current.errors.map((e) => e.name).join('; ')}): not written; fix them and run again\n`);
        return 2;
      }
      if (current.filter !== undefined) {
        process.stderr.write(`bench:check: --update: ${values.results.join(', ')} is a --filter ${JSON.stringify(current.filter)} run: a baseline needs every task of its form; not written\n`);
        return 2;
      }
      writeFileAtomic(values.baseline, `${JSON.stringify(current, null, 2)}\n`);
      process.stdout.write(`bench:check: wrote ${values.baseline} from ${values.results.join(', ')} (${current.tasks.length} tasks${current.quick ? ', quick form' : ''}${runs.length > 1 ? `, best of ${runs.length} runs` : ''})\n`);
      return 0;
    }
    if (runs.length > 1) process.stdout.write(`bench:check: each task judged by its best of ${runs.length} runs\n`);
    if (!existsSync(values.baseline)) {
      process.stderr.write(`bench:check: ${values.baseline}: no baseline (write one on purpose with --update)\n`);
      return 2;
    }
    const baseline = parseResults(readFileSync(values.baseline, 'utf8'), values.baseline);
    if (baseline.clock !== current.clock) {
      process.stdout.write(`bench:check: note: the baseline was timed with the ${baseline.clock ?? 'wall'} clock and these results with the ${current.clock ?? 'wall'} clock; ratios may differ by the machine's load\n`);
    }
    if (baseline.host?.cpuModel !== current.host?.cpuModel) {
      // The reference loop takes out the CPU's speed, not its caches and memory: memory-bound tasks may move.
      process.stdout.write(`bench:check: note: the baseline was measured on ${baseline.host?.cpuModel ?? 'an unrecorded CPU'} and these results on ${current.host?.cpuModel ?? 'an unrecorded CPU'}\n`);
    }
    if (baseline.quick !== current.quick) {
      // A suite may give its quick form less work per call under the same task name.
      process.stdout.write(`bench:check: note: the baseline is the ${baseline.quick ? 'quick' : 'full'} form and these results the ${current.quick ? 'quick' : 'full'} form; tasks whose work differs between forms will not compare\n`);
    }
    const c = compareResults(baseline, current, threshold);
    process.stdout.write(`${comparisonTable(c)}\n`);
    process.stdout.write(
      c.failed
        ? `bench:check: FAILED against ${values.baseline}: ${failures(c)}\n`
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
