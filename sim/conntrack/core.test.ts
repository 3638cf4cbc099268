/** The per-packet core (core.ts): a clash at confirm, expiry met by lookups. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makePacket, TCP_SYN } from '../net/packet.ts';
import { parseIPv4 } from '../net/ipv4.ts';
import { SECOND } from '../engine/time.ts';
import { ConntrackTable } from './table.ts';
import { CtLookup, IP_CT_NEW } from './common.ts';
import { pass, tcp } from './testing/pass.ts';

const ip = (s: string) => parseIPv4(s);
const CLIENT = ip('10.244.1.5');
const VIP = ip('10.96.0.10');
const POD = ip('10.244.2.7');

test('a clash at confirm drops the packet and frees the entry (insert_failed)', () => {
  const t = new ConntrackTable({ max: 10 });
  const out = new CtLookup();
  // Client A's connection, DNATed to POD:8080.
  const a = tcp(CLIENT, 1000, VIP, 80, TCP_SYN);
  t.track(a, 0, out);
  t.setDnat(out.entry, POD, 8080);
  t.confirm(out.entry, 0);
  // A direct connection from the same client port to POD:8080 has the same reply tuple: it clashes at confirm.
  t.track(tcp(CLIENT, 1000, POD, 8080, TCP_SYN), 0, out);
  assert.equal(out.ctinfo, IP_CT_NEW);
  assert.equal(t.count, 2);
  assert.equal(t.confirm(out.entry, 0), false);
  assert.equal(t.stats.insertFailed, 1);
  assert.equal(t.count, 1);
});

test('expiry is lazy on lookup and by gc scan; no event per entry', () => {
  const t = new ConntrackTable({ max: 100 });
  pass(t, makePacket({ proto: 'udp', src: CLIENT, sport: 5000, dst: POD, dport: 53 }), 0);
  pass(t, tcp(CLIENT, 1, POD, 80, TCP_SYN), 0);
  assert.equal(t.count, 2);
  // Lookups before the timeout find the entry; after it, a new one is created in its place.
  assert.equal(pass(t, makePacket({ proto: 'udp', src: CLIENT, sport: 5000, dst: POD, dport: 53 }), 29 * SECOND).ctinfo, IP_CT_NEW);
  const later = 29 * SECOND + 30 * SECOND;
  const res = pass(t, makePacket({ proto: 'udp', src: CLIENT, sport: 5000, dst: POD, dport: 53 }), later);
  assert.equal(res.ctinfo, IP_CT_NEW);
  assert.equal(t.stats.expired, 1, 'the stale entry was reaped by the lookup');
  // The TCP SYN_SENT entry (120 s) is still counted until the gc worker or a lookup meets it.
  assert.equal(t.count, 2);
  assert.equal(t.expireAll(100 * SECOND), 1, 'the UDP entry (expired at 89 s)');
  assert.equal(t.count, 1);
  assert.equal(t.expireAll(121 * SECOND), 1, 'the SYN_SENT entry (expired at 120 s)');
  assert.equal(t.count, 0);
});
