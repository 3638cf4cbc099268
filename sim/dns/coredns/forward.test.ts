import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Simulator } from '../../engine/simulator.ts';
import { MS, SECOND } from '../../engine/time.ts';
import type { DnsAnswer, DnsQuery } from '../types.ts';
import { FORWARD_DEFAULTS, Forwarder, simulatedUpstream, simulatedUpstreams, type ForwardConfig, type UpstreamExchange } from './forward.ts';

const q = (id = 1): DnsQuery => ({ id, name: 'example.com', type: 'A', server: '10.96.0.10', socket: 1, transport: 'udp' });
const ANSWER: DnsAnswer = { rcode: 'NOERROR', addresses: ['93.184.216.34'], ttl: 300 };

/** An upstream answering after `delay` (null: never), recording when each query reached it. */
function upstream(sim: Simulator, delay: number | null, log: number[] = []): UpstreamExchange {
  return (_q, answered) => {
    log.push(sim.now);
    if (delay !== null) sim.schedule(delay, () => answered(ANSWER));
  };
}

function forward(sim: Simulator, ups: UpstreamExchange[], config: Partial<ForwardConfig> = {}) {
  return new Forwarder(sim, { ...FORWARD_DEFAULTS, ...config }, ups, sim.rng('dns/test/forward-policy'));
}

test('an upstream answer within the read timeout is passed on at the time it arrives', () => {
  const sim = new Simulator({ seed: 1 });
  const f = forward(sim, [upstream(sim, 20 * MS)]);
  const got: [number, DnsAnswer, boolean][] = [];
  assert.equal(f.serve(q(), (a, up) => got.push([sim.now, a, up])), true);
  sim.run();
  assert.deepEqual(got, [[20 * MS, ANSWER, true]]);
  assert.equal(f.concurrent, 0);
});

test('read timeout 2 s: one silent upstream is tried twice (max_connect_attempts 2 per upstream), then SERVFAIL at 4 s', () => {
  const sim = new Simulator({ seed: 1 });
  const sent: number[] = [];
  const f = forward(sim, [upstream(sim, null, sent)]);
  const got: [number, string, boolean][] = [];
  f.serve(q(), (a, up) => got.push([sim.now, a.rcode, up]));
  sim.run();
  assert.deepEqual(sent, [0, 2 * SECOND]);
  assert.deepEqual(got, [[4 * SECOND, 'SERVFAIL', false]]);
  assert.deepEqual(f.stats, { forwarded: 1, refusedMaxConcurrent: 0, attempts: 2, readTimeouts: 2, connectErrors: 0, servfail: 1 });
});

test('the 5 s deadline: three silent upstreams get attempts at 0, 2 and 4 s (none starts at 6 s), then SERVFAIL at 6 s', () => {
  const sim = new Simulator({ seed: 1 });
  const sent: number[] = [];
  const f = forward(sim, [upstream(sim, null, sent), upstream(sim, null, sent), upstream(sim, null, sent)]);
  const got: number[] = [];
  f.serve(q(), () => got.push(sim.now));
  sim.run();
  assert.deepEqual(sent, [0, 2 * SECOND, 4 * SECOND]);
  assert.deepEqual(got, [6 * SECOND]);
});

test('after a read timeout the next upstream answers; the late answer of the first is ignored', () => {
  const sim = new Simulator({ seed: 1 });
  const f = forward(sim, [upstream(sim, 3 * SECOND), upstream(sim, 100 * MS)]);
  const got: number[][] = [];
  for (let i = 0; i < 20; i++) {
    const times: number[] = [];
    got.push(times);
    sim.schedule(i * 10 * SECOND, () => {
      const t0 = sim.now;
      f.serve(q(i), () => times.push(sim.now - t0));
    });
  }
  sim.run();
  // Slow one first: its read ends at 2 s, the fast one answers 100 ms later; fast one first: 100 ms.
  for (const times of got) assert.ok(times.length === 1 && (times[0] === 100 * MS || times[0] === 2 * SECOND + 100 * MS), String(times));
  const slowFirst = got.filter((t) => t[0]! > SECOND).length;
  assert.ok(slowFirst > 0 && slowFirst < 20);
  assert.equal(f.stats.readTimeouts, slowFirst);
  assert.equal(f.stats.servfail, 0);
});

