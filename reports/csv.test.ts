import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { runsCsv, summaryCsv, timeseriesCsv } from './csv.ts';
import { summarizePoints } from './summarize.ts';
import { fixtureInput } from './testing/fixture.ts';
import type { RunRow } from './types.ts';

const input = fixtureInput();
const sweep = input.meta.sweep;

test('runs.csv: parameters in sweep order, replication, seed, then metrics sorted; NaN is an empty cell', () => {
  const lines = runsCsv(input.runs, sweep).split('\n');
  assert.equal(lines[0], 'mode,services,replication,seed,failedConnections.rate,firstPacketLatency.p50,firstPacketLatency.p99,rulesVisited.mean,syncDuration.mean,tailDrops.count');
  assert.equal(lines[1], 'iptables,100,0,1000,0.002,18750,37500,300,10000000,0');
  assert.equal(lines.find((l) => l.startsWith('ipvs,1000,2,')), 'ipvs,1000,2,1002,0.0005,15250,30500,4,40002000,');
  assert.equal(lines.length, 1 + 18 + 1, 'a row per run and a final newline');
  assert.equal(lines.at(-1), '');
});

test('CSV columns and rows do not depend on the order runs finished in or metrics were recorded', () => {
  fc.assert(
    fc.property(fc.shuffledSubarray(input.runs, { minLength: input.runs.length }), fc.boolean(), (shuffled, reverseKeys) => {
      const runs: RunRow[] = shuffled.map((r) => {
        const keys = Object.keys(r.metrics);
        if (reverseKeys) keys.reverse();
        // Points built with their keys in another order, as a runner might.
        return { ...r, point: { services: r.point.services!, mode: r.point.mode! }, metrics: Object.fromEntries(keys.map((k) => [k, r.metrics[k]!])) };
      });
      assert.equal(runsCsv(runs, sweep), runsCsv(input.runs, sweep));
      const a = summarizePoints(runs, sweep);
      const b = summarizePoints(input.runs, sweep);
      assert.equal(summaryCsv(a.points, a.names), summaryCsv(b.points, b.names));
    }),
    { numRuns: 20 },
  );
  assert.equal(timeseriesCsv([...input.timeseries!].reverse(), sweep), timeseriesCsv(input.timeseries!, sweep));
});

test('summary.csv: n, mean, stdev and the 95% CI per point and metric', () => {
  const { names, points } = summarizePoints(input.runs, sweep);
  const lines = summaryCsv(points, names).split('\n');
  assert.equal(lines[0], 'mode,services,metric,n,mean,stdev,ci95Low,ci95High');
  // Three replications 37500, 38000, 38500: stdev 500, half-width t(0.975, 2) * 500 / sqrt(3) = 1242.07.
  const row = lines.find((l) => l.startsWith('iptables,100,firstPacketLatency.p99,'))!.split(',');
  assert.deepEqual(row.slice(3, 6), ['3', '38000', '500']);
  assert.ok(Math.abs(Number(row[6]) - (38000 - 1242.068855874786)) < 1e-6);
  assert.equal(lines.find((l) => l.startsWith('ipvs,1000,tailDrops.count,')), 'ipvs,1000,tailDrops.count,0,,,,');
});

test('timeseries.csv: a row per run, series and interval; values with commas or quotes are quoted', () => {
  const text = timeseriesCsv(input.timeseries!, sweep);
  assert.equal(text.split('\n')[0], 'mode,services,replication,t_s,series,value');
  assert.equal(text.split('\n')[1], 'iptables,100,0,0,conntrack.entries,0');
  const quoted = runsCsv([{ point: { mode: 'a,b' }, replication: 0, seed: 'x"y', metrics: { m: 1 } }], { mode: ['a,b'] });
  assert.equal(quoted, 'mode,replication,seed,m\n"a,b",0,"x""y",1\n');
});
