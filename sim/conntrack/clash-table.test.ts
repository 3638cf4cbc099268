/** The race applied to a table's entries (clash-table.ts): two packets of one flow tracked before either is confirmed. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makePacket } from '../net/packet.ts';
import { parseIPv4 } from '../net/ipv4.ts';
import { SECOND } from '../engine/time.ts';
import { ConntrackTable } from './table.ts';
import { CtLookup, IP_CT_DIR_REPLY, IP_CT_ESTABLISHED_REPLY, IPS_ASSURED, IPS_NAT_CLASH } from './common.ts';
import { clashRules, parseKernelVersion } from './kernel-version.ts';

const ip = (s: string) => parseIPv4(s);
const CLIENT = ip('10.244.1.5');
const DNS_VIP = ip('10.96.0.10');
const DNS_A = ip('10.244.2.7');
const DNS_B = ip('10.244.3.8');
const query = () => makePacket({ proto: 'udp', src: CLIENT, sport: 40000, dst: DNS_VIP, dport: 53 });

function rules(text: string) {
  const r = parseKernelVersion(text);
  if (!r.ok) throw new Error(r.message);
  return clashRules(r.version);
}

/** Both packets get an unconfirmed entry and their own DNAT before the first is confirmed. */
function race(t: ConntrackTable, first: number, second: number): [number, number] {
  const out = new CtLookup();
  t.track(query(), 0, out);
  const e1 = out.entry;
  t.track(query(), 0, out);
  const e2 = out.entry;
  assert.notEqual(e1, e2, 'the second lookup must miss the unconfirmed first entry');
  t.setDnat(e1, first, 53);
  t.setDnat(e2, second, 53);
  assert.equal(t.confirm(e1, 0), true);
  return [e1, e2];
}

test('identical tuples: the loser adopts the winner from 4.19, is dropped on 4.14', () => {
  const t = new ConntrackTable({ max: 10 });
  const [e1, e2] = race(t, DNS_A, DNS_A);
  const r = t.confirmRacing(e2, 0, rules('4.19'));
  assert.equal(r.result.outcome, 'resolved (adopts winner)');
  assert.equal(r.entry, e1);
  assert.equal(t.count, 1);
  assert.deepEqual([t.stats.insertFailed, t.stats.drop, t.stats.clashResolve], [1, 0, 0]);

  const old = new ConntrackTable({ max: 10 });
  const [, l2] = race(old, DNS_A, DNS_A);
  assert.deepEqual(old.confirmRacing(l2, 0, rules('4.14')), { result: { outcome: 'dropped', counters: { insertFailed: 1, drop: 1, clashResolve: 0 } }, entry: -1 });
  assert.equal(old.count, 1);
});

test('different targets on 6.1: a reply-only clash entry for 1 s, hidden from conntrack -L, un-NATing its target\'s reply', () => {
  const t = new ConntrackTable({ max: 10 });
  const [e1, e2] = race(t, DNS_A, DNS_B);
  const r = t.confirmRacing(e2, 0, rules('6.1'));
  assert.equal(r.result.outcome, 'clash entry inserted');
  assert.equal(r.entry, e2);
  assert.deepEqual([t.stats.insertFailed, t.stats.drop, t.stats.clashResolve], [0, 0, 1]);
  // It holds a slot, but the dump lists only the winner.
  assert.equal(t.count, 2);
  assert.deepEqual([...t.entries(0)], [e1]);
  // The original direction still finds the winner; DNS_B's reply finds the clash entry.
  const out = new CtLookup();
  t.track(query(), 1, out);
  assert.equal(out.entry, e1);
  const reply = makePacket({ proto: 'udp', src: DNS_B, sport: 53, dst: CLIENT, dport: 40000 });
  t.track(reply, 2, out);
  assert.deepEqual([out.entry, out.dir, out.ctinfo], [e2, IP_CT_DIR_REPLY, IP_CT_ESTABLISHED_REPLY]);
  t.natSrc(out.entry, out.dir, reply);
  assert.deepEqual([reply.src, reply.sport], [DNS_VIP, 53]);
  // Its fixed timeout is not refreshed by the reply, nor does it become ASSURED; after 1 s it is gone.
  assert.equal(t.expires(e2), SECOND);
  t.track(makePacket({ proto: 'udp', src: DNS_B, sport: 53, dst: CLIENT, dport: 40000 }), 3 * SECOND / 4, out);
  assert.equal(t.expires(e2), SECOND);
  assert.equal(t.status(e2) & IPS_ASSURED, 0);
  assert.notEqual(t.status(e2) & IPS_NAT_CLASH, 0);
  assert.equal(t.expireAll(SECOND), 1);
  assert.equal(t.count, 1);
  assert.equal(t.get({ proto: 'udp', src: DNS_B, sport: 53, dst: CLIENT, dport: 40000 }, SECOND), undefined);
});

test('different targets before 5.6 are dropped: insert_failed and drop', () => {
  const t = new ConntrackTable({ max: 10 });
  const [, e2] = race(t, DNS_A, DNS_B);
  assert.equal(t.confirmRacing(e2, 0, rules('5.4')).result.outcome, 'dropped');
  assert.deepEqual([t.stats.insertFailed, t.stats.drop, t.stats.clashResolve, t.count], [1, 1, 0, 1]);
});

test('a clash entry needs a unique reply tuple: when another entry holds it, the packet is dropped', () => {
  const t = new ConntrackTable({ max: 10 });
  const out = new CtLookup();
  // An unrelated flow from DNS_B:53 to the client's port already holds the loser's reply tuple.
  t.track(makePacket({ proto: 'udp', src: DNS_B, sport: 53, dst: CLIENT, dport: 40000 }), 0, out);
  t.confirm(out.entry, 0);
  const [, e2] = race(t, DNS_A, DNS_B);
  assert.equal(t.confirmRacing(e2, 0, rules('6.1')).result.outcome, 'dropped');
  assert.deepEqual([t.stats.insertFailed, t.stats.drop, t.stats.clashResolve, t.count], [1, 1, 0, 2]);
});

test('no race: an entry whose tuples nobody holds is inserted as confirm does', () => {
  const t = new ConntrackTable({ max: 10 });
  const out = new CtLookup();
  t.track(query(), 0, out);
  t.setDnat(out.entry, DNS_A, 53);
  const r = t.confirmRacing(out.entry, 0, rules('6.1'));
  assert.equal(r.result.outcome, 'no race');
  assert.equal(r.entry, out.entry);
  assert.equal(t.isConfirmed(out.entry), true);
  assert.deepEqual([t.stats.insertFailed, t.stats.drop, t.stats.clashResolve], [0, 0, 0]);
});
