import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { makePacket, TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, type Packet } from '../net/packet.ts';
import { parseIPv4 } from '../net/ipv4.ts';
import { SECOND, HOUR } from '../engine/time.ts';
import { RandomStreams } from '../engine/random.ts';
import { ConntrackTable } from './table.ts';
import {
  CtLookup, CT_INVALID, DROP_TABLE_FULL, IP_CT_ESTABLISHED, IP_CT_ESTABLISHED_REPLY, IP_CT_NEW,
  IPS_ASSURED, IPS_SEEN_REPLY, IPS_DST_NAT, IPS_SRC_NAT,
} from './common.ts';
import { KERNEL_TIMEOUTS, kubeProxyTimeouts, kubeProxyConntrackMax, kubeProxyHashsize } from './timeouts.ts';

const ip = (s: string) => parseIPv4(s);
const CLIENT = ip('10.244.1.5');
const VIP = ip('10.96.0.10');
const POD = ip('10.244.2.7');

function tcp(src: number, sport: number, dst: number, dport: number, flags: number): Packet {
  return makePacket({ proto: 'tcp', src, sport, dst, dport, tcpFlags: flags });
}

/** Tracks and confirms one packet, as a node does at PREROUTING and POSTROUTING. */
function pass(t: ConntrackTable, p: Packet, now: number, out = new CtLookup()): CtLookup {
  const ok = t.track(p, now, out);
  if (ok && out.entry >= 0) assert.ok(t.confirm(out.entry, now), 'confirm');
  return out;
}

function stateOf(t: ConntrackTable, p: Packet, now: number): string | undefined {
  return t.get({ proto: p.proto, src: p.src, sport: p.sport, dst: p.dst, dport: p.dport }, now)?.state;
}

test('TCP handshake and close walk the kernel states with their timeouts; ASSURED after the third ACK', () => {
  const t = new ConntrackTable({ max: 1000 });
  const o = (f: number) => tcp(CLIENT, 40000, POD, 80, f);
  const r = (f: number) => tcp(POD, 80, CLIENT, 40000, f);
  let now = 0;
  const steps: [Packet, string, number, number][] = [
    [o(TCP_SYN), 'SYN_SENT', KERNEL_TIMEOUTS.tcp.synSent, IP_CT_NEW],
    [r(TCP_SYN | TCP_ACK), 'SYN_RECV', KERNEL_TIMEOUTS.tcp.synRecv, IP_CT_ESTABLISHED_REPLY],
    [o(TCP_ACK), 'ESTABLISHED', KERNEL_TIMEOUTS.tcp.established, IP_CT_ESTABLISHED],
    [o(TCP_FIN | TCP_ACK), 'FIN_WAIT', KERNEL_TIMEOUTS.tcp.finWait, IP_CT_ESTABLISHED],
    [r(TCP_ACK), 'CLOSE_WAIT', KERNEL_TIMEOUTS.tcp.closeWait, IP_CT_ESTABLISHED_REPLY],
    [r(TCP_FIN | TCP_ACK), 'LAST_ACK', KERNEL_TIMEOUTS.tcp.lastAck, IP_CT_ESTABLISHED_REPLY],
    [o(TCP_ACK), 'TIME_WAIT', KERNEL_TIMEOUTS.tcp.timeWait, IP_CT_ESTABLISHED],
  ];
  for (const [p, state, timeout, ctinfo] of steps) {
    now += 1000;
    const res = pass(t, p, now);
    assert.equal(res.ctinfo, ctinfo, state);
    assert.equal(stateOf(t, p, now), state);
    assert.equal(t.expires(res.entry), now + timeout, `${state} timeout`);
    if (state === 'SYN_RECV') assert.equal(t.status(res.entry) & IPS_ASSURED, 0);
    if (state === 'ESTABLISHED') assert.ok(t.status(res.entry) & IPS_ASSURED);
  }
  assert.equal(t.count, 1);
  assert.equal(t.stats.insert, 1);
});

test('kube-proxy timeouts: established 86400 s, close_wait 3600 s; nf_conntrack_max and hashsize', () => {
  const k = kubeProxyTimeouts();
  assert.equal(k.tcp.established, 86400 * SECOND);
  assert.equal(k.tcp.closeWait, 1 * HOUR);
  assert.equal(k.tcp.timeWait, KERNEL_TIMEOUTS.tcp.timeWait);
  assert.equal(k.udp.unreplied, 30 * SECOND);
  assert.equal(kubeProxyConntrackMax(2), 131072);
  assert.equal(kubeProxyConntrackMax(8), 262144);
  assert.equal(kubeProxyHashsize(262144), 65536);
  const t = new ConntrackTable({ max: 10, timeouts: k });
  pass(t, tcp(CLIENT, 1, POD, 80, TCP_SYN), 0);
  pass(t, tcp(POD, 80, CLIENT, 1, TCP_SYN | TCP_ACK), 0);
  const res = pass(t, tcp(CLIENT, 1, POD, 80, TCP_ACK), 5);
  assert.equal(t.expires(res.entry), 5 + 86400 * SECOND);
});

