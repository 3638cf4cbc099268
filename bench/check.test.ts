import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { baselineFor, main } from './check.ts';
import { RESULTS_SCHEMA, type BenchResults } from './results.ts';

function results(quick: boolean, ratio: number): BenchResults {
  return {
    schema: RESULTS_SCHEMA,
    quick,
    clock: 'process-cpu',
    host: { node: 'v20', platform: 'linux', arch: 'x64', cpus: 2, cpuModel: 'x', loadavg: [0, 0, 0] },
    startedAt: '2026-01-01T00:00:00.000Z',
    reference: { name: 'ref', measurements: [{ at: 'before s', meanNs: 1000, rme: 1 }], driftPct: 0 },
    tasks: [{ name: 'engine/hold pending=1000', suite: 'engine', meanNs: ratio * 1000, p99Ns: ratio * 1100, rme: 2, samples: 50, ratio, ratioRme: 3, per: { unit: 'event', count: 100 } }],
    errors: [],
  };
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
