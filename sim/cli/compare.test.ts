import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { summarizePoints } from '../../reports/summarize.ts';
import { compareSummaries, formatChanges, formatComparison } from '../../reports/compare.ts';
import { buildSummaryDoc, readSummaryDoc, stringifySummaryDoc } from '../../reports/summary-json.ts';
import { quickstartLikeInput } from '../../reports/testing/quickstart-like.ts';
import { fixtureInput } from '../../reports/testing/fixture.ts';
import type { ReportInput } from '../../reports/types.ts';
import { InputError } from '../io/input-error.ts';
import { runCompare } from './compare.ts';

const dir = mkdtempSync(join(tmpdir(), 'svcsim-compare-'));
mkdirSync('test/golden/compare', { recursive: true });

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
  const r = cli(baseline, regressed, '--all');
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stdout, /^firstPacketLatency\.p99 \(lower is better\)$/m);
  assert.match(r.stdout, /^mode=iptables services=100 +38µs ± 3\.3% +45\.6µs ± 3\.3% +\+20% \(p=0\.000 n=3\+3\) +REGRESSION$/m);
  assert.match(r.stdout, /^2 regressions, 0 improvements, 0 informational changes, 34 unchanged$/m);
  assert.match(r.stdout, /Welch's t-test/);
  // The default names the metric in one row, the two points it regressed at, and the same exit status.
  const short = cli(baseline, regressed);
  assert.equal(short.status, 1, short.stderr);
  assert.match(short.stdout, /^firstPacketLatency\.p99 +lower is better +2 regressions +\+20% +mode=iptables services=100: 38µs → 45\.6µs$/m);
  assert.match(short.stdout, /^2 regressions, 0 improvements, 0 informational changes, 33 unchanged, 1 not measured by either run \(left out\)$/m);
  // The same change under a 25% threshold passes.
  assert.equal(runCompare(baseline, regressed, { threshold: '25%' }).exitCode, 0);
});

test('svcsim compare: identical or non-significant differences exit 0', () => {
  const same = runCompare(baseline, baseline, { all: true });
  assert.equal(same.exitCode, 0);
  assert.match(same.text, /^0 regressions, 0 improvements, 0 informational changes, 36 unchanged$/m);
  assert.match(runCompare(baseline, baseline).text, /^No metric changed beyond the threshold\.\n/);
  const r = runCompare(baseline, insignificant, { all: true });
  assert.equal(r.exitCode, 0);
  assert.match(r.text, /^mode=iptables services=100 +1 ± 248% +2 ± 124% +~ \(p=0\.288 n=3\+3\)$/m);
});

test('svcsim compare: informational figures (sim.events, connections.total) changing a lot still exit 0', () => {
  const a = fixtureInput();
  const b = fixtureInput();
  for (const r of a.runs) Object.assign(r.metrics, { 'sim.events': 1e6 + r.replication, 'connections.total': 5000 + r.replication });
  for (const r of b.runs) Object.assign(r.metrics, { 'sim.events': 3e6 + r.replication, 'connections.total': 9000 + r.replication });
  const r = cli(summaryFile('info-a.json', a), summaryFile('info-b.json', b), '--all');
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

// The case (issue 20): two quickstart-like runs that differ in one cost (conntrackInsertNs
// 619 -> 2000). The full table is hundreds of lines; the default is one screen naming every metric
// that regressed. Both are pinned by golden files (UPDATE_GOLDEN=1 rewrites them).
function golden(path: string, actual: string): void {
  if (process.env.UPDATE_GOLDEN || !existsSync(path)) writeFileSync(path, actual);
  assert.equal(actual, readFileSync(path, 'utf8'), `${path} differs (UPDATE_GOLDEN=1 to accept)`);
}

test('svcsim compare: one cost changed in a quickstart-like study fits one screen; --all keeps the full table', () => {
  const a = summaryFile('quickstart-a.json', quickstartLikeInput(619));
  const b = summaryFile('quickstart-b.json', quickstartLikeInput(2000));
  const files = { baseline: 'a/summary.json', current: 'b/summary.json' };
  const comparison = compareSummaries(readSummaryDoc(a), readSummaryDoc(b), { threshold: 0.05 });
  const short = formatChanges(comparison, files);
  const full = formatComparison(comparison, files);
  golden('test/golden/compare/quickstart-like.txt', short);
  golden('test/golden/compare/quickstart-like.all.txt', full);

  const lines = short.trimEnd().split('\n');
  assert.ok(lines.length <= 40, `${lines.length} lines`);
  assert.ok(full.split('\n').length > 500, 'the full table is long (the point of the default)');
  const regressed = [...new Set(comparison.rows.filter((r) => r.verdict === 'regression').map((r) => r.metric))].sort();
  assert.deepEqual(regressed, [...STATS_OF('cpuPerConnection'), ...STATS_OF('firstPacketLatency')]);
  for (const m of regressed) assert.match(short, new RegExp(`^${m.replace('.', '\\.')} +lower is better +\\d+ regressions? `, 'm'));
  // Never-measured metrics are counted, not listed; the full table still lists them as n/a.
  assert.doesNotMatch(short, /affinity\.hits|n\/a/);
  assert.match(full, /^affinity\.hits/m);
  assert.match(lines.at(-1)!, /^\d+ regressions, 0 improvements, 0 informational changes, \d+ unchanged, 20 not measured by either run \(left out\)$/);

  // Through the CLI: the same exit status (1: regressions) with or without --all.
  const r = cli(a, b);
  assert.equal(r.status, 1, r.stderr);
  assert.equal(r.stdout, short.replace('a/summary.json', a).replace('b/summary.json', b));
  const rAll = cli(a, b, '--all');
  assert.equal(rAll.status, 1, rAll.stderr);
  assert.equal(rAll.stdout, full.replace('a/summary.json', a).replace('b/summary.json', b));
});

function STATS_OF(metric: string): string[] {
  return ['max', 'mean', 'p50', 'p99'].map((s) => `${metric}.${s}`);
}
