import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Simulator } from '../../engine/simulator.ts';
import { HOUR, MINUTE, MS, SECOND } from '../../engine/time.ts';
import { DEFAULT_COSTS } from '../../cost/cost-model.ts';
import { makeEndpoint } from '../endpoint.ts';
import { modeModel } from '../cost/index.ts';
import { clusterIPPort } from '../service-port.ts';
import { EndpointTimeline } from './endpoint-timeline.ts';
import { ProxyAgent, type SyncObserver } from './proxy-agent.ts';

interface Sync { from: number; to: number; at: number; ok: boolean; full: boolean; start: number }

function setup(failures: (n: number) => boolean = () => false) {
  const sim = new Simulator({ seed: 1 });
  const timeline = new EndpointTimeline();
  for (let s = 0; s < 10; s++)
    timeline.addService(clusterIPPort('ns', `svc${s}`, 'p80', `172.30.0.${s + 1}`, 80, 'TCP'), [makeEndpoint({ ip: `10.0.${s}.1`, port: 8080 })]);
  const syncs: Sync[] = [];
  const observer: SyncObserver = { onSyncEnd: (_n, from, to, at, ok, d, full) => syncs.push({ from, to, at, ok, full, start: at - d }) };
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

test('an idle node still syncs once per FullSyncPeriod (the runner\'s maxInterval), and each of those is a full sync', () => {
  const { sim, agent, syncs } = setup();
  agent.startLoop();
  sim.run(3 * HOUR + 30 * MINUTE);
  // The start-up sync, then one an hour after the end of the previous one.
  assert.equal(syncs.length, 4);
  assert.ok(syncs.every((s) => s.full && s.ok));
  for (let i = 1; i < syncs.length; i++) {
    const gap = syncs[i]!.start - syncs[i - 1]!.at;
    assert.equal(gap, HOUR, `sync ${i} starts an hour after the previous one ended`);
  }
});

test('with changes every 10 minutes, a partial sync becomes full once an hour has passed since the last full one ended', () => {
  const { sim, timeline, agent, syncs } = setup();
  agent.startLoop();
  for (let k = 0; k < 20; k++) {
    sim.scheduleAt(5 * MINUTE + k * 10 * MINUTE, () => agent.heardUpTo(change(timeline, k % 10, k, sim.now)));
  }
  sim.run(3 * HOUR + 30 * MINUTE);
  assert.equal(syncs.length, 21, 'the start-up sync and one per change (an idle runner syncs at once)');
  let lastFull = -Infinity;
  for (const s of syncs) {
    // kube-proxy: doFullSync when time.Since(lastFullSync) > FullSyncPeriod, lastFullSync taken when a
    // full sync succeeds, i.e. at its end (pkg/proxy/iptables/proxier.go).
    assert.equal(s.full, s.start - lastFull >= HOUR, `sync starting at ${s.start / MINUTE} min`);
    if (s.full) lastFull = s.at;
  }
  assert.deepEqual(
    syncs.filter((s) => s.full).map((s) => Math.floor(s.start / MINUTE)),
    // 125 and 195 start exactly an hour after a full sync started, less than an hour after it ended.
    [0, 65, 135],
  );
});

test('lastFullSync is taken when a full sync ends: a long full sync pushes the next one back by its duration', () => {
  // A sync that ends at E with lastFullSync = E makes the next sync starting in (start + 1h, E + 1h]
  // partial; with lastFullSync at the start it would be full.
  const { sim, timeline, agent, syncs } = setup();
  agent.startLoop();
  sim.run(SECOND);
  const first = syncs[0]!;
  assert.ok(first.at > first.start, 'the start-up sync takes time');
  const between = first.start + HOUR + (first.at - first.start) / 2;
  sim.scheduleAt(Math.round(between) - 1, () => agent.heardUpTo(change(timeline, 1, 0, sim.now)));
  sim.run(HOUR + MINUTE);
  const next = syncs.find((s) => s.start >= between - 1)!;
  assert.ok(next.start <= first.at + HOUR, `the sync starts at ${next.start}, before an hour after the first ended (${first.at + HOUR})`);
  assert.equal(next.full, false);
});
