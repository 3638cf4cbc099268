/** NAT bindings (nat.ts): DNAT and SNAT recorded in the reply tuple and applied to later packets. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TCP_ACK, TCP_SYN } from '../net/packet.ts';
import { parseIPv4 } from '../net/ipv4.ts';
import { RandomStreams } from '../engine/random.ts';
import { ConntrackTable } from './table.ts';
import { CtLookup, IP_CT_ESTABLISHED, IP_CT_ESTABLISHED_REPLY, IP_CT_NEW, IPS_SEEN_REPLY, IPS_DST_NAT, IPS_SRC_NAT } from './common.ts';
import { tcp } from './testing/pass.ts';

const ip = (s: string) => parseIPv4(s);
const CLIENT = ip('10.244.1.5');
const VIP = ip('10.96.0.10');
const POD = ip('10.244.2.7');

test('DNAT binding: later packets are translated from the entry and replies are un-NATed', () => {
  const t = new ConntrackTable({ max: 10 });
  const out = new CtLookup();
  const syn = tcp(CLIENT, 40000, VIP, 80, TCP_SYN);
  t.track(syn, 0, out);
  assert.equal(out.ctinfo, IP_CT_NEW);
  t.setDnat(out.entry, POD, 8080); // what the nat table's DNAT target decided
  assert.ok(t.natDst(out.entry, out.dir, syn));
  assert.equal(syn.dst, POD);
  assert.equal(syn.dport, 8080);
  assert.ok(t.confirm(out.entry, 0));
  assert.ok(t.status(out.entry) & IPS_DST_NAT);

  const synack = tcp(POD, 8080, CLIENT, 40000, TCP_SYN | TCP_ACK);
  t.track(synack, 1, out);
  assert.equal(out.ctinfo, IP_CT_ESTABLISHED_REPLY);
  t.natSrc(out.entry, out.dir, synack);
  assert.equal(synack.src, VIP, 'reply source un-DNATed to the Service IP');
  assert.equal(synack.sport, 80);

  const ack = tcp(CLIENT, 40000, VIP, 80, TCP_ACK);
  t.track(ack, 2, out);
  assert.equal(out.ctinfo, IP_CT_ESTABLISHED);
  t.natDst(out.entry, out.dir, ack);
  assert.equal(ack.dst, POD, 'later packets follow the binding without the nat table');
  assert.ok(t.status(out.entry) & IPS_SEEN_REPLY);
});

test('SNAT keeps the source port when free and picks another when the reply tuple is taken', () => {
  const t = new ConntrackTable({ max: 10 });
  const node = ip('192.168.0.1');
  const out = new CtLookup();
  const a = tcp(ip('10.244.1.5'), 40000, POD, 80, TCP_SYN);
  t.track(a, 0, out);
  assert.ok(t.setSnat(out.entry, node, 0));
  t.natSrc(out.entry, out.dir, a);
  assert.equal(a.src, node);
  assert.equal(a.sport, 40000);
  assert.ok(t.confirm(out.entry, 0));
  assert.ok(t.status(out.entry) & IPS_SRC_NAT);

  const b = tcp(ip('10.244.1.6'), 40000, POD, 80, TCP_SYN);
  t.track(b, 0, out);
  assert.ok(t.setSnat(out.entry, node, 0, new RandomStreams(1).get('snat')));
  t.natSrc(out.entry, out.dir, b);
  assert.equal(b.src, node);
  assert.notEqual(b.sport, 40000);
  assert.ok(b.sport >= 1024 && b.sport <= 65535);
  assert.ok(t.confirm(out.entry, 0));

  // The reply to the second connection finds it through its reply tuple and is un-SNATed.
  const reply = tcp(POD, 80, node, b.sport, TCP_SYN | TCP_ACK);
  t.track(reply, 1, out);
  t.natDst(out.entry, out.dir, reply);
  assert.equal(reply.dst, ip('10.244.1.6'));
  assert.equal(reply.dport, 40000);
});
