import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareSummaries, formatComparison, welchTTest } from './compare.ts';
import { summarizePoints } from './summarize.ts';
import { buildSummaryDoc, parseSummaryDoc, stringifySummaryDoc, type SummaryDoc } from './summary-json.ts';
import { fixtureInput } from './testing/fixture.ts';
import type { MetricSummary, ReportInput } from './types.ts';

function doc(input: ReportInput): SummaryDoc {
  const { metrics, points } = summarizePoints(input.runs, input.meta.sweep);
  // Through text, as compare reads it: NaN goes out as null and comes back as NaN.
  return parseSummaryDoc(stringifySummaryDoc(buildSummaryDoc(input.meta, points, metrics, [])), 'x.json');
}

const s = (n: number, mean: number, stdev: number): MetricSummary => ({ n, mean, stdev, ci95Low: NaN, ci95High: NaN });

test("Welch's t-test from summaries matches a hand computation", () => {
  // a = {1,2,3,4,5}: mean 3, sd 1.5811; b = {2,4,6,8,10}: mean 6, sd 3.1623.
  // se² = 2.5/5 + 10/5 = 2.5, t = 3/1.5811 = 1.8974, df = 2.5² / (0.5²/4 + 2²/4) = 6.25/1.0625 = 5.882.
  const r = welchTTest(s(5, 3, Math.sqrt(2.5)), s(5, 6, Math.sqrt(10)));
  assert.ok(Math.abs(r.t - 1.8973665961) < 1e-9);
  assert.ok(Math.abs(r.df - 5.8823529412) < 1e-9);
  // Two-sided p for t = 1.897 with 5.88 df (R: t.test(c(1:5), c(2,4,6,8,10)) gives p-value = 0.1075).
  assert.ok(Math.abs(r.p - 0.1075) < 5e-4, String(r.p));
  assert.equal(welchTTest(s(3, 1, 0), s(3, 1, 0)).p, 1);
  assert.equal(welchTTest(s(3, 1, 0), s(3, 2, 0)).p, 0, 'no spread on either side: any difference is real');
  assert.ok(Number.isNaN(welchTTest(s(1, 1, NaN), s(3, 2, 1)).p), 'one replication: nothing to test with');
});

test('compare: a change counts when larger than the threshold and significant; direction from the unit', () => {
  const base = fixtureInput();
  const cur = fixtureInput();
  for (const r of cur.runs) {
    // +20% on iptables latency (spread 500ns at 38µs-200µs): significant, regression.
    if (r.point.mode === 'iptables') r.metrics['firstPacketLatency.p99']! *= 1.2;
    // -50% sync duration for ipvs: significant, improvement (lower is better).
    if (r.point.mode === 'ipvs') r.metrics['syncDuration.mean']! *= 0.5;
    // +2% on nftables sync duration (spread 1µs on 10ms-100ms): significant but under the 5% threshold.
    if (r.point.mode === 'nftables') r.metrics['syncDuration.mean']! *= 1.02;
    // tailDrops: 0,1,2 -> 1,2,3 per replication: +100% but not significant with n=3 (p≈0.29).
    if (r.point.mode === 'iptables') r.metrics['tailDrops.count']! += 1;
  }
  const c = compareSummaries(doc(base), doc(cur), { threshold: 0.05 });
  const row = (mode: string, services: number, metric: string) => c.rows.find((r) => r.point.mode === mode && r.point.services === services && r.metric === metric)!;
  assert.equal(row('iptables', 100, 'firstPacketLatency.p99').verdict, 'regression');
  assert.ok(Math.abs(row('iptables', 100, 'firstPacketLatency.p99').delta - 0.2) < 1e-12);
  assert.equal(row('ipvs', 1000, 'syncDuration.mean').verdict, 'improvement');
  const small = row('nftables', 100, 'syncDuration.mean');
  assert.deepEqual([small.significant, small.verdict], [true, 'unchanged']);
  const noisy = row('iptables', 100, 'tailDrops.count');
  assert.deepEqual([noisy.significant, noisy.verdict, noisy.delta], [false, 'unchanged', 1]);
  assert.ok(noisy.p > 0.05);
  assert.deepEqual([c.regressions, c.improvements], [2, 2]);
  // ipvs/1000 never measured tailDrops: shown, untested.
  assert.ok(Number.isNaN(row('ipvs', 1000, 'tailDrops.count').p));

  // With a 25% threshold the same +20% is no longer counted.
  assert.equal(compareSummaries(doc(base), doc(cur), { threshold: 0.25 }).regressions, 0);

  // A metric where higher is better, declared by the study, flips the verdict.
  cur.meta.metrics = { firstPacketLatency: { better: 'higher' } };
  assert.equal(compareSummaries(doc(base), doc(cur), { threshold: 0.05 }).rows.find((r) => r.metric === 'firstPacketLatency.p99' && r.verdict !== 'unchanged')!.verdict, 'improvement');
});

test('compare: points in one file only are listed, not compared; partial runs are noted', () => {
  const base = fixtureInput();
  const cur = fixtureInput({ partial: true });
  cur.runs = cur.runs.filter((r) => r.point.services !== 1000);
  const c = compareSummaries(doc(base), doc(cur), { threshold: 0.05 });
  assert.deepEqual(c.onlyInBaseline, ['mode=iptables services=1000', 'mode=nftables services=1000', 'mode=ipvs services=1000']);
  assert.ok(c.notes.includes('the current run is partial (it was interrupted)'));
  assert.equal(c.regressions, 0);
});

test('compare: a significant change in an informational figure (no direction) is shown as changed and never a regression', () => {
  const base = fixtureInput();
  const cur = fixtureInput();
  for (const r of base.runs) r.metrics['sim.events'] = 1_000_000 + r.replication;
  for (const r of cur.runs) {
    r.metrics['sim.events'] = 2_000_000 + r.replication; // +100%, significant
    r.metrics['rulesVisited.mean']! *= 3; // zero spread: significant
  }
  const c = compareSummaries(doc(base), doc(cur), { threshold: 0.05 });
  const events = c.rows.filter((r) => r.metric === 'sim.events');
  assert.equal(events.length, 6);
  for (const r of [...events, ...c.rows.filter((x) => x.metric === 'rulesVisited.mean')]) {
    assert.deepEqual([r.better, r.significant, r.verdict], ['none', true, 'changed'], `${r.metric} ${JSON.stringify(r.point)}`);
  }
  assert.equal(c.regressions, 0);
  assert.equal(c.changed, 12);
  const text = formatComparison(c, { baseline: 'a.json', current: 'b.json' });
  assert.match(text, /^sim\.events \(informational: shown, never a regression\)$/m);
  assert.match(text, /0 regressions, 0 improvements, 12 informational changes/);
});