test('an RST answering an unreplied SYN deletes the entry at once (connection refused)', () => {
  const t = new ConntrackTable({ max: 10 });
  pass(t, tcp(CLIENT, 40000, POD, 80, TCP_SYN), 0);
  assert.equal(t.count, 1);
  const res = pass(t, tcp(POD, 80, CLIENT, 40000, TCP_RST | TCP_ACK), 10);
  assert.equal(res.entry, -1);
  assert.equal(t.count, 0);
  assert.equal(stateOf(t, tcp(CLIENT, 40000, POD, 80, 0), 10), undefined);
});

test('a SYN on a TIME_WAIT entry reopens the connection with a fresh entry', () => {
  const t = new ConntrackTable({ max: 10 });
  const o = (f: number) => tcp(CLIENT, 40000, POD, 80, f);
  const r = (f: number) => tcp(POD, 80, CLIENT, 40000, f);
  for (const p of [o(TCP_SYN), r(TCP_SYN | TCP_ACK), o(TCP_ACK), o(TCP_FIN | TCP_ACK), r(TCP_FIN | TCP_ACK), o(TCP_ACK)]) pass(t, p, 0);
  assert.equal(stateOf(t, o(0), 0), 'TIME_WAIT');
  const res = pass(t, o(TCP_SYN), SECOND);
  assert.equal(res.ctinfo, IP_CT_NEW);
  assert.equal(stateOf(t, o(0), SECOND), 'SYN_SENT');
  assert.equal(t.status(res.entry) & IPS_ASSURED, 0);
  assert.equal(t.count, 1);
});

test('segments that cannot start a connection get no entry and are INVALID; a mid-stream ACK is picked up', () => {
  const t = new ConntrackTable({ max: 10 });
  for (const f of [TCP_FIN | TCP_ACK, TCP_RST, TCP_SYN | TCP_ACK, 0]) {
    const res = pass(t, tcp(CLIENT, 1, POD, 80, f), 0);
    assert.equal(res.ctinfo, CT_INVALID);
    assert.equal(res.entry, -1);
  }
  assert.equal(t.count, 0);
  assert.equal(t.stats.invalid, 4);
  pass(t, tcp(CLIENT, 2, POD, 80, TCP_ACK), 0);
  assert.equal(stateOf(t, tcp(CLIENT, 2, POD, 80, 0), 0), 'ESTABLISHED');
  const strict = new ConntrackTable({ max: 10, tcpLoose: false });
  assert.equal(pass(strict, tcp(CLIENT, 2, POD, 80, TCP_ACK), 0).ctinfo, CT_INVALID);
});

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

test('table full: early drop evicts non-assured entries from the bucket region, else the new packet is dropped', () => {
  // One bucket: the 8-bucket eviction range covers the whole table.
  const t = new ConntrackTable({ max: 4, buckets: 1 });
  for (let i = 0; i < 4; i++) pass(t, tcp(CLIENT, 1000 + i, POD, 80, TCP_SYN), 0);
  assert.equal(t.count, 4);
  const res = pass(t, tcp(CLIENT, 2000, POD, 80, TCP_SYN), 1);
  assert.ok(res.entry >= 0, 'the new connection got a slot');
  assert.equal(t.stats.earlyDrop, 4, 'every non-assured entry of the bucket is dropped');
  assert.equal(t.count, 1);

  // Now fill with assured connections: nothing can be evicted, the new packet is dropped.
  const full = new ConntrackTable({ max: 3, buckets: 1 });
  for (let i = 0; i < 3; i++) {
    pass(full, tcp(CLIENT, 1000 + i, POD, 80, TCP_SYN), 0);
    pass(full, tcp(POD, 80, CLIENT, 1000 + i, TCP_SYN | TCP_ACK), 0);
    pass(full, tcp(CLIENT, 1000 + i, POD, 80, TCP_ACK), 0);
  }
  const out = new CtLookup();
  assert.equal(full.track(tcp(CLIENT, 3000, POD, 80, TCP_SYN), 1, out), false);
  assert.equal(out.dropReason, DROP_TABLE_FULL);
  assert.equal(full.stats.drop, 1);
  assert.equal(full.count, 3);
  assert.ok(full.earlyDropPressure);
  // Packets of existing connections still pass.
  assert.ok(full.track(tcp(CLIENT, 1000, POD, 80, TCP_ACK), 1, out));
  assert.equal(out.ctinfo, IP_CT_ESTABLISHED);
});

