import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { gate, main, type BenchRunner } from './gate.ts';
import { parseThreshold } from '../sim/io/threshold.ts';
import type { BenchResults, TaskResultRecord } from './results.ts';
import { fakeResults, fakeTask } from './testing/fake-results.ts';

const task = (name: string, ratio: number) => fakeTask(name, ratio);
const results = (tasks: TaskResultRecord[], filter?: string, errors: BenchResults['errors'] = []) => fakeResults(tasks, { ...(filter === undefined ? {} : { filter }), errors });
const baseline = results([task('a', 100), task('b', 10)]);

/** A runner whose whole runs and retries give the ratios listed, in order; records what it was asked. */
function scripted(whole: Record<string, number>[], retries: Record<string, number>[] = [], errors: BenchResults['errors'] = []) {
  const calls: { out: string; filter?: string }[] = [];
  const run: BenchRunner = (out, filter) => {
    calls.push({ out, filter });
    if (filter === undefined) {
      const r = whole.shift();
      return r ? results(Object.entries(r).map(([n, v]) => task(n, v)), undefined, errors) : `${out}: the run wrote no results`;
    }
    const r = retries.shift()!;
    return results(Object.entries(r).filter(([n]) => n.includes(filter)).map(([n, v]) => task(n, v)), filter);
  };
  return { run, calls };
}

function runGate(run: BenchRunner, retries = 3) {
  const lines: string[] = [];
  const sleeps: number[] = [];
  const code = gate({ runs: 2, retries, pauseMs: 5000, threshold: 0.2, dir: 'out', baseline, run, sleep: (ms) => sleeps.push(ms), log: (l) => lines.push(l) });
  return { code, out: lines.join('\n'), sleeps };
}

test('a task slow in every whole run but not on retry passes; only it is retried, after the pause', () => {
  const { run, calls } = scripted([{ a: 300, b: 10 }, { a: 250, b: 10 }], [{ a: 101 }]);
  const g = runGate(run);
  assert.equal(g.code, 0, g.out);
  assert.deepEqual(calls.map((c) => c.filter), [undefined, undefined, 'a']);
  assert.deepEqual(g.sleeps, [5000]);
  assert.match(g.out, /1 task\(s\) slower beyond the noise; retry 1 of 3 in 5 s: a/);
  assert.match(g.out, /bench:gate: ok/);
});

test('a real regression stays slower through every retry and fails', () => {
  const { run, calls } = scripted([{ a: 150, b: 10 }, { a: 140, b: 10 }], [{ a: 145 }, { a: 150 }, { a: 141 }]);
  const g = runGate(run);
  assert.equal(g.code, 1);
  assert.equal(calls.length, 5);
  assert.match(g.out, /a\s+\+40\.0%.*SLOWER \(fails\)/);
  assert.match(g.out, /bench:gate: FAILED/);
});

test('retries 0 judges the whole runs alone; an errored task fails without a retry; no results is exit 2', () => {
  assert.equal(runGate(scripted([{ a: 150, b: 10 }, { a: 150, b: 10 }]).run, 0).code, 1);
  const errored = scripted([{ a: 100 }, { a: 100 }], [], [{ name: 'b', message: 'boom' }]);
  const g = runGate(errored.run);
  assert.equal(g.code, 1);
  assert.equal(errored.calls.length, 2);
  assert.match(g.out, /b\s+ERROR \(fails\): boom/);
  assert.equal(runGate(scripted([{ a: 100, b: 10 }]).run).code, 2);
});

test('bench:gate: a wrong option value is one message and exit 2', () => {
  let err = '';
  const write = process.stderr.write;
  process.stderr.write = ((s: string | Uint8Array) => ((err += String(s)), true)) as typeof process.stderr.write;
  try {
    assert.equal(main(['--runs', '0']), 2);
    assert.match(err, /--runs: expected a whole number from 1 to 20, found "0"/);
    assert.equal(main(['--pause', 'soon']), 2);
    assert.match(err, /--pause: expected seconds from 0 to 600, found "soon"/);
    assert.equal(main(['--bogus']), 2);
    assert.match(err, /Unknown option '--bogus'/);
    err = '';
    assert.equal(main(['--threshold', '5']), 2);
    assert.match(err, /^bench:gate: --threshold: expected a fraction such as 0\.05 or a percentage such as 5%, found "5" \(did you mean 5%\? A bare number is a fraction: 1 is 100%\)\n/);
    err = '';
    assert.equal(main(['--threshold=-0.2']), 2);
    assert.match(err, /^bench:gate: --threshold: expected a fraction such as 0\.05 or a percentage such as 5%, found "-0\.2"\n/);
  } finally {
    process.stderr.write = write;
  }
});

test('bench:gate: the --threshold .ci/run passes means 100% (a task twice as slow fails)', () => {
  const m = /npm run bench:gate -- .*--threshold (\S+)/.exec(readFileSync('.ci/run', 'utf8'));
  assert.ok(m, '.ci/run runs bench:gate with a --threshold');
  assert.equal(parseThreshold(m[1]!), 1);
  assert.equal(parseThreshold('100%'), 1);
});
