import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { reverseTuple, tupleEquals, tupleKey, packetKey } from './tuple.ts';
import { makePacket } from './packet.ts';
import { parseProtocol, PROTOCOL_NUMBER } from './protocol.ts';
import { InputError } from '../io/input-error.ts';

const arbTuple = fc.record({
  proto: fc.constantFrom('tcp', 'udp', 'sctp', 'icmp' as const),
  src: fc.integer({ min: 0, max: 0xffffffff }),
  sport: fc.integer({ min: 0, max: 65535 }),
  dst: fc.integer({ min: 0, max: 0xffffffff }),
  dport: fc.integer({ min: 0, max: 65535 }),
});

test('tupleKey is equal exactly when the tuples are equal', () => {
  fc.assert(fc.property(arbTuple, arbTuple, (a, b) => (tupleKey(a) === tupleKey(b)) === tupleEquals(a, b)));
});

test('packetKey matches tupleKey, reverse is an involution', () => {
  fc.assert(fc.property(arbTuple, (t) => {
    assert.equal(packetKey(makePacket(t)), tupleKey(t));
    assert.ok(tupleEquals(reverseTuple(reverseTuple(t)), t));
  }));
});

test('protocol numbers follow IANA, parsing accepts Kubernetes case and numbers', () => {
  assert.deepEqual(PROTOCOL_NUMBER, { icmp: 1, tcp: 6, udp: 17, sctp: 132 });
  assert.equal(parseProtocol('TCP'), 'tcp');
  assert.equal(parseProtocol('17'), 'udp');
  assert.throws(() => parseProtocol('gre'), InputError);
});
