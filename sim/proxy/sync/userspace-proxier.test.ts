import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Simulator } from '../../engine/simulator.ts';
import { HOUR, MS, SECOND } from '../../engine/time.ts';
import { DEFAULT_COSTS } from '../../cost/cost-model.ts';
import { makeEndpoint } from '../endpoint.ts';
import { modeModel } from '../cost/index.ts';
import { portalSyncCommands } from '../cost/userspace.ts';
import { clusterIPPort } from '../service-port.ts';
import { EndpointTimeline } from './endpoint-timeline.ts';
import { nodeProxy } from './node-proxy.ts';
import { UserspaceProxier } from './userspace-proxier.ts';
import type { SyncObserver } from './proxy-agent.ts';

interface Sync { from: number; to: number; at: number; start: number; full: boolean; units: number }
const SERVICES = 10;

function setup(backend: 'legacy' | 'nft' = 'nft') {
  const sim = new Simulator({ seed: 1 });
  const timeline = new EndpointTimeline();
  for (let s = 0; s < SERVICES; s++) timeline.addService(clusterIPPort('ns', `svc${s}`, 'p80', `172.30.0.${s + 1}`, 80, 'TCP'), [makeEndpoint({ ip: `10.0.${s}.1`, port: 8080 })]);
  const syncs: Sync[] = [];
  const observer: SyncObserver = { onSyncEnd: (_n, from, to, at, _ok, d, full, units) => syncs.push({ from, to, at, start: at - d, full, units }) };
  const mode = modeModel('userspace', { costs: DEFAULT_COSTS, iptablesBackend: backend });
  const proxy = nodeProxy(sim, 0, timeline, mode, { intervals: { minInterval: SECOND, retryInterval: 30 * SECOND, maxInterval: HOUR }, syncFailureProbability: 0, fullSyncPeriodNs: HOUR }, observer);
  return { sim, timeline, proxy, syncs, mode };
}

const change = (timeline: EndpointTimeline, s: number, k: number, now: number) => timeline.apply(s, [makeEndpoint({ ip: `10.0.${s}.${k + 2}`, port: 8080 })], now);

test('userspace gets its own update path', () => {
  assert.ok(setup().proxy instanceof UserspaceProxier);
});

test('userspace: portal syncs cost one iptables process per command (never free, nft backend included)', () => {
  for (const backend of ['legacy', 'nft'] as const) {
    const { mode } = setup(backend);
    const startup = mode.syncCost({ full: true, startup: true, services: SERVICES, servicesWithoutEndpoints: 0, endpoints: SERVICES, changed: [] });
    const periodic = mode.syncCost({ full: true, services: SERVICES, servicesWithoutEndpoints: 0, endpoints: SERVICES, changed: [] });
    // Start-up: 5 chains and 5 jumps ensured, then check + append of two portals per service port.
    assert.equal(startup.units, 10 + 4 * SERVICES);
    assert.equal(periodic.units, 10 + 2 * SERVICES);
    const base = DEFAULT_COSTS.singleUpdateBaseNs[backend];
    const perRule = DEFAULT_COSTS.singleUpdateNsPerRule[backend];
    const s = portalSyncCommands(SERVICES, true);
    assert.equal(startup.durationNs, s.commands * base + s.rulesRead * perRule + SERVICES * DEFAULT_COSTS.userspaceSocketOpenNs);
    // Periodic: every command reads the whole table of 5 jumps and 2 portals per port.
    assert.equal(periodic.durationNs, (10 + 2 * SERVICES) * (base + perRule * (5 + 2 * SERVICES)));
    assert.ok(periodic.durationNs > 0 && startup.durationNs > periodic.durationNs, backend);
  }
  // The per-rule term makes the start-up sync quadratic in service ports on the legacy backend.
  const small = portalSyncCommands(100, true).rulesRead;
  const large = portalSyncCommands(1000, true).rulesRead;
  assert.ok(large / small > 90, `${large / small}`);
});

test('userspace: an endpoint change reaches the balancer at once (no minSyncPeriod); portal syncs run once per syncPeriod and change no endpoint', () => {
  const { sim, timeline, proxy, syncs } = setup();
  proxy.startLoop();
  sim.run(2 * SECOND);
  const startup = syncs[0]!;
  assert.equal(startup.full, true);
  assert.equal(startup.units, 10 + 4 * SERVICES);
  // Two changes 100 ms apart, within minSyncPeriod: each applied after one balancer update (10 us).
  sim.scheduleAt(3 * SECOND, () => proxy.heardUpTo(change(timeline, 1, 0, sim.now)));
  sim.scheduleAt(3 * SECOND + 100 * MS, () => proxy.heardUpTo(change(timeline, 2, 0, sim.now)));
  sim.run(3 * SECOND + 200 * MS);
  const updates = syncs.filter((s) => !s.full);
  assert.deepEqual(updates.map((u) => [u.start, u.at, u.to, u.units]), [
    [3 * SECOND, 3 * SECOND + DEFAULT_COSTS.userspaceBalancerUpdateNs, 1, 1],
    [3 * SECOND + 100 * MS, 3 * SECOND + 100 * MS + DEFAULT_COSTS.userspaceBalancerUpdateNs, 2, 1],
  ]);
  assert.equal(proxy.active, 2);
  sim.run(70 * SECOND);
  const portals = syncs.filter((s) => s.full);
  assert.equal(portals.length, 3, 'start-up, then ensurePortals each syncPeriod (30 s) after the previous one ended');
  assert.equal(portals[1]!.start, startup.at + 30 * SECOND);
  assert.ok(portals.every((p) => p.from === p.to));
});
