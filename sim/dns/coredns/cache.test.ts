import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RandomStreams } from '../../engine/random.ts';
import { SECOND } from '../../engine/time.ts';
import { CACHE_DEFAULTS, DnsCache, cacheWithTtl, usableCapacity, type CacheConfig } from './cache.ts';

const rng = () => new RandomStreams(7).get('dns/test/cache-evict');
const ok = (ttl?: number) => ({ rcode: 'NOERROR' as const, addresses: ['10.0.0.1'], ...(ttl === undefined ? {} : { ttl }) });
const nx = (ttl?: number) => ({ rcode: 'NXDOMAIN' as const, addresses: [], ...(ttl === undefined ? {} : { ttl }) });

test('usable capacity: 256 shards of max(capacity / 256, 4): 10000 holds 9984, 9984 holds 9984, 100 holds 1024', () => {
  assert.equal(usableCapacity(10_000), 9984);
  assert.equal(usableCapacity(9984), 9984);
  assert.equal(usableCapacity(100), 1024);
});

test('cache 30: a success TTL is capped at 30 and floored at 5; the reply carries the cached TTL', () => {
  const c = new DnsCache(cacheWithTtl(30), rng());
  assert.equal(c.put('a.example', 'A', ok(300), 0).ttl, 30);
  assert.equal(c.put('b.example', 'A', ok(1), 0).ttl, 5);
  assert.equal(c.put('c.example', 'A', ok(12), 0).ttl, 12);
  // No TTL in the answer reads as the cap.
  assert.equal(c.put('d.example', 'A', ok(), 0).ttl, 30);
});

test('default caps: 3600 s success, 1800 s denial', () => {
  const c = new DnsCache(CACHE_DEFAULTS, rng());
  assert.equal(c.put('a.example', 'A', ok(86_400), 0).ttl, 3600);
  assert.equal(c.put('b.example', 'A', nx(86_400), 0).ttl, 1800);
});

test('a hit answers with the TTL left in whole seconds, and stops at 0', () => {
  const c = new DnsCache(cacheWithTtl(30), rng());
  c.put('a.example', 'A', ok(30), 0);
  assert.equal(c.get('a.example', 'A', 0)?.ttl, 30);
  assert.equal(c.get('a.example', 'A', 10.5 * SECOND)?.ttl, 20);
  assert.equal(c.get('a.example', 'A', 29.9 * SECOND)?.ttl, 1);
  assert.equal(c.get('a.example', 'A', 30 * SECOND), null);
  assert.deepEqual(c.stats, { hits: { success: 3, denial: 0 }, misses: 1 });
  // AAAA is another key.
  assert.equal(c.get('a.example', 'AAAA', 0), null);
});

test('negative caching: NXDOMAIN and NODATA go to the denial cache; SERVFAIL for 5 s; REFUSED is not cached', () => {
  const c = new DnsCache(cacheWithTtl(30), rng());
  c.put('nx.example', 'A', nx(60), 0);
  c.put('nodata.example', 'AAAA', { rcode: 'NOERROR', addresses: [], ttl: 60 }, 0);
  assert.equal(c.put('sf.example', 'A', { rcode: 'SERVFAIL', addresses: [] }, 0).ttl, 5);
  c.put('ref.example', 'A', { rcode: 'REFUSED', addresses: [] }, 0);
  assert.deepEqual(c.size, { success: 0, denial: 3 });
  assert.equal(c.get('nx.example', 'A', SECOND)?.rcode, 'NXDOMAIN');
  assert.equal(c.get('nodata.example', 'AAAA', SECOND)?.addresses.length, 0);
  assert.equal(c.get('sf.example', 'A', 5 * SECOND), null);
  assert.equal(c.get('ref.example', 'A', 0), null);
  assert.deepEqual(c.stats.hits, { success: 0, denial: 2 });
});

test('disable success/denial cluster.local: cluster answers are not stored, other names are; the reply TTL is still capped', () => {
  const c = new DnsCache(cacheWithTtl(30, { disableSuccess: ['cluster.local'], disableDenial: ['cluster.local'] }), rng());
  assert.equal(c.put('web.default.svc.cluster.local', 'A', ok(300), 0).ttl, 30);
  c.put('nope.default.svc.cluster.local', 'A', nx(30), 0);
  c.put('example.com', 'A', ok(30), 0);
  c.put('example.com.cluster.local.example.org', 'A', ok(30), 0);
  assert.deepEqual(c.size, { success: 2, denial: 0 });
  assert.equal(c.get('web.default.svc.cluster.local', 'A', 0), null);
  assert.notEqual(c.get('example.com', 'A', 0), null);
});

