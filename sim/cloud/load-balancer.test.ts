import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Simulator } from '../engine/simulator.ts';
import { SECOND, type Nanos } from '../engine/time.ts';
import { HealthChecker } from './health-checker.ts';
import { CloudLoadBalancer, type ProbeFn } from './load-balancer.ts';
import { PRESETS, type HealthCheckSpec } from './presets.ts';

const nodes = (n: number) => Array.from({ length: n }, (_, i) => `node-${i}`);

function lb(sim: Simulator, o: { nodes: string[]; hc?: HealthCheckSpec; probe: ProbeFn; all?: 'all' | 'none'; slots?: number }): CloudLoadBalancer {
  return new CloudLoadBalancer(sim, { name: 'shop/web', nodes: o.nodes, healthCheck: o.hc ?? PRESETS.gcp.Local, whenAllUnhealthy: o.all ?? 'all', probe: o.probe, maxPhaseSlots: o.slots });
}

test('a node turns unhealthy after `unhealthyThreshold` failed probes and back after `healthyThreshold`', () => {
  const sim = new Simulator({ seed: 1 });
  const hc: HealthCheckSpec = { ...PRESETS.gcp.Local, interval: 3 * SECOND, healthyThreshold: 2, unhealthyThreshold: 2 };
  // node-0 fails from 10 s to 30 s.
  const b = lb(sim, { nodes: nodes(1), hc, probe: (n, now) => ({ ok: !(now >= 10 * SECOND && now < 30 * SECOND) }) });
  b.start();
  sim.run(60 * SECOND);
  const phase = b.phaseOf('node-0')!;
  const firstFail = phase + Math.ceil((10 * SECOND - phase) / hc.interval) * hc.interval;
  const firstOk = phase + Math.ceil((30 * SECOND - phase) / hc.interval) * hc.interval;
  assert.deepEqual(b.transitions, [
    { node: 'node-0', at: firstFail + hc.interval, healthy: false },
    { node: 'node-0', at: firstOk + hc.interval, healthy: true },
  ]);
});

test('an unanswered probe fails only after the timeout', () => {
  const sim = new Simulator({ seed: 2 });
  const hc: HealthCheckSpec = { ...PRESETS['aws-elb'].Cluster, interval: 10 * SECOND, timeout: 5 * SECOND, unhealthyThreshold: 1 };
  const b = lb(sim, { nodes: nodes(1), hc, probe: () => ({ ok: false, answered: false }) });
  b.start();
  sim.run(30 * SECOND);
  assert.equal(b.transitions[0]!.at, b.phaseOf('node-0')! + 5 * SECOND);
});

test('pickNode spreads over healthy nodes only, and over all (or none) when none is healthy', () => {
  const sim = new Simulator({ seed: 3 });
  const down = new Set(['node-1', 'node-3']);
  const b = lb(sim, { nodes: nodes(4), hc: { ...PRESETS.gcp.Local, unhealthyThreshold: 1 }, probe: (n) => ({ ok: !down.has(n) }) });
  b.start();
  sim.run(10 * SECOND);
  const seen = new Set<string>();
  for (let i = 0; i < 200; i++) seen.add(b.pickNode()!);
  assert.deepEqual([...seen].sort(), ['node-0', 'node-2']);
  assert.equal(b.lastNewConnection('node-1'), undefined);
  assert.equal(b.lastNewConnection('node-0'), 10 * SECOND);

  for (const all of ['all', 'none'] as const) {
    const s = new Simulator({ seed: 4 });
    const dead = lb(s, { nodes: nodes(3), hc: { ...PRESETS.gcp.Local, unhealthyThreshold: 1 }, probe: () => ({ ok: false }), all });
    dead.start();
    s.run(10 * SECOND);
    assert.equal(dead.healthyCount(), 0);
    const picks = new Set(Array.from({ length: 100 }, () => dead.pickNode()));
    assert.deepEqual([...picks].sort(), all === 'all' ? ['node-0', 'node-1', 'node-2'] : [undefined]);
  }
});

test('a node removed from the pool gets no probes and no connections; one added starts unhealthy', () => {
  const sim = new Simulator({ seed: 5 });
  const probed: string[] = [];
  const b = lb(sim, { nodes: nodes(3), probe: (n) => (probed.push(n), { ok: true }) });
  b.start();
  sim.run(5 * SECOND);
  b.removeNode('node-1');
  probed.length = 0;
  b.addNode('node-9');
  assert.equal(b.isHealthy('node-9'), false);
  sim.run(20 * SECOND);
  assert.ok(!probed.includes('node-1'));
  assert.ok(probed.includes('node-9'));
  assert.equal(b.isHealthy('node-9'), true); // healthyThreshold 1
  for (let i = 0; i < 100; i++) assert.notEqual(b.pickNode(), 'node-1');
});

