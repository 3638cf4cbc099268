import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { servicePolicies, valueByShare } from './service-policy.ts';

test('shares (adding up to at most 1, as the schema requires) deal values out in index order: value i goes to round(cumulative share x Services) minus the ones before', () => {
  fc.assert(
    fc.property(fc.array(fc.double({ min: 0, max: 0.33, noNaN: true }), { maxLength: 3 }), fc.integer({ min: 1, max: 200 }), (raw, services) => {
      const shares = raw.map((share, i) => ({ value: `v${i}`, share }));
      const got = Array.from({ length: services }, (_, s) => valueByShare(shares, s, services, 'default'));
      let acc = 0;
      let start = 0;
      for (const { value, share } of shares) {
        acc += share;
        const end = Math.max(start, Math.round(acc * services));
        assert.equal(got.filter((v) => v === value).length, end - start, value);
        assert.ok(got.slice(start, end).every((v) => v === value), 'contiguous, in order');
        start = end;
      }
      assert.ok(got.slice(start).every((v) => v === 'default'), 'the rest keep the default');
    }),
  );
});

test('topology-mode Auto wins over trafficDistribution on a Service that has both', () => {
  const p = servicePolicies({ sessionAffinity: [], internalLocal: 0, topologyModeAuto: 0.5, trafficDistribution: [{ value: 'PreferSameNode', share: 1 }] }, 4);
  assert.deepEqual(p.map((x) => x.topology), ['Auto', 'Auto', 'PreferSameNode', 'PreferSameNode']);
});