test('eviction: a full cache stays at its capacity, evicting at random, the same way for the same seed', () => {
  const fill = () => {
    const c = new DnsCache({ ...CACHE_DEFAULTS, successCapacity: 1024 }, rng());
    for (let i = 0; i < 5000; i++) c.put(`n${i}.example`, 'A', ok(300), 0);
    return c;
  };
  const c = fill();
  assert.equal(c.size.success, 1024);
  assert.equal(c.evictions.success, 5000 - 1024);
  const kept = (x: DnsCache) => Array.from({ length: 5000 }, (_, i) => x.get(`n${i}.example`, 'A', 0) !== null);
  assert.deepEqual(kept(c), kept(fill()));
  // Replacing an existing key evicts nothing.
  c.put('n4999.example', 'A', ok(300), 0);
  assert.equal(c.evictions.success, 5000 - 1024);
});

const cacheConfig: fc.Arbitrary<CacheConfig> = fc
  .record({
    successCapacity: fc.integer({ min: 0, max: 3000 }),
    denialCapacity: fc.integer({ min: 0, max: 3000 }),
    successMaxTtl: fc.integer({ min: 1, max: 3600 }),
    denialMaxTtl: fc.integer({ min: 1, max: 1800 }),
    minTtl: fc.integer({ min: 0, max: 10 }),
  })
  .map((r) => ({ ...CACHE_DEFAULTS, ...r, successMinTtl: r.minTtl, denialMinTtl: r.minTtl }));

test('property: the cache never holds more than its usable capacity, and every reply TTL is within [min, cap]', () => {
  fc.assert(
    fc.property(
      cacheConfig,
      fc.array(fc.record({ name: fc.integer({ min: 0, max: 4000 }), nx: fc.boolean(), ttl: fc.option(fc.integer({ min: 0, max: 100_000 }), { nil: undefined }) }), { maxLength: 3000 }),
      (config, puts) => {
        const c = new DnsCache(config, rng());
        for (const p of puts) {
          const a = p.nx ? nx(p.ttl) : ok(p.ttl);
          const out = c.put(`n${p.name}.example`, 'A', a, 0);
          const [min, cap] = p.nx ? [config.denialMinTtl, config.denialMaxTtl] : [config.successMinTtl, config.successMaxTtl];
          assert.ok(out.ttl! <= cap && out.ttl! >= Math.min(min, cap), `${out.ttl} not in [${min}, ${cap}]`);
          assert.ok(c.size.success <= usableCapacity(config.successCapacity));
          assert.ok(c.size.denial <= usableCapacity(config.denialCapacity));
        }
      },
    ),
    { numRuns: 40 },
  );
});

test('property: a hit never answers a TTL above what was stored, nor 0', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 100_000 }), fc.integer({ min: 0, max: 4000 * SECOND }), (ttl, age) => {
      const c = new DnsCache(cacheWithTtl(30), rng());
      const stored = c.put('a.example', 'A', ok(ttl), 0).ttl!;
      const hit = c.get('a.example', 'A', age);
      if (hit) assert.ok(hit.ttl! >= 1 && hit.ttl! <= stored);
      else assert.ok(age >= stored * SECOND - SECOND);
    }),
  );
});

test('lookup order: a live denial wins over a success entry, but a cached SERVFAIL does not shadow a live success', () => {
  const c = new DnsCache(cacheWithTtl(30), rng());
  c.put('a.example', 'A', ok(30), 0);
  c.put('a.example', 'A', { rcode: 'SERVFAIL', addresses: [] }, 0);
  assert.equal(c.get('a.example', 'A', SECOND)?.rcode, 'NOERROR');
  c.put('a.example', 'A', nx(30), SECOND);
  assert.equal(c.get('a.example', 'A', 2 * SECOND)?.rcode, 'NXDOMAIN');
  // Both entries expired: a miss.
  c.put('b.example', 'A', ok(30), 0);
  c.put('b.example', 'A', { rcode: 'SERVFAIL', addresses: [] }, 0);
  assert.equal(c.get('b.example', 'A', 31 * SECOND), null);
  assert.deepEqual(c.stats, { hits: { success: 1, denial: 1 }, misses: 1 });
});
