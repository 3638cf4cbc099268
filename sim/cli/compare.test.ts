import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { summarizePoints } from '../../reports/summarize.ts';
import { buildSummaryDoc, stringifySummaryDoc } from '../../reports/summary-json.ts';
import { fixtureInput } from '../../reports/testing/fixture.ts';
import type { ReportInput } from '../../reports/types.ts';
import { InputError } from '../io/input-error.ts';
import { runCompare } from './compare.ts';

const dir = mkdtempSync(join(tmpdir(), 'svcsim-compare-'));

function summaryFile(name: string, input: ReportInput): string {
  const { metrics, points } = summarizePoints(input.runs, input.meta.sweep);
  const path = join(dir, name);
  writeFileSync(path, stringifySummaryDoc(buildSummaryDoc(input.meta, points, metrics, [])));
  return path;
}

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'sim/cli.ts', 'compare', ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const baseline = summaryFile('baseline.json', fixtureInput());
const slower = fixtureInput();
for (const r of slower.runs) if (r.point.mode === 'iptables') r.metrics['firstPacketLatency.p99']! *= 1.2;
const regressed = summaryFile('regressed.json', slower);
const noisy = fixtureInput();
// +100% on a metric whose replications spread as much as the change: not significant.
for (const r of noisy.runs) r.metrics['tailDrops.count']! += 1;
const insignificant = summaryFile('insignificant.json', noisy);

test('svcsim compare: a significant regression beyond the threshold exits 1 and is named', () => {
  const r = cli(baseline, regressed);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stdout, /^firstPacketLatency\.p99 \(lower is better\)$/m);
  assert.match(r.stdout, /^mode=iptables services=100 +38µs ± 3\.3% +45\.6µs ± 3\.3% +\+20% \(p=0\.000 n=3\+3\) +REGRESSION$/m);
  assert.match(r.stdout, /^2 regressions, 0 improvements, 0 informational changes, 34 unchanged$/m);
  assert.match(r.stdout, /Welch's t-test/);
  // The same change under a 25% threshold passes.
  assert.equal(runCompare(baseline, regressed, { threshold: '25%' }).exitCode, 0);
});

test('svcsim compare: identical or non-significant differences exit 0', () => {
  const same = runCompare(baseline, baseline);
  assert.equal(same.exitCode, 0);
  assert.match(same.text, /^0 regressions, 0 improvements, 0 informational changes, 36 unchanged$/m);
  const r = runCompare(baseline, insignificant);
  assert.equal(r.exitCode, 0);
  assert.match(r.text, /^mode=iptables services=100 +1 ± 248% +2 ± 124% +~ \(p=0\.288 n=3\+3\)$/m);
});

test('svcsim compare: informational figures (sim.events, connections.total) changing a lot still exit 0', () => {
  const a = fixtureInput();
  const b = fixtureInput();
  for (const r of a.runs) Object.assign(r.metrics, { 'sim.events': 1e6 + r.replication, 'connections.total': 5000 + r.replication });
  for (const r of b.runs) Object.assign(r.metrics, { 'sim.events': 3e6 + r.replication, 'connections.total': 9000 + r.replication });
  const r = cli(summaryFile('info-a.json', a), summaryFile('info-b.json', b));
  assert.equal(r.status, 0, r.stdout);
  assert.match(r.stdout, /^sim\.events \(informational: shown, never a regression\)$/m);
  assert.match(r.stdout, /\+200% \(p=0\.000 n=3\+3\) +changed \(informational\)$/m);
  assert.match(r.stdout, /^0 regressions, 0 improvements, 12 informational changes, 36 unchanged$/m);
});

test('svcsim compare: bad input exits 2 with one message naming the file', () => {
  let r = cli(join(dir, 'missing.json'), baseline);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /missing\.json: expected a readable summary\.json file, found no such file/);
  assert.equal(r.stdout, '');

  const notSummary = join(dir, 'package.json');
  writeFileSync(notSummary, '{"name": "x"}');
  r = cli(baseline, notSummary);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /package\.json: format: expected "svcsim-summary\/1" \(the summary\.json a scenario run writes\), found no format field/);

  const notJson = join(dir, 'runs.csv');
  writeFileSync(notJson, 'mode,services\n');
  assert.throws(() => runCompare(notJson, baseline), (e: unknown) => e instanceof InputError && /runs\.csv: expected a summary\.json file \(JSON\), found text that is not JSON/.test(e.message));

  const broken = join(dir, 'broken.json');
  writeFileSync(broken, JSON.stringify({ ...JSON.parse(stringifySummaryDoc(buildSummaryDoc(fixtureInput().meta, [], [], []))), points: [{ point: {}, runs: -1, metrics: {} }] }));
  assert.throws(() => runCompare(broken, baseline), /broken\.json: points\[0\]\.runs: expected a valid summary\.json field/);

  assert.throws(() => runCompare(baseline, baseline, { threshold: 'five' }), /--threshold: expected a fraction such as 0\.05 or a percentage such as 5%, found "five"/);
});

test('--threshold: 25% and 0.25 are the same threshold; a bare 25 is refused with a hint', () => {
  // +20% on firstPacketLatency.p99: a regression under 5%, not under 25%.
  assert.equal(runCompare(baseline, regressed, { threshold: '0.25' }).exitCode, 0);
  assert.equal(runCompare(baseline, regressed, { threshold: '25%' }).exitCode, 0);
  assert.equal(runCompare(baseline, regressed, { threshold: '0.05' }).exitCode, 1);
  assert.equal(runCompare(baseline, regressed, { threshold: '5%' }).exitCode, 1);
  assert.throws(() => runCompare(baseline, regressed, { threshold: '25' }), (e: unknown) => e instanceof InputError && /found "25" \(did you mean 25%\?/.test(e.message));
});

test('svcsim compare --threshold: a bad value exits 2 with one line naming the flag', () => {
  for (const bad of ['5', '-5%', 'five']) {
    const r = cli(baseline, regressed, '--threshold', bad);
    assert.equal(r.status, 2, bad);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^svcsim: --threshold: expected a fraction such as 0\.05 or a percentage such as 5%, found "[^"]*"( \(did you mean 5%\? A bare number is a fraction: 1 is 100%\))?\n$/, bad);
  }
});
