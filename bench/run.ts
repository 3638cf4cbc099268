/**
 * `npm run bench [-- --quick] [--filter SUBSTRING] [--out FILE]`: times every task of every
 * bench/*.bench.ts suite, prints a table and writes the results (default out/bench/results.json),
 * which `npm run bench:check` compares against the baseline of its form (bench/baseline.json, or
 * bench/baseline-quick.json for --quick). See docs/benchmarks.md.
 */
import { parseArgs } from 'node:util';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from '../sim/io/atomic-write.ts';
import { suiteFiles } from './discover.ts';
import { resultsTable } from './format.ts';
import { runHarness } from './harness.ts';
import { FULL_PROFILE, QUICK_PROFILE } from './measure.ts';

const USAGE = 'usage: npm run bench -- [--quick] [--filter SUBSTRING] [--out FILE] [--suites DIR]';

export async function main(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        quick: { type: 'boolean', default: false },
        filter: { type: 'string' },
        out: { type: 'string', default: 'out/bench/results.json' },
        suites: { type: 'string', default: dirname(fileURLToPath(import.meta.url)) },
        help: { type: 'boolean', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    process.stderr.write(`bench: ${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const files = suiteFiles(values.suites);
  if (files.length === 0) {
    process.stderr.write(`bench: no *.bench.ts suite in ${values.suites}\n`);
    return 2;
  }
  const results = await runHarness({
    files,
    quick: values.quick,
    filter: values.filter,
    profile: values.quick ? QUICK_PROFILE : FULL_PROFILE,
    log: (line) => process.stderr.write(`${line}\n`),
  });
  if (results.tasks.length === 0 && results.errors.length === 0) {
    process.stderr.write(`bench: no task matches --filter ${JSON.stringify(values.filter)}\n`);
    return 2;
  }
  writeFileAtomic(values.out, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`${resultsTable(results)}\nwrote ${values.out}\n`);
  return results.errors.length ? 1 : 0;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
