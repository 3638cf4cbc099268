import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { baselineFor, main } from './check.ts';
import type { BenchResults } from './results.ts';
import { fakeResults, fakeTask } from './testing/fake-results.ts';

function results(quick: boolean, ratio: number): BenchResults {
  return fakeResults([{ ...fakeTask('engine/hold pending=1000', ratio, 3), suite: 'engine', per: { unit: 'event', count: 100 } }], { quick });
}

/** Runs main() with stdout/stderr captured, in a scratch folder. */
function run(dir: string, args: string[]): { code: number; out: string } {
  let out = '';
  const write = (s: string | Uint8Array) => ((out += String(s)), true);
  const [o, e] = [process.stdout.write, process.stderr.write];
  process.stdout.write = write as typeof process.stdout.write;
  process.stderr.write = write as typeof process.stderr.write;
  try {
    return { code: main(args.map((a) => a.replace('$D', dir))), out };
  } finally {
    process.stdout.write = o;
    process.stderr.write = e;
  }
}

test('bench:check exits 0 within the noise, 1 on a 30% regression, 2 without a baseline; --update writes one', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-check-'));
  try {
    const write = (name: string, r: BenchResults) => writeFileSync(join(dir, name), JSON.stringify(r));
    write('base.json', results(true, 100));
    write('same.json', results(true, 105));
    write('slow.json', results(true, 130));
    assert.equal(run(dir, ['--results', '$D/same.json', '--baseline', '$D/base.json']).code, 0);
    const slow = run(dir, ['--results', '$D/slow.json', '--baseline', '$D/base.json']);
    assert.equal(slow.code, 1);
    assert.match(slow.out, /engine\/hold pending=1000\s+\+30\.0%\s+±20\.0%\s+SLOWER \(fails\)/);
    // a larger threshold (CI's) lets the same slowdown through
    assert.equal(run(dir, ['--results', '$D/slow.json', '--baseline', '$D/base.json', '--threshold', '0.5']).code, 0);
    assert.equal(run(dir, ['--results', '$D/slow.json', '--baseline', '$D/none.json']).code, 2);
    assert.equal(run(dir, ['--results', '$D/slow.json', '--threshold', 'x']).code, 2);
    // the same threshold as a percentage; a bare number above 1 is refused, naming the flag
    assert.equal(run(dir, ['--results', '$D/slow.json', '--baseline', '$D/base.json', '--threshold', '50%']).code, 0);
    assert.equal(run(dir, ['--results', '$D/slow.json', '--baseline', '$D/base.json', '--threshold', '20%']).code, 1);
    const bare = run(dir, ['--results', '$D/slow.json', '--baseline', '$D/base.json', '--threshold', '50']);
    assert.equal(bare.code, 2);
    assert.equal(bare.out, 'bench:check: --threshold: expected a fraction such as 0.05 or a percentage such as 5%, found "50" (did you mean 50%? A bare number is a fraction: 1 is 100%)\n');
    assert.equal(run(dir, ['--results', '$D/slow.json', '--baseline', '$D/new.json', '--update']).code, 0);
    assert.deepEqual(JSON.parse(readFileSync(join(dir, 'new.json'), 'utf8')), results(true, 130));
    // several runs: each task judged by its best, and --update writes the best of them
    const two = run(dir, ['--results', '$D/slow.json', '--results', '$D/same.json', '--baseline', '$D/base.json']);
    assert.equal(two.code, 0);
    assert.match(two.out, /each task judged by its best of 2 runs/);
    assert.equal(run(dir, ['--results', '$D/slow.json', '--results', '$D/same.json', '--baseline', '$D/best.json', '--update']).code, 0);
    assert.equal(JSON.parse(readFileSync(join(dir, 'best.json'), 'utf8')).tasks[0].ratio, 105);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('each form is judged against its own committed baseline', () => {
  assert.equal(baselineFor(true), 'bench/baseline-quick.json');
  assert.equal(baselineFor(false), 'bench/baseline.json');
});

/** Results files with two tasks, some of them left out, errored or filtered, judged by main() as CI would. */
function twoTasks(quick: boolean, opts: { drop?: string; error?: string; extra?: string; filter?: string } = {}): BenchResults {
  const r = results(quick, 100);
  const t0 = r.tasks[0]!;
  r.tasks = [t0, { ...t0, name: 'netfilter/walk services=1000' }];
  if (opts.extra) r.tasks.push({ ...t0, name: opts.extra });
  if (opts.drop) r.tasks = r.tasks.filter((t) => t.name !== opts.drop);
  if (opts.error) {
    r.tasks = r.tasks.filter((t) => t.name !== opts.error);
    r.errors = [{ name: opts.error, message: 'TypeError: cannot read properties of undefined\n    at fn' }];
  }
  if (opts.filter !== undefined) {
    r.filter = opts.filter;
    r.tasks = r.tasks.filter((t) => t.name.includes(opts.filter!));
  }
  return r;
}

test('the gate fails on an errored task, an errored suite and a missing task; never on a new one', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-check-'));
  try {
    const write = (name: string, r: BenchResults) => writeFileSync(join(dir, name), JSON.stringify(r));
    const check = (file: string) => run(dir, ['--results', `$D/${file}`, '--baseline', '$D/base.json']);
    write('base.json', twoTasks(true));
    write('clean.json', twoTasks(true, { extra: 'k8s/new task' }));
    write('errored.json', twoTasks(true, { error: 'netfilter/walk services=1000' }));
    write('suite.json', { ...twoTasks(true), errors: [{ name: 'suite bench/k8s.bench.ts', message: 'SyntaxError' }] });
    write('missing.json', twoTasks(true, { drop: 'netfilter/walk services=1000' }));
    write('filtered.json', twoTasks(true, { filter: 'engine' }));
    write('filtered-missing.json', { ...twoTasks(true, { filter: 'e' }), tasks: twoTasks(true).tasks.slice(0, 1) });
    write('full.json', twoTasks(false, { drop: 'netfilter/walk services=1000' }));

    const clean = check('clean.json');
    assert.equal(clean.code, 0, clean.out);
    assert.match(clean.out, /k8s\/new task\s+new \(not in baseline\)/);

    const errored = check('errored.json');
    assert.equal(errored.code, 1, errored.out);
    assert.match(errored.out, /netfilter\/walk services=1000\s+ERROR \(fails\): TypeError: cannot read properties of undefined\n/);
    assert.match(errored.out, /FAILED against .*base\.json: 1 errored/);

    const suite = check('suite.json');
    assert.equal(suite.code, 1, suite.out);
    assert.match(suite.out, /suite bench\/k8s\.bench\.ts\s+ERROR \(fails\): SyntaxError/);

    const missing = check('missing.json');
    assert.equal(missing.code, 1, missing.out);
    assert.match(missing.out, /netfilter\/walk services=1000\s+MISSING \(fails\)/);
    assert.match(missing.out, /1 missing \(in the baseline, not produced\)/);

    // a --filter run is expected to produce only the tasks its filter names
    const filtered = check('filtered.json');
    assert.equal(filtered.code, 0, filtered.out);
    assert.match(filtered.out, /netfilter\/walk services=1000\s+not run \(outside this run's filter or form\)/);
    assert.equal(check('filtered-missing.json').code, 1, 'netfilter/walk contains "e": it was due and is missing');
    // a full run against the quick baseline is not expected to produce the quick form's tasks
    assert.equal(check('full.json').code, 0);

    // several runs merged: an error in any of them fails
    assert.equal(run(dir, ['--results', '$D/clean.json', '--results', '$D/errored.json', '--baseline', '$D/base.json']).code, 1);
    // a baseline is never written from a run with errors or a filter
    assert.equal(run(dir, ['--results', '$D/errored.json', '--baseline', '$D/b2.json', '--update']).code, 2);
    assert.equal(run(dir, ['--results', '$D/filtered.json', '--baseline', '$D/b2.json', '--update']).code, 2);
    assert.equal(existsSync(join(dir, 'b2.json')), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