test('early drop only looks at 8 buckets from the new tuple\'s bucket', () => {
  const t = new ConntrackTable({ max: 200, buckets: 64 });
  // Fill with assured entries, then make one non-assured entry far from where the new tuple lands.
  let port = 1;
  while (t.count < 200) {
    pass(t, tcp(CLIENT, port, POD, 80, TCP_SYN), 0);
    pass(t, tcp(POD, 80, CLIENT, port, TCP_SYN | TCP_ACK), 0);
    pass(t, tcp(CLIENT, port, POD, 80, TCP_ACK), 0);
    port++;
  }
  // Pick a victim and a new tuple whose home buckets are more than 8 apart (all buckets of a node).
  const bucketOf = (sport: number, dport: number, src: number, dst: number) =>
    t.bucketOf(t.hash(6, src, sport, dst, dport));
  const victim = 5;
  const vb = [bucketOf(victim, 80, CLIENT, POD), bucketOf(80, victim, POD, CLIENT)];
  // Turn the victim non-assured: delete and recreate it as a bare SYN.
  t.deleteMatching({ proto: 'tcp', origSport: victim }, 0);
  pass(t, tcp(CLIENT, victim, POD, 80, TCP_SYN), 0);
  const near = (b: number) => vb.some((v) => ((v - b + 64) % 64) < 8);
  let far = 50000;
  while (near(bucketOf(far, 80, CLIENT, POD))) far++;
  const out = new CtLookup();
  assert.equal(t.track(tcp(CLIENT, far, POD, 80, TCP_SYN), 0, out), false, 'victim is outside the range');
  let close = 50000;
  while (!near(bucketOf(close, 80, CLIENT, POD)) || ![0, 1, 2, 3, 4, 5, 6, 7].some((i) => vb.includes((bucketOf(close, 80, CLIENT, POD) + i) % 64))) close++;
  assert.ok(t.track(tcp(CLIENT, close, POD, 80, TCP_SYN), 0, out), 'victim is in range');
  assert.equal(t.stats.earlyDrop, 1);
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

test('UDP: unreplied 30 s, replied within 2 s stays 30 s and unassured, a later packet makes it an assured stream (120 s)', () => {
  const t = new ConntrackTable({ max: 10 });
  const q = () => makePacket({ proto: 'udp', src: CLIENT, sport: 5000, dst: POD, dport: 53 });
  const a = () => makePacket({ proto: 'udp', src: POD, sport: 53, dst: CLIENT, dport: 5000 });
  let res = pass(t, q(), 0);
  assert.equal(t.expires(res.entry), 30 * SECOND);
  assert.equal(t.status(res.entry) & IPS_SEEN_REPLY, 0);
  res = pass(t, a(), SECOND);
  assert.ok(t.status(res.entry) & IPS_SEEN_REPLY);
  assert.equal(t.status(res.entry) & IPS_ASSURED, 0);
  assert.equal(t.expires(res.entry), 31 * SECOND);
  res = pass(t, q(), 1.5 * SECOND);
  assert.equal(t.status(res.entry) & IPS_ASSURED, 0, 'still within 2 s of creation');
  res = pass(t, q(), 3 * SECOND);
  assert.ok(t.status(res.entry) & IPS_ASSURED);
  assert.equal(t.expires(res.entry), 3 * SECOND + 120 * SECOND);
});

test('deleting by original destination and by reply source (kube-proxy stale UDP cleanup)', () => {
  const t = new ConntrackTable({ max: 100 });
  const out = new CtLookup();
  const dns = ip('10.96.0.10');
  const ep1 = ip('10.244.3.3');
  const ep2 = ip('10.244.4.4');
  for (let i = 0; i < 6; i++) {
    t.track(makePacket({ proto: 'udp', src: CLIENT, sport: 6000 + i, dst: dns, dport: 53 }), 0, out);
    t.setDnat(out.entry, i % 2 ? ep1 : ep2, 53);
    t.confirm(out.entry, 0);
  }
  pass(t, tcp(CLIENT, 1, dns, 53, TCP_SYN), 0);
  assert.equal(t.deleteByReplySrc('udp', ep1, dns), 3);
  assert.equal(t.count, 4);
  assert.equal(t.deleteByOriginalDst('udp', dns, 53), 3);
  assert.equal(t.count, 1, 'the TCP entry stays');
  assert.equal(t.deleteWhere((c) => c.proto === 'tcp', 0), 1);
  assert.equal(t.count, 0);
});

test('property: the table agrees with a Map model under random inserts, deletes and time', () => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ op: fc.constantFrom('add', 'add', 'del', 'look'), port: fc.integer({ min: 1, max: 40 }), dt: fc.integer({ min: 0, max: 20 }) }), { maxLength: 200 }),
      (ops) => {
        const t = new ConntrackTable({ max: 0, buckets: 4 });
        const model = new Map<number, number>(); // port -> expiry
        let now = 0;
        for (const { op, port, dt } of ops) {
          now += dt * SECOND;
          for (const [k, exp] of model) if (exp <= now) model.delete(k);
          const p = makePacket({ proto: 'udp', src: CLIENT, sport: port, dst: POD, dport: 53 });
          if (op === 'add') {
            pass(t, p, now);
            model.set(port, now + 30 * SECOND);
          } else if (op === 'del') {
            t.deleteMatching({ proto: 'udp', origSport: port }, now);
            model.delete(port);
          } else {
            assert.equal(t.get({ proto: 'udp', src: CLIENT, sport: port, dst: POD, dport: 53 }, now) !== undefined, model.has(port));
          }
        }
        t.expireAll(now);
        assert.equal(t.count, model.size);
        assert.deepEqual([...t.entries(now)].map((e) => t.entry(e).original.sport).sort((a, b) => a - b), [...model.keys()].sort((a, b) => a - b));
      },
    ),
    { numRuns: 200 },
  );
});
