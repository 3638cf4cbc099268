/**
 * The connect-latency distribution probe against this host's real kernel, in its --quick form:
 * every point is measured in namespaces whose names hold `latency`, its percentiles are ordered,
 * and no namespace is left behind. Skips, saying what is missing, where the host cannot run it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { KEPT_QUANTILES, percentileKey } from '../sim/cost/connect-latency.ts';
import { kernelFit, measureConnectDistributions, pointKey } from './connect-distribution.ts';
import { missingPrerequisites } from './preflight.ts';

const missing = missingPrerequisites();
const skip = missing.length ? `needs the real kernel: missing ${missing.join('; ')}` : false;
if (skip) process.stdout.write(`# connect-distribution.kernel.test: skipped: ${skip}\n`);

const ours = () =>
  spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .stdout.split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter((n) => n.startsWith(`svcsim-cal-${process.pid}-`));

test('quick connect distribution: every point measured and ordered, the kernel point fitted, namespaces removed', { skip, timeout: 300_000 }, async () => {
  const names = new Set<string>();
  const file = await measureConnectDistributions(true, 'test', () => ours().forEach((n) => names.add(n)));
  assert.deepEqual(file.points.map(pointKey), [
    'iptables/position/0', 'iptables/position/1000', 'iptables/services/100', 'iptables/services/1000',
    'nftables/position/0', 'nftables/position/1000', 'nftables/services/100', 'nftables/services/1000',
  ]);
  for (const p of file.points) {
    assert.equal(p.connects, 500);
    const values = [p.minNs, ...KEPT_QUANTILES.map((q) => p.percentiles[percentileKey(q)]!), p.maxNs];
    for (let i = 1; i < values.length; i++) assert.ok(values[i]! >= values[i - 1]!, `${pointKey(p)}: percentiles in order`);
    assert.ok(p.minNs > 0);
  }
  assert.equal(kernelFit(file).ns.length, KEPT_QUANTILES.length + 2);
  assert.ok(names.size >= 3, 'the log callback saw the namespaces while they existed');
  for (const n of names) assert.match(n, /-latency-/);
  assert.deepEqual(ours(), [], 'every namespace removed');
});
