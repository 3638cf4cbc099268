import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { cidrContains, formatCidr, formatIPv4, parseCidr, parseIPv4, tryParseIPv4 } from './ipv4.ts';
import { InputError } from '../io/input-error.ts';

test('parseIPv4 and formatIPv4 round-trip every address', () => {
  fc.assert(fc.property(fc.integer({ min: 0, max: 0xffffffff }), (ip) => parseIPv4(formatIPv4(ip)) === ip));
  assert.equal(parseIPv4('255.255.255.255'), 0xffffffff);
  assert.equal(parseIPv4('10.96.0.10'), (10 << 24) + (96 << 16) + 10);
});

test('malformed addresses are InputErrors naming the place', () => {
  for (const bad of ['10.0.0', '10.0.0.256', '10.0.0.01', 'a.b.c.d', '', '1.2.3.4.5', '1..2.3']) {
    assert.equal(tryParseIPv4(bad), undefined, bad);
    assert.throws(() => parseIPv4(bad, 'rules.txt:3:7'), (e: unknown) => e instanceof InputError && e.message.startsWith('rules.txt:3:7'));
  }
});

test('parseCidr masks host bits, accepts dotted masks, and cidrContains agrees', () => {
  const c = parseCidr('10.244.1.7/16');
  assert.equal(formatCidr(c), '10.244.0.0/16');
  assert.ok(cidrContains(c, parseIPv4('10.244.255.1')));
  assert.ok(!cidrContains(c, parseIPv4('10.245.0.1')));
  assert.equal(parseCidr('0.0.0.0/0').mask, 0);
  assert.ok(cidrContains(parseCidr('0.0.0.0/0'), 0xffffffff));
  assert.equal(parseCidr('10.0.0.0/255.0.0.0').prefix, 8);
  assert.equal(parseCidr('1.2.3.4').prefix, 32);
  assert.throws(() => parseCidr('10.0.0.0/33'), InputError);
  assert.throws(() => parseCidr('10.0.0.0/255.0.255.0'), InputError);
});
