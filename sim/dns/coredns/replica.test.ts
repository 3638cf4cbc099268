import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DEFAULT_COSTS, withCosts } from '../../cost/cost-model.ts';
import { Simulator } from '../../engine/simulator.ts';
import { MS, SECOND, US } from '../../engine/time.ts';
import type { DnsAnswer, DnsQuery } from '../types.ts';
import { inZone } from './zone.ts';
import { simulatedUpstream, type UpstreamExchange } from './forward.ts';
import { CoreDnsReplica, kubeadmCoreDns, type CoreDnsConfig } from './replica.ts';
import type { Authority } from './server.ts';

const costs = withCosts(DEFAULT_COSTS, { corednsQueryNs: 50 * US, corednsForwardedQueryNs: 250 * US });

/** The kubernetes plugin over one Service. */
const authority: Authority = (name) => {
  if (!inZone(name, 'cluster.local')) return null;
  return name === 'web.default.svc.cluster.local' ? { rcode: 'NOERROR', addresses: ['10.96.0.20'] } : { rcode: 'NXDOMAIN', addresses: [] };
};
const external = (): DnsAnswer => ({ rcode: 'NOERROR', addresses: ['93.184.216.34'], ttl: 300 });

let nextId = 0;
const q = (name: string, type: 'A' | 'AAAA' = 'A'): DnsQuery => ({ id: nextId++, name, type, server: '10.96.0.10', socket: 1, transport: 'udp' });

function replica(o: { config?: Partial<CoreDnsConfig>; upstreams?: (sim: Simulator) => UpstreamExchange[]; seed?: number; disableClusterCache?: boolean } = {}) {
  const sim = new Simulator({ seed: o.seed ?? 1 });
  const config = { ...kubeadmCoreDns({ disableClusterCache: o.disableClusterCache ?? false }), ...o.config };
  const upstreams = o.upstreams?.(sim) ?? [simulatedUpstream(sim, { latency: { kind: 'constant', value: 10 * MS }, loss: 0 }, external, sim.rng('dns/up/latency'), sim.rng('dns/up/loss'))];
  const r = new CoreDnsReplica(sim, 'coredns-0', config, costs, { authority, upstreams }, 'dns/coredns-0');
  return { sim, r };
}

/** Sends `query` at the current time and records when and what came back. */
function ask(sim: Simulator, r: CoreDnsReplica, query: DnsQuery) {
  const got: { at: number; answer: DnsAnswer | null }[] = [];
  r.query(query, (answer) => got.push({ at: sim.now, answer }));
  return got;
}

test('kubernetes plugin: a cluster name is answered after one query of CPU with the plugin ttl 30, then from the cache', () => {
  const { sim, r } = replica();
  const first = ask(sim, r, q('web.default.svc.cluster.local'));
  sim.run();
  assert.deepEqual(first, [{ at: 50 * US, answer: { rcode: 'NOERROR', addresses: ['10.96.0.20'], ttl: 30 } }]);
  sim.runFor(10 * SECOND);
  const t0 = sim.now;
  const second = ask(sim, r, q('web.default.svc.cluster.local'));
  sim.run();
  assert.deepEqual(second, [{ at: t0 + 50 * US, answer: { rcode: 'NOERROR', addresses: ['10.96.0.20'], ttl: 20 } }]);
  const s = r.stats;
  assert.deepEqual([s.cacheHits.success, s.cacheMisses, s.forwarded, s.answered.NOERROR], [1, 1, 0, 2]);
});

test('an NXDOMAIN in the cluster domain is the plugin\'s own answer (never forwarded) and is cached as a denial', () => {
  const { sim, r } = replica();
  ask(sim, r, q('nope.default.svc.cluster.local'));
  sim.run();
  const again = ask(sim, r, q('nope.default.svc.cluster.local'));
  sim.run();
  assert.equal(again[0]!.answer!.rcode, 'NXDOMAIN');
  assert.deepEqual([r.stats.cacheHits.denial, r.stats.forwarded], [1, 0]);
});

test('the newer kubeadm Corefile (disable success/denial cluster.local) asks the plugin every time but still caches external names', () => {
  const { sim, r } = replica({ disableClusterCache: true });
  for (let i = 0; i < 3; i++) {
    ask(sim, r, q('web.default.svc.cluster.local'));
    ask(sim, r, q('nope.default.svc.cluster.local'));
    ask(sim, r, q('example.com'));
    sim.run();
  }
  const s = r.stats;
  assert.deepEqual(s.cacheHits, { success: 2, denial: 0 });
  assert.equal(s.cacheMisses, 7);
  assert.equal(s.forwarded, 1);
});