test('max_concurrent: the query beyond the limit is refused at once and counted; a slot frees when a query ends', () => {
  const sim = new Simulator({ seed: 1 });
  const f = forward(sim, [upstream(sim, 100 * MS)], { maxConcurrent: 2 });
  const done: number[] = [];
  assert.equal(f.serve(q(1), () => done.push(1)), true);
  assert.equal(f.serve(q(2), () => done.push(2)), true);
  assert.equal(f.serve(q(3), () => done.push(3)), false);
  assert.equal(f.stats.refusedMaxConcurrent, 1);
  assert.equal(f.concurrent, 2);
  sim.run();
  assert.deepEqual(done, [1, 2]);
  assert.equal(f.serve(q(4), () => done.push(4)), true);
  sim.run();
  assert.deepEqual(done, [1, 2, 4]);
  // A refusal is not an upstream attempt.
  assert.equal(f.stats.attempts, 3);
});

test('force_tcp sends the upstream query over TCP', () => {
  const sim = new Simulator({ seed: 1 });
  const seen: string[] = [];
  const f = forward(sim, [(qq, answered) => { seen.push(qq.transport); answered(ANSWER); }], { forceTcp: true });
  f.serve(q(), () => {});
  assert.deepEqual(seen, ['tcp']);
});

test('random policy: the first upstream tried varies between queries, and is the same for the same seed', () => {
  const run = () => {
    const sim = new Simulator({ seed: 3 });
    const first: number[] = [];
    const ups = [0, 1, 2].map((i): UpstreamExchange => (_q, answered) => { first.push(i); answered(ANSWER); });
    const f = forward(sim, ups);
    for (let i = 0; i < 30; i++) f.serve(q(i), () => {});
    return first;
  };
  const a = run();
  assert.deepEqual(new Set(a), new Set([0, 1, 2]));
  assert.deepEqual(a, run());
});

test('simulatedUpstream: loss 1 never answers; loss 0 draws no loss number and answers after the latency', () => {
  const sim = new Simulator({ seed: 1 });
  const lost = simulatedUpstream(sim, { latency: { kind: 'constant', value: 5 * MS }, loss: 1 }, () => ANSWER, sim.rng('l'), sim.rng('x'));
  const fine = simulatedUpstream(sim, { latency: { kind: 'constant', value: 5 * MS }, loss: 0 }, () => ANSWER, sim.rng('l'), sim.rng('y'));
  const got: string[] = [];
  lost(q(), () => got.push('lost'), () => got.push('failed'));
  fine(q(), () => got.push(`fine@${sim.now}`), () => got.push('failed'));
  sim.run();
  assert.deepEqual(got, [`fine@${5 * MS}`]);
  assert.equal(sim.rng('y').random(), new Simulator({ seed: 1 }).rng('y').random());
});

test('simulatedUpstreams: one exchange per server, drawing from the named streams under the prefix', () => {
  const draw = (seed: number) => {
    const sim = new Simulator({ seed });
    const ups = simulatedUpstreams(sim, { servers: 3, latency: { kind: 'exponential', mean: 10 * MS }, loss: 0.3 }, () => ANSWER, 'dns/coredns-0');
    assert.equal(ups.length, 3);
    const times: number[] = [];
    for (let i = 0; i < 30; i++) ups[i % 3]!(q(i), () => times.push(sim.now), () => assert.fail('a simulated upstream never fails at once'));
    sim.run();
    return times;
  };
  const a = draw(1);
  assert.ok(a.length > 5 && a.length < 30, String(a.length));
  assert.deepEqual(a, draw(1));
});

test('an exchange that fails at once (refused, reset) is a failed attempt: the next one starts at once, and two make SERVFAIL', () => {
  const sim = new Simulator({ seed: 1 });
  const sent: number[] = [];
  const refusing: UpstreamExchange = (_q, _answered, failed) => {
    sent.push(sim.now);
    sim.schedule(MS, failed);
  };
  const f = forward(sim, [refusing]);
  const got: [number, string][] = [];
  f.serve(q(), (a) => got.push([sim.now, a.rcode]));
  sim.run();
  assert.deepEqual(sent, [0, MS]);
  assert.deepEqual(got, [[2 * MS, 'SERVFAIL']]);
  assert.deepEqual([f.stats.connectErrors, f.stats.readTimeouts], [2, 0]);
});

test('a failure reported after the read timed out is ignored', () => {
  const sim = new Simulator({ seed: 1 });
  let calls = 0;
  const late: UpstreamExchange = (_q, answered, failed) => {
    calls++;
    if (calls === 1) sim.schedule(3 * SECOND, failed);
    else answered(ANSWER);
  };
  const f = forward(sim, [late]);
  const got: [number, string][] = [];
  f.serve(q(), (a) => got.push([sim.now, a.rcode]));
  sim.run();
  assert.deepEqual(got, [[2 * SECOND, 'NOERROR']]);
  assert.deepEqual([f.stats.connectErrors, f.stats.readTimeouts], [0, 1]);
});
