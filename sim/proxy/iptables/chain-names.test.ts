import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ChainNameCache, endpointHash, portProtoHash } from './chain-names.ts';
import { formatGoFixed10, probability } from './probability.ts';

test('chain names match kube-proxy (values from its proxier_test.go)', () => {
  assert.equal('KUBE-SVC-' + portProtoHash('ns1/svc1:p80', 'tcp'), 'KUBE-SVC-XPGD46QRK7WJZT7O');
  assert.equal('KUBE-SVC-' + portProtoHash('ns2/svc2:p80', 'tcp'), 'KUBE-SVC-GNZBNJ2PO5MGZ6GT');
  assert.equal('KUBE-SVC-' + portProtoHash('ns2/svc2:p8080', 'tcp'), 'KUBE-SVC-2VJB64SDSIJUP5T6');
  assert.equal('KUBE-SEP-' + endpointHash('ns1/svc1:p80', 'tcp', '10.180.0.1:80'), 'KUBE-SEP-SXIVWICOYRO3J4NJ');
  assert.equal('KUBE-SEP-' + endpointHash('ns1/svc1:p80', 'tcp', '10.0.1.1:80'), 'KUBE-SEP-SNQ3ZNILQDEJNDQO');
  const cache = new ChainNameCache();
  const c = cache.servicePortChains('ns5/svc5:p80', 'TCP');
  assert.equal(c.fw, 'KUBE-FW-NUKIZ6OKUXPJNT4C');
  assert.equal(c.ext, 'KUBE-EXT-NUKIZ6OKUXPJNT4C');
  assert.equal(cache.servicePortChains('ns5/svc5:p80', 'TCP'), c);
  assert.equal(cache.endpointChain('ns4/svc4:p80', 'TCP', '10.180.0.5:80'), 'KUBE-SEP-C6EBXVWJJZMIWKLZ');
  // The protocol is part of the hash: the same name over UDP is another chain.
  assert.notEqual(cache.servicePortChains('ns5/svc5:p80', 'UDP').svc, c.svc);
});

test('probabilities use Go %0.10f', () => {
  assert.equal(probability(3), '0.3333333333');
  assert.equal(probability(2), '0.5000000000');
  assert.equal(probability(7), '0.1428571429');
  assert.equal(probability(1000), '0.0010000000');
  // An exact tie rounds half to even, as Go does (JavaScript's toFixed would give ...813).
  assert.equal(probability(2048), '0.0004882812');
  assert.equal(formatGoFixed10(0.00048828135), (0.00048828135).toFixed(10));
  // 1/51200 is a double just above 0.00001953125: not a tie, Go rounds it up.
  assert.equal(probability(51200), '0.0000195313');
  assert.throws(() => probability(0));
});

/**
 * The oracle: toFixed(100) is the exact decimal expansion of 1/n's double for n <= 200000 (its last
 * bit is 2^-70 or coarser, 70 decimal places), rounded at the 10th place by digit arithmetic, a tie to
 * even, as Go's strconv rounds the exact value.
 */
function exactRound10(x: number): string {
  const exact = x.toFixed(100);
  const dot = exact.indexOf('.');
  const kept = exact.slice(0, dot) + exact.slice(dot + 1, dot + 11);
  const rest = exact.slice(dot + 11);
  const half = '5'.padEnd(rest.length, '0');
  const up = rest > half || (rest === half && Number(kept[kept.length - 1]) % 2 === 1);
  const digits = (BigInt(kept) + (up ? 1n : 0n)).toString().padStart(11, '0');
  return `${digits.slice(0, -10)}.${digits.slice(-10)}`;
}

test('probability(n) equals the exact rounding of the double 1/n for every n up to 200000 (property)', () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 200000 }), (n) => probability(n) === exactRound10(1 / n)), { numRuns: 5000 });
  for (const n of [2048, 51200, 102400, 200000]) assert.equal(probability(n), exactRound10(1 / n), `n=${n}`);
});