test('forward: an external name costs the forwarded CPU and the upstream latency; its TTL is capped at 30', () => {
  const { sim, r } = replica();
  const got = ask(sim, r, q('example.com'));
  sim.run();
  // 50 us of lookup, 10 ms upstream, then the rest of the forwarded query's 250 us.
  assert.deepEqual(got, [{ at: 50 * US + 10 * MS + 200 * US, answer: { rcode: 'NOERROR', addresses: ['93.184.216.34'], ttl: 30 } }]);
  assert.equal(r.stats.forwarded, 1);
  assert.equal(r.stats.cpuBusyNs, 250 * US);
});

test('forward: a silent upstream gives SERVFAIL after two 2 s reads, and SERVFAIL is not cached', () => {
  const { sim, r } = replica({ upstreams: () => [() => {}] });
  const got = ask(sim, r, q('example.com'));
  sim.run();
  assert.deepEqual(got, [{ at: 50 * US + 4 * SECOND, answer: { rcode: 'SERVFAIL', addresses: [] } }]);
  assert.deepEqual(r.cache!.size, { success: 0, denial: 0 });
});

test('max_concurrent: beyond the limit of in-flight upstream queries the replica answers REFUSED at once', () => {
  const { sim, r } = replica({ config: { forward: { ...kubeadmCoreDns().forward, maxConcurrent: 2 } }, upstreams: (s) => [simulatedUpstream(s, { latency: { kind: 'constant', value: SECOND }, loss: 0 }, external, s.rng('l'), s.rng('x'))] });
  const got = ['a.example', 'b.example', 'c.example'].map((n) => ask(sim, r, q(n)));
  sim.run();
  assert.deepEqual(got.map((g) => g[0]!.answer!.rcode), ['NOERROR', 'NOERROR', 'REFUSED']);
  assert.equal(got[2]![0]!.at, 150 * US); // third in the CPU queue, refused when its turn came
  assert.deepEqual([r.stats.refusedMaxConcurrent, r.stats.answered.REFUSED], [1, 1]);
  assert.deepEqual(r.cache!.size, { success: 2, denial: 0 });
});

test('a full receive buffer drops the query silently: reply(null) at once, counted', () => {
  const { sim, r } = replica({ config: { cores: 1, receiveBufferQueries: 3 } });
  const got = Array.from({ length: 10 }, () => ask(sim, r, q('web.default.svc.cluster.local')));
  // One on the core, three in the buffer: the other six are dropped on arrival.
  assert.deepEqual(got.map((g) => g.length), [0, 0, 0, 0, 1, 1, 1, 1, 1, 1]);
  assert.ok(got.slice(4).every((g) => g[0]!.answer === null && g[0]!.at === 0));
  sim.run();
  assert.deepEqual(got.slice(0, 4).map((g) => g[0]!.at), [50 * US, 100 * US, 150 * US, 200 * US]);
  assert.equal(r.stats.droppedQueueFull, 6);
});

test('lameduck: after SIGTERM /ready fails at once, queries are answered for 5 s, then the process exits and drops what it had', () => {
  const { sim, r } = replica({ upstreams: (s) => [simulatedUpstream(s, { latency: { kind: 'constant', value: 3 * SECOND }, loss: 0 }, external, s.rng('l'), s.rng('x'))] });
  assert.deepEqual([r.ready, r.healthy, r.state], [true, true, 'running']);
  sim.runFor(SECOND);
  r.terminate();
  assert.deepEqual([r.ready, r.healthy, r.state], [false, true, 'lameduck']);
  const during = ask(sim, r, q('web.default.svc.cluster.local'));
  sim.runFor(4 * SECOND);
  const slow = ask(sim, r, q('example.com')); // its upstream answers at 8 s, after the exit at 6 s
  sim.runFor(SECOND - 1);
  const lastNs = ask(sim, r, q('web.default.svc.cluster.local')); // its CPU would end 50 us after the exit
  sim.run();
  assert.deepEqual(during, [{ at: SECOND + 50 * US, answer: { rcode: 'NOERROR', addresses: ['10.96.0.20'], ttl: 30 } }]);
  assert.deepEqual(slow, [{ at: 6 * SECOND, answer: null }]);
  assert.deepEqual(lastNs, [{ at: 6 * SECOND, answer: null }]);
  assert.deepEqual([r.state, r.ready, r.healthy], ['stopped', false, false]);
  const after = ask(sim, r, q('web.default.svc.cluster.local'));
  assert.deepEqual(after, [{ at: sim.now, answer: null }]);
  assert.deepEqual([r.stats.droppedAtExit, r.stats.droppedStopped], [2, 1]);
});

