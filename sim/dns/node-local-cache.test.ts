import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_COSTS } from '../cost/cost-model.ts';
import { Simulator } from '../engine/simulator.ts';
import { MS, SECOND } from '../engine/time.ts';
import type { UpstreamExchange } from './coredns/forward.ts';
import { NODE_LOCAL_DNS_ADDRESS, NodeLocalDnsCache, nodeLocalDnsDefaults } from './node-local-cache.ts';
import type { DnsAnswer, DnsQuery } from './types.ts';

let nextId = 0;
const q = (name: string, transport: 'udp' | 'tcp' = 'udp'): DnsQuery => ({ id: nextId++, name, type: 'A', server: NODE_LOCAL_DNS_ADDRESS, socket: 1, transport });

/** An exchange answering after 1 ms with `answer(name)`, logging what it was sent (null answer: silent). */
function exchange(sim: Simulator, answer: (name: string) => DnsAnswer | null, log: DnsQuery[]): UpstreamExchange {
  return (query, answered) => {
    log.push(query);
    const a = answer(query.name);
    if (a) sim.schedule(MS, () => answered(a));
  };
}

function rig(clusterAnswer: (name: string) => DnsAnswer | null = (n) => (n.startsWith('web.') ? { rcode: 'NOERROR', addresses: ['10.96.0.20'], ttl: 30 } : { rcode: 'NXDOMAIN', addresses: [], ttl: 30 })) {
  const sim = new Simulator({ seed: 1 });
  const toCluster: DnsQuery[] = [];
  const toNode: DnsQuery[] = [];
  const cache = new NodeLocalDnsCache(
    sim,
    'node-0',
    nodeLocalDnsDefaults(),
    DEFAULT_COSTS,
    { clusterDns: exchange(sim, clusterAnswer, toCluster), upstreams: [exchange(sim, () => ({ rcode: 'NOERROR', addresses: ['93.184.216.34'], ttl: 300 }), toNode)] },
    'dns/node-local/node-0',
  );
  const ask = (query: DnsQuery) => {
    const got: { at: number; answer: DnsAnswer | null }[] = [];
    cache.query(query, (answer) => got.push({ at: sim.now, answer }));
    return got;
  };
  return { sim, cache, ask, toCluster, toNode };
}

test('NodeLocal DNSCache listens on 169.254.20.10 and says it is NOTRACK (the run then creates no conntrack entry for its queries)', () => {
  const { cache } = rig();
  assert.equal(cache.listenAddress, '169.254.20.10');
  assert.equal(cache.notrack, true);
});

test('a cluster name goes to kube-dns-upstream over TCP (force_tcp), then is served from the cache for up to 30 s', () => {
  const { sim, ask, toCluster, toNode, cache } = rig();
  const first = ask(q('web.default.svc.cluster.local'));
  sim.run();
  const c = DEFAULT_COSTS;
  assert.deepEqual(first, [{ at: c.nodeLocalDnsQueryNs + MS + (c.nodeLocalDnsForwardedQueryNs - c.nodeLocalDnsQueryNs), answer: { rcode: 'NOERROR', addresses: ['10.96.0.20'], ttl: 30 } }]);
  assert.deepEqual(toCluster.map((x) => x.transport), ['tcp']);
  assert.equal(toNode.length, 0);
  sim.runFor(29 * SECOND);
  assert.equal(ask(q('web.default.svc.cluster.local')).length, 0);
  sim.run();
  assert.equal(toCluster.length, 1);
  assert.deepEqual(cache.stats.cacheHits, { success: 1, denial: 0 });
});

test('a cluster NXDOMAIN is cached for 5 s at most (denial 9984 5)', () => {
  const { sim, ask, toCluster } = rig();
  const first = ask(q('nope.default.svc.cluster.local'));
  sim.run();
  assert.equal(first[0]!.answer!.ttl, 5);
  sim.runFor(4 * SECOND);
  ask(q('nope.default.svc.cluster.local'));
  sim.run();
  assert.equal(toCluster.length, 1);
  sim.runFor(5 * SECOND);
  ask(q('nope.default.svc.cluster.local'));
  sim.run();
  assert.equal(toCluster.length, 2);
});

test('an external name goes to the node\'s resolvers in the client\'s transport, cached with cache 30', () => {
  const { sim, ask, toCluster, toNode, cache } = rig();
  const got = ask(q('example.com'));
  sim.run();
  assert.equal(got[0]!.answer!.ttl, 30);
  assert.deepEqual(toNode.map((x) => x.transport), ['udp']);
  assert.equal(toCluster.length, 0);
  assert.equal(cache.caches.default.size.success, 1);
  assert.equal(cache.caches.cluster.size.success, 0);
});

test('kube-dns-upstream silent: SERVFAIL after two 2 s reads', () => {
  const { sim, ask } = rig(() => null);
  const got = ask(q('web.default.svc.cluster.local'));
  sim.run();
  assert.deepEqual(got, [{ at: DEFAULT_COSTS.nodeLocalDnsQueryNs + 4 * SECOND, answer: { rcode: 'SERVFAIL', addresses: [] } }]);
});
