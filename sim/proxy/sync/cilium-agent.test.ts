import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Simulator } from '../../engine/simulator.ts';
import { HOUR, MS, SECOND } from '../../engine/time.ts';
import { DEFAULT_COSTS } from '../../cost/cost-model.ts';
import { makeEndpoint } from '../endpoint.ts';
import { modeModel } from '../cost/index.ts';
import { clusterIPPort } from '../service-port.ts';
import { EndpointTimeline } from './endpoint-timeline.ts';
import { nodeProxy } from './node-proxy.ts';
import { CiliumAgent } from './cilium-agent.ts';
import type { SyncObserver } from './proxy-agent.ts';

interface Round { from: number; to: number; at: number; start: number; full: boolean; units: number }

function setup() {
  const sim = new Simulator({ seed: 1 });
  const timeline = new EndpointTimeline();
  for (let s = 0; s < 10; s++) timeline.addService(clusterIPPort('ns', `svc${s}`, 'p80', `172.30.0.${s + 1}`, 80, 'TCP'), [makeEndpoint({ ip: `10.0.${s}.1`, port: 8080 })]);
  const rounds: Round[] = [];
  const observer: SyncObserver = { onSyncEnd: (_n, from, to, at, _ok, d, full, units) => rounds.push({ from, to, at, start: at - d, full, units }) };
  const costs = { ...DEFAULT_COSTS, ebpfAgentLagNs: 5 * MS, ebpfMapUpdateNs: 3_000 };
  const mode = modeModel('ebpf', { costs, iptablesBackend: 'legacy' });
  // minSyncPeriod 1 s: kube-proxy's runner would hold every change after the first for a second.
  const agent = nodeProxy(sim, 0, timeline, mode, { intervals: { minInterval: SECOND, retryInterval: 30 * SECOND, maxInterval: HOUR }, syncFailureProbability: 0, fullSyncPeriodNs: HOUR }, observer);
  return { sim, timeline, agent, rounds };
}

const change = (timeline: EndpointTimeline, s: number, k: number, now: number) => timeline.apply(s, [makeEndpoint({ ip: `10.0.${s}.${k + 2}`, port: 8080 })], now);

test('ebpf gets its own update path (no bounded-frequency runner)', () => {
  assert.ok(setup().agent instanceof CiliumAgent);
});

test('ebpf: each change is in the maps one agent lag plus its map updates after it is heard, whatever minSyncPeriod says', () => {
  const { sim, timeline, agent, rounds } = setup();
  agent.startLoop();
  // Start-up round: every service (10) and backend (10) written once.
  sim.run(100 * MS);
  assert.deepEqual(rounds.map((r) => [r.full, r.units]), [[true, 20]]);
  // Two changes 200 ms apart: each has its own round at once (the runner would wait out minSyncPeriod).
  sim.scheduleAt(200 * MS, () => agent.heardUpTo(change(timeline, 1, 0, sim.now)));
  sim.scheduleAt(400 * MS, () => agent.heardUpTo(change(timeline, 2, 0, sim.now)));
  sim.run(SECOND);
  const [a, b] = rounds.slice(1);
  // One backend replaced: max(before, after) + 1 = 2 map updates of 3 us each, after the 5 ms lag.
  assert.deepEqual([a!.start, a!.at, a!.to, a!.full], [200 * MS, 200 * MS + 5 * MS + 6_000, 1, false]);
  assert.deepEqual([b!.start, b!.at, b!.to], [400 * MS, 400 * MS + 5 * MS + 6_000, 2]);
  assert.equal(agent.active, 2);
});

test('ebpf: changes heard during a round are taken together by the next round, which starts when that one ends', () => {
  const { sim, timeline, agent, rounds } = setup();
  agent.startLoop();
  sim.run(100 * MS);
  sim.scheduleAt(200 * MS, () => agent.heardUpTo(change(timeline, 1, 0, sim.now)));
  for (let i = 0; i < 50; i++) sim.scheduleAt(201 * MS + i * 50_000, () => agent.heardUpTo(change(timeline, i % 10, i + 1, sim.now)));
  sim.run(SECOND);
  const later = rounds.slice(1);
  assert.equal(later.length, 2, 'the round of the first change, then one for the 50 heard during it');
  assert.equal(later[1]!.start, later[0]!.at);
  assert.equal(later[1]!.to, 51);
  assert.equal(agent.active, 51);
});
