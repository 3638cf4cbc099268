import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Simulator } from '../../engine/simulator.ts';
import { HOUR, MS, SECOND } from '../../engine/time.ts';
import { DEFAULT_COSTS } from '../../net/cost-model.ts';
import { makeEndpoint } from '../endpoint.ts';
import { modeModel } from '../modes/index.ts';
import { clusterIPPort } from '../../scenario/model/synthetic-cluster.ts';
import { EndpointTimeline } from './endpoint-timeline.ts';
import { ProxyAgent, type SyncObserver } from './proxy-agent.ts';

interface Sync { from: number; to: number; at: number; ok: boolean; full: boolean }

function setup(failures: (n: number) => boolean = () => false) {
  const sim = new Simulator({ seed: 1 });
  const timeline = new EndpointTimeline();
  for (let s = 0; s < 10; s++)
    timeline.addService(clusterIPPort('ns', `svc${s}`, 'p80', `172.30.0.${s + 1}`, 80, 'TCP'), [makeEndpoint({ ip: `10.0.${s}.1`, port: 8080 })]);
  const syncs: Sync[] = [];
  const observer: SyncObserver = { onSyncEnd: (_n, from, to, at, ok, _d, full) => syncs.push({ from, to, at, ok, full }) };
  const mode = modeModel('iptables', { costs: DEFAULT_COSTS, iptablesBackend: 'legacy' });
  let n = 0;
  const agent = new ProxyAgent(sim, 0, timeline, mode, { intervals: { minInterval: SECOND, retryInterval: 30 * SECOND, maxInterval: HOUR }, syncFailureProbability: 0, fullSyncPeriodNs: HOUR }, observer);
  // Failures are injected by wrapping start(): the agent's own failure draw is off.
  const start = agent.start.bind(agent);
  agent.start = (now) => ({ ...start(now), ok: !failures(++n) });
  return { sim, timeline, agent, syncs };
}

function change(timeline: EndpointTimeline, s: number, k: number, now: number): number {
  return timeline.apply(s, [makeEndpoint({ ip: `10.0.${s}.${k + 2}`, port: 8080 })], now);
}

test('100 endpoint changes heard within minSyncPeriod are programmed by one partial sync', () => {
  const { sim, timeline, agent, syncs } = setup();
  agent.startLoop();
  // During the cool-down after the start-up sync (an idle runner would sync the first change at once).
  for (let i = 0; i < 100; i++) {
    sim.scheduleAt(100 * MS + i * 5 * MS, () => agent.heardUpTo(change(timeline, i % 10, i, sim.now)));
  }
  sim.run(10 * SECOND);
  assert.equal(syncs.length, 2, 'the start-up sync and one more');
  assert.deepEqual([syncs[0]!.full, syncs[1]!.full], [true, false]);
  assert.equal(syncs[1]!.to, 100);
  assert.equal(agent.active, 100);
});

test('a failed sync keeps the old rules active, retries after syncPeriod, and that retry is a full sync', () => {
  const { sim, timeline, agent, syncs } = setup((n) => n === 2);
  agent.startLoop();
  sim.scheduleAt(5 * SECOND, () => agent.heardUpTo(change(timeline, 3, 0, sim.now)));
  sim.run(60 * SECOND);
  assert.equal(syncs[1]!.ok, false);
  assert.equal(syncs[1]!.full, false);
  assert.equal(agent.active, 1);
  const retry = syncs[2]!;
  assert.equal(retry.ok, true);
  assert.equal(retry.full, true, 'kube-proxy forces a full sync after a failed restore');
  // BoundedFrequencyRunner.RetryAfter(syncPeriod): the retry starts 30 s after the failure.
  const failedAt = syncs[1]!.at;
  assert.ok(retry.at > failedAt + 30 * SECOND && retry.at < failedAt + 31 * SECOND, `retry at ${retry.at}`);
});