test('load balancers can share one health check: probed once, picked separately', () => {
  const sim = new Simulator({ seed: 6 });
  let probes = 0;
  const checker = new HealthChecker(sim, { name: 'shared-nodes', nodes: nodes(4), healthCheck: { ...PRESETS.gcp.Cluster, unhealthyThreshold: 1 }, probe: (n) => (probes++, { ok: n !== 'node-2' }) });
  const a = new CloudLoadBalancer(sim, { name: 'shop/a', whenAllUnhealthy: 'all', checker });
  const b = new CloudLoadBalancer(sim, { name: 'shop/b', whenAllUnhealthy: 'all', checker });
  a.start(); // does not start a shared checker
  sim.run(20 * SECOND);
  assert.equal(probes, 0);
  checker.start();
  sim.run(40 * SECOND);
  assert.equal(probes, 4 * Math.floor(20 / 8) + [0, 1, 2, 3].filter((i) => checker.phaseOf(`node-${i}`)! + 16 * SECOND <= 20 * SECOND).length);
  assert.equal(a.isHealthy('node-2'), false);
  assert.deepEqual(a.transitions, b.transitions);
  for (let i = 0; i < 50; i++) assert.notEqual(a.pickNode(), 'node-2');
  assert.equal(b.stats.newConnections, 0);
  assert.equal(b.lastNewConnection('node-0'), undefined);
});

test('a probe callback that removes a node from the pool does not skip the others', () => {
  const sim = new Simulator({ seed: 8 });
  const probed: string[] = [];
  let b: CloudLoadBalancer | undefined = undefined;
  b = lb(sim, { nodes: nodes(6), slots: 1, probe: (n) => {
    probed.push(n);
    if (n === probed[0]) b!.removeNode(n); // the first node probed leaves the pool during its own probe
    return { ok: true };
  } });
  b.start();
  sim.run(0);
  assert.equal(probed.length, 6);
  assert.equal(b.checker.inPool(probed[0]!), false);
});

function scenario(seed: number): string {
  const sim = new Simulator({ seed });
  const b = lb(sim, { nodes: nodes(50), slots: 8, probe: (n, now) => ({ ok: !(n.endsWith('7') && now > 20 * SECOND) }) });
  b.start();
  const picks: string[] = [];
  for (let t = 1; t <= 60; t++) sim.scheduleAt(t * SECOND, () => picks.push(b.pickNode() ?? '-'));
  sim.run(60 * SECOND);
  return JSON.stringify({ t: b.transitions, picks, stats: b.stats });
}

test('determinism: same seed, same transitions and picks; another seed differs', () => {
  assert.equal(scenario(11), scenario(11));
  assert.notEqual(scenario(11), scenario(12));
});

test('property: pickNode never returns an unhealthy node while one is healthy', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 12 }), fc.array(fc.tuple(fc.nat(11), fc.integer({ min: 0, max: 40 })), { maxLength: 30 }), fc.integer(), (n, flips, seed) => {
      const sim = new Simulator({ seed });
      const failing = new Set<string>();
      const b = lb(sim, { nodes: nodes(n), hc: { ...PRESETS.gcp.Local, unhealthyThreshold: 2 }, probe: (node) => ({ ok: !failing.has(node) }) });
      b.start();
      for (const [i, at] of flips) {
        sim.scheduleAt(at * SECOND, () => {
          const name = `node-${i % n}`;
          if (failing.has(name)) failing.delete(name);
          else failing.add(name);
        });
      }
      let ok = true;
      for (let t = 0; t <= 45; t++) {
        sim.scheduleAt(t * SECOND + 500, () => {
          const picked = b.pickNode();
          if (b.healthyCount() > 0 && (picked === undefined || !b.isHealthy(picked))) ok = false;
        });
      }
      sim.run(50 * SECOND);
      return ok;
    }),
    { numRuns: 60 },
  );
});

test('property: time from probes failing to removal is within [(threshold-1)*interval, threshold*interval + timeout]', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 30 }),
      fc.integer({ min: 0, max: 100 }),
      fc.integer({ min: 1, max: 8 }),
      fc.integer({ min: 0, max: 100_000 }),
      fc.boolean(),
      fc.integer(),
      (intervalS, timeoutPct, threshold, failMs, answered, seed) => {
        const interval: Nanos = intervalS * SECOND;
        const timeout = Math.floor((interval * timeoutPct) / 100);
        const failAt = failMs * 1_000_000;
        const sim = new Simulator({ seed });
        const hc: HealthCheckSpec = { ...PRESETS.gcp.Cluster, interval, timeout, unhealthyThreshold: threshold };
        const b = lb(sim, { nodes: nodes(3), hc, probe: (n, now) => (n === 'node-1' && now >= failAt ? { ok: false, answered } : { ok: true }) });
        b.start();
        sim.run(failAt + (threshold + 2) * interval);
        const out = b.transitions.filter((t) => t.node === 'node-1' && !t.healthy);
        if (out.length !== 1) return false;
        const d = out[0]!.at - failAt;
        return d >= (threshold - 1) * interval && d <= threshold * interval + timeout;
      },
    ),
    { numRuns: 200 },
  );
});

test('a bad health check is a programming error naming the field', () => {
  const sim = new Simulator({ seed: 1 });
  assert.throws(() => lb(sim, { nodes: nodes(1), hc: { ...PRESETS.gcp.Local, timeout: 10 * SECOND }, probe: () => ({ ok: true }) }), /health check shop\/web: timeout: expected a duration from 0 to the interval/);
});
