import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { RandomStream } from '../sim/engine/random.ts';
import { percentileKey, quantileAt, sampleQuantileFunction } from '../sim/cost/connect-latency.ts';
import { DEFAULT_CONNECT_KERNEL } from '../sim/cost/connect-latency-default.ts';
import { kernelFit, nearestRank, pointKey, readConnectDistributionFile, summarize } from './connect-distribution.ts';

const measured = readConnectDistributionFile(fileURLToPath(new URL('./measured/connect-latency.json', import.meta.url)));

test('summarize keeps nearest-rank percentiles, the minimum, the maximum and the mean', () => {
  const times = Array.from({ length: 1000 }, (_, i) => (i + 1) * 1000);
  const p = summarize('iptables', 'position', 0, times);
  assert.equal(p.percentiles.p50, 500_000);
  assert.equal(p.percentiles.p99, 990_000);
  assert.equal(p.percentiles['p99.9'], 999_000);
  assert.equal(p.minNs, 1000);
  assert.equal(p.maxNs, 1_000_000);
  assert.equal(p.meanNs, 500_500);
  assert.equal(nearestRank([1, 2, 3, 4], 0.5), 2);
});

test('the default runs draw is the fit of the measurement in the repository (sim/cost/connect-latency-default.ts)', () => {
  const f = kernelFit(measured);
  assert.deepEqual(DEFAULT_CONNECT_KERNEL.q, f.q.map((v) => Number(v.toFixed(4))));
  assert.deepEqual(DEFAULT_CONNECT_KERNEL.ns, f.ns.map((v) => Math.round(v)));
});

test('draws from each point\'s fit reproduce the p50, p90 and p99 it was measured with', () => {
  // Compared in probability: the share of draws at or below the measured pNN is NN% (within half a
  // percent point, about four standard errors of 100,000 draws). A comparison in ns would be as
  // unstable as the percentile itself where a loaded host's connects are bimodal (p90 sits in the gap
  // between the fast mode and the waits for a CPU).
  for (const p of measured.points) {
    const f = kernelFit({ ...measured, kernel: pointKey(p) });
    const rng = new RandomStream(1, pointKey(p));
    const draws = Array.from({ length: 100_000 }, () => sampleQuantileFunction(f, rng));
    for (const q of [0.5, 0.9, 0.99]) {
      const want = p.percentiles[percentileKey(q)]!;
      assert.equal(quantileAt(f, q), want);
      const share = draws.filter((d) => d <= want).length / draws.length;
      assert.ok(Math.abs(share - q) < 0.005, `${pointKey(p)}: ${(share * 100).toFixed(2)}% of draws at or below the measured p${q * 100} (${want} ns)`);
    }
  }
});
