/** The protocol trackers (proto.ts): TCP states and timeouts, RST and reopen, INVALID segments, UDP streams. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makePacket, TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, type Packet } from '../net/packet.ts';
import { parseIPv4 } from '../net/ipv4.ts';
import { SECOND } from '../engine/time.ts';
import { ConntrackTable } from './table.ts';
import { CT_INVALID, IP_CT_ESTABLISHED, IP_CT_ESTABLISHED_REPLY, IP_CT_NEW, IPS_ASSURED, IPS_SEEN_REPLY } from './common.ts';
import { KERNEL_TIMEOUTS } from './timeouts.ts';
import { pass, stateOf, tcp } from './testing/pass.ts';

const ip = (s: string) => parseIPv4(s);
const CLIENT = ip('10.244.1.5');
const POD = ip('10.244.2.7');

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
