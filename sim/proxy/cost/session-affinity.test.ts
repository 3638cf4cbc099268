import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeEndpoint } from '../endpoint.ts';
import { SessionAffinity } from './session-affinity.ts';

const eps = ['10.244.0.2', '10.244.0.3', '10.244.0.4'].map((ip) => makeEndpoint({ ip, port: 8080 }));
const S = 1e9;

for (const store of ['xt_recent', 'timeout'] as const) {
  test(`${store}: a client returns to its endpoint while it is in the rules and the timeout has not passed`, () => {
    const a = new SessionAffinity(store, 10 * S);
    assert.deepEqual({ ...a.check(0, 0, 7, eps, 0) }, { index: -1, checked: 3 });
    a.record(0, 0, 7, eps[1]!.endpoint, 0);
    assert.deepEqual({ ...a.check(0, 0, 7, eps, 5 * S) }, { index: 1, checked: 2 });
    assert.equal(a.check(0, 0, 8, eps, 5 * S).index, -1, 'another client');
    assert.equal(a.check(1, 0, 7, eps, 5 * S).index, -1, 'another node');
    assert.equal(a.check(0, 1, 7, eps, 5 * S).index, -1, 'another Service');
    assert.equal(a.check(0, 0, 7, [eps[0]!, eps[2]!], 5 * S).index, -1, 'its endpoint is not in the rules');
    a.record(0, 0, 7, eps[1]!.endpoint, 5 * S);
    assert.equal(a.check(0, 0, 7, eps, 14 * S).index, 1, 'each connection refreshes the entry');
    assert.equal(a.check(0, 0, 7, eps, 16 * S).index, -1, 'expired');
  });

  test(`${store}: an endpoint that left the rules comes back without its clients`, () => {
    const a = new SessionAffinity(store, 100 * S);
    a.record(0, 0, 7, eps[2]!.endpoint, 0);
    a.record(0, 0, 9, eps[0]!.endpoint, 0);
    a.forget(0, 0, eps[2]!.endpoint);
    assert.equal(a.check(0, 0, 7, eps, S).index, -1);
    assert.equal(a.check(0, 0, 9, eps, S).index, 0, 'other endpoints keep theirs');
  });
}

test('xt_recent: a list holds at most ip_list_tot (100) addresses; the least recently seen goes first', () => {
  const recent = new SessionAffinity('xt_recent', 100 * S);
  const sets = new SessionAffinity('timeout', 100 * S);
  for (let c = 0; c <= 100; c++) {
    recent.record(0, 0, c, eps[0]!.endpoint, c);
    sets.record(0, 0, c, eps[0]!.endpoint, c);
  }
  assert.equal(recent.check(0, 0, 0, eps, 200).index, -1, 'the first client was evicted by the 101st');
  assert.equal(recent.check(0, 0, 1, eps, 200).index, 0);
  assert.equal(sets.check(0, 0, 0, eps, 200).index, 0, 'nft sets, IPVS templates, ... have no such bound here');
});