/** Poisson arrivals of one cluster name at `qps` for `seconds`; the answer latencies, the answers and the drops. */
function offer(qps: number, seconds: number, seed = 1) {
  const { sim, r } = replica({ seed, config: { cores: 1 } });
  const arrivals = sim.rng('test/arrivals');
  const latencies: number[] = [];
  let dropped = 0;
  const send = () => {
    if (sim.now >= seconds * SECOND) return;
    const t0 = sim.now;
    r.query(q('web.default.svc.cluster.local'), (a) => (a ? latencies.push(sim.now - t0) : dropped++));
    sim.schedule(Math.max(1, Math.round(arrivals.exponential(SECOND / qps))), send);
  };
  send();
  sim.run();
  return { latencies, dropped, r, sim };
}

test('CPU capacity bounds throughput: 1 core at 50 us a query serves 20k QPS; twice that load queues, then drops', () => {
  const light = offer(10_000, 0.5);
  const heavy = offer(40_000, 0.5);
  assert.equal(light.dropped, 0);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  // Light load: answers within a few queries' CPU.
  assert.ok(mean(light.latencies) < 200 * US, String(mean(light.latencies)));
  // Heavy load: the answers are what one core can do in the time (the queue drains after the last arrival).
  const busyFor = heavy.sim.now;
  assert.ok(Math.abs(heavy.latencies.length - busyFor / (50 * US)) <= 1, `${heavy.latencies.length} answers in ${busyFor} ns`);
  assert.ok(heavy.dropped > 0.4 * (heavy.dropped + heavy.latencies.length), String(heavy.dropped));
  // The wait grows until the receive buffer is full: 256 queries ahead, 12.8 ms.
  const early = mean(heavy.latencies.slice(0, 50));
  const late = mean(heavy.latencies.slice(-1000));
  assert.ok(early < 2 * MS && late > 10 * MS && late <= 257 * 50 * US, `${early} ${late}`);
  assert.ok(heavy.r.cpuUtilisation() > 0.99 && heavy.r.cpuUtilisation() <= 1);
});

test('property: every query gets exactly one reply (an answer or null), and the counters add up', () => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ at: fc.integer({ min: 0, max: 12 * SECOND }), name: fc.constantFrom('web.default.svc.cluster.local', 'nope.default.svc.cluster.local', 'a.example', 'b.example') }), { maxLength: 300 }),
      fc.double({ min: 0, max: 1, noNaN: true }),
      fc.option(fc.integer({ min: 0, max: 10 * SECOND }), { nil: undefined }),
      fc.integer({ min: 1, max: 50 }),
      fc.integer({ min: 0, max: 1000 }),
      (queries, loss, terminateAt, buffer, seed) => {
        const { sim, r } = replica({
          seed,
          config: { receiveBufferQueries: buffer, forward: { ...kubeadmCoreDns().forward, maxConcurrent: 5 } },
          upstreams: (s) => [simulatedUpstream(s, { latency: { kind: 'exponential', mean: 500 * MS }, loss }, external, s.rng('l'), s.rng('x'))],
        });
        const replies = new Array<number>(queries.length).fill(0);
        queries.forEach((x, i) => sim.scheduleAt(x.at, () => r.query(q(x.name), () => replies[i]!++)));
        if (terminateAt !== undefined) sim.scheduleAt(terminateAt, () => r.terminate());
        sim.run();
        assert.ok(replies.every((n) => n === 1), JSON.stringify(replies));
        const s = r.stats;
        const answered = Object.values(s.answered).reduce((a, b) => a + b, 0);
        assert.equal(answered + s.droppedQueueFull + s.droppedStopped + s.droppedAtExit, s.queries);
        assert.equal(s.queries, queries.length);
      },
    ),
    { numRuns: 60 },
  );
});

test('determinism: the same seed gives the same answers at the same times; eviction and the upstream draws come from named streams', () => {
  const trace = (seed: number) => {
    const { sim, r } = replica({
      seed,
      config: { cache: { ...kubeadmCoreDns().cache!, successCapacity: 1024 } },
      upstreams: (s) => [0, 1].map(() => simulatedUpstream(s, { latency: { kind: 'lognormal', median: 5 * MS, p99: 200 * MS }, loss: 0.05 }, external, s.rng('dns/up/latency'), s.rng('dns/up/loss'))),
    });
    const out: string[] = [];
    for (let i = 0; i < 3000; i++) {
      sim.scheduleAt(i * 100 * US, () => r.query(q(`n${i % 1500}.example`), (a) => out.push(`${i} ${sim.now} ${a?.rcode ?? 'drop'} ${a?.ttl ?? ''}`)));
    }
    sim.run();
    return out.join('\n');
  };
  assert.equal(trace(4), trace(4));
  assert.notEqual(trace(4), trace(5));
});
