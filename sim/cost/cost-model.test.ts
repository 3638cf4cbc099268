import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DEFAULT_COSTS, WALK_CACHE_RULES, ruleWalkNs, withCosts } from './cost-model.ts';

const costs = withCosts(DEFAULT_COSTS, { perRuleNs: { legacy: 2.2, nft: 9.5 }, perRuleLogNs: { legacy: 0.5, nft: 0 } });

test('ruleWalkNs: perRuleNs per rule up to WALK_CACHE_RULES, then + perRuleLogNs x ln(n / WALK_CACHE_RULES) per rule', () => {
  assert.equal(ruleWalkNs(costs, 'legacy', 0), 0);
  assert.equal(ruleWalkNs(costs, 'legacy', 10), 22);
  assert.equal(ruleWalkNs(costs, 'legacy', WALK_CACHE_RULES), 2.2 * WALK_CACHE_RULES);
  const n = WALK_CACHE_RULES * 100;
  assert.ok(Math.abs(ruleWalkNs(costs, 'legacy', n) - n * (2.2 + 0.5 * Math.log(100))) < 1e-9);
  // A backend without the term is linear at any length.
  assert.equal(ruleWalkNs(costs, 'nft', n), 9.5 * n);
});

test('property: a walk costs at least perRuleNs per rule, grows with its length, and is continuous at WALK_CACHE_RULES', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 1_000_000 }), fc.double({ min: 0, max: 20, noNaN: true }), fc.double({ min: 0, max: 5, noNaN: true }), (n, perRule, log) => {
      const c = withCosts(DEFAULT_COSTS, { perRuleNs: { legacy: perRule }, perRuleLogNs: { legacy: log } });
      const w = ruleWalkNs(c, 'legacy', n);
      assert.ok(w >= n * perRule - 1e-9 * (1 + w));
      assert.ok(ruleWalkNs(c, 'legacy', n + 1) >= w);
    }),
  );
  const c = withCosts(DEFAULT_COSTS, { perRuleNs: { legacy: 3 }, perRuleLogNs: { legacy: 1 } });
  // One rule past the knee adds its perRuleNs and about perRuleLogNs (n x ln((n + 1) / n) ~ 1): no jump.
  const step = ruleWalkNs(c, 'legacy', WALK_CACHE_RULES + 1) - ruleWalkNs(c, 'legacy', WALK_CACHE_RULES);
  assert.ok(step > 3 && step < 3 + 1 + 0.02, String(step));
});
