/**
 * `npm run bench:gate -- [--runs 3] [--retries 3] [--pause 30] [--threshold 1] [--full] [--dir out/bench]`:
 * the regression gate as CI runs it (.ci/run). It runs the benchmarks `--runs` times (the quick form
 * unless --full), each in a process of its own, and judges each task by its fastest run against the
 * committed baseline of that form (bench/regression.ts). A task that looks slower is then timed
 * again, alone, up to `--retries` more times `--pause` seconds apart, and judged by its fastest
 * figure of all: a regression slows every run and still fails; a neighbour's burst does not last.
 *
 * Why the retries: this project's machines are VMs on shared hosts, whose other tenants take
 * caches and memory bandwidth the in-process reference loop does not use, so one run of unchanged
 * code can show tasks several times "slower" (docs/benchmarks.md lists the runs that showed it).
 * Errors and missing tasks are not retried: they are not noise.
 *
 * `--threshold` as for bench:check: a fraction (`1` is 100%, what CI passes) or a percentage (`100%`).
 *
 * Exit 0 when the gate passes, 1 when a task is slower after its retries, errored or is missing,
 * 2 on a usage error or when a run wrote no results.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { baselineFor } from './check.ts';
import { parseThreshold } from '../sim/io/threshold.ts';
import { bestOf, compareResults, comparisonTable, DEFAULT_THRESHOLD } from './regression.ts';
import { parseResults, type BenchResults } from './results.ts';

const USAGE = 'usage: npm run bench:gate -- [--runs N] [--retries N] [--pause SECONDS] [--threshold FRACTION|PERCENT%] [--full] [--dir DIR]';

/** Runs one benchmark process; returns its results, or a message when it wrote none. */
export type BenchRunner = (out: string, filter?: string) => BenchResults | string;

/** `npm run bench` in a process of its own: a fresh heap and JIT each time, as the baseline's runs had. */
function benchRunner(quick: boolean): BenchRunner {
  return (out, filter) => {
    rmSync(out, { force: true });
    const args = ['tsx', 'bench/run.ts', '--out', out, ...(quick ? ['--quick'] : []), ...(filter === undefined ? [] : ['--filter', filter])];
    // A run with errors exits 1 but writes its results: the gate reports them.
    spawnSync('npx', args, { stdio: ['ignore', 'inherit', 'inherit'] });
    if (!existsSync(out)) return `${out}: the run wrote no results`;
    return parseResults(readFileSync(out, 'utf8'), out);
  };
}

export interface GateOptions {
  runs: number;
  retries: number;
  pauseMs: number;
  threshold: number;
  dir: string;
  baseline: BenchResults;
  run: BenchRunner;
  sleep: (ms: number) => void;
  log: (line: string) => void;
}

/** The gate's decision: 0 pass, 1 fail, 2 a run wrote no results. */
export function gate(o: GateOptions): number {
  const results: BenchResults[] = [];
  const take = (out: string, filter?: string): boolean => {
    const r = o.run(join(o.dir, out), filter);
    if (typeof r === 'string') {
      o.log(`bench:gate: ${r}`);
      return false;
    }
    results.push(r);
    return true;
  };
  for (let i = 1; i <= o.runs; i++) if (!take(`gate-${i}.json`)) return 2;
  let c = compareResults(o.baseline, bestOf(results), o.threshold);
  for (let round = 1; round <= o.retries; round++) {
    const slower = c.tasks.filter((t) => t.verdict === 'slower').map((t) => t.name);
    if (slower.length === 0) break;
    o.log(`bench:gate: ${slower.length} task(s) slower beyond the noise; retry ${round} of ${o.retries} in ${o.pauseMs / 1000} s: ${slower.join('; ')}`);
    o.sleep(o.pauseMs);
    for (const [k, name] of slower.entries()) if (!take(`gate-retry-${round}-${k + 1}.json`, name)) return 2;
    c = compareResults(o.baseline, bestOf(results), o.threshold);
  }
  o.log(`bench:gate: each task judged by its fastest of ${o.runs} runs and its retries`);
  o.log(comparisonTable(c));
  o.log(c.failed ? 'bench:gate: FAILED' : `bench:gate: ok (threshold ${o.threshold * 100}%, or the noise when larger)`);
  return c.failed ? 1 : 0;
}

export function main(argv: string[]): number {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        runs: { type: 'string', default: '3' },
        retries: { type: 'string', default: '3' },
        pause: { type: 'string', default: '30' },
        threshold: { type: 'string', default: String(DEFAULT_THRESHOLD) },
        full: { type: 'boolean', default: false },
        dir: { type: 'string', default: 'out/bench' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    process.stderr.write(`bench:gate: ${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const count = (name: string, v: string, min: number) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > 20) throw new Error(`--${name}: expected a whole number from ${min} to 20, found ${JSON.stringify(v)}`);
    return n;
  };
  try {
    const runs = count('runs', values.runs, 1);
    const retries = count('retries', values.retries, 0);
    const pause = Number(values.pause);
    if (!(pause >= 0 && pause <= 600)) throw new Error(`--pause: expected seconds from 0 to 600, found ${JSON.stringify(values.pause)}`);
    const threshold = parseThreshold(values.threshold);
    const file = baselineFor(!values.full);
    const baseline = parseResults(readFileSync(file, 'utf8'), file);
    return gate({
      runs,
      retries,
      pauseMs: pause * 1000,
      threshold,
      dir: values.dir,
      baseline,
      run: benchRunner(!values.full),
      sleep: (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms),
      log: (line) => process.stdout.write(`${line}\n`),
    });
  } catch (e) {
    process.stderr.write(`bench:gate: ${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exit(main(process.argv.slice(2)));
}
