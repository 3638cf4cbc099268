import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { writeFileAtomic } from '../../io/atomic-write.ts';
import { makePacket, TCP_ACK, TCP_FIN, TCP_PSH, TCP_SYN, type Packet } from '../../net/packet.ts';
import { parseIPv4 } from '../../net/ipv4.ts';
import { SECOND, MS } from '../../engine/time.ts';
import { ConntrackTable } from '../table.ts';
import { CtLookup } from '../common.ts';
import { conntrackList, conntrackListSummary, conntrackStats, formatConntrackEntry } from './list.ts';
import { kubeProxyTimeouts } from '../timeouts.ts';

const GOLDEN = 'test/golden/conntrack';
const ip = (s: string) => parseIPv4(s);

interface Nat { dnat?: [number, number]; snat?: number }

/** Tracks one packet as a node would: NAT only on a new entry, then confirm. */
function send(t: ConntrackTable, p: Packet, now: number, nat: Nat = {}): void {
  const out = new CtLookup();
  assert.ok(t.track(p, now, out));
  if (out.entry < 0) return;
  if (!t.isConfirmed(out.entry)) {
    if (nat.dnat) t.setDnat(out.entry, nat.dnat[0], nat.dnat[1]);
    if (nat.snat !== undefined) assert.ok(t.setSnat(out.entry, nat.snat, now));
    assert.ok(t.confirm(out.entry, now));
  }
}

function tcpConversation(t: ConntrackTable, client: number, sport: number, vip: number, vport: number, backend: number, bport: number, start: number, nat: Nat, close: boolean, data: boolean): number {
  const o = (f: number) => makePacket({ proto: 'tcp', src: client, sport, dst: vip, dport: vport, tcpFlags: f });
  // Replies as they leave the backend, before un-NAT: from the backend to the (SNATed) client.
  const c = nat.snat ?? client;
  const r = (f: number) => makePacket({ proto: 'tcp', src: backend, sport: bport, dst: c, dport: sport, tcpFlags: f });
  let now = start;
  const seq: Packet[] = [o(TCP_SYN), r(TCP_SYN | TCP_ACK), o(TCP_ACK)];
  if (data) seq.push(o(TCP_PSH | TCP_ACK), r(TCP_ACK), r(TCP_PSH | TCP_ACK), o(TCP_ACK));
  if (close) seq.push(o(TCP_FIN | TCP_ACK), r(TCP_FIN | TCP_ACK), o(TCP_ACK));
  for (const p of seq) {
    send(t, p, now, nat);
    now += 100_000;
  }
  return now;
}

test('replaying the packets of a real kernel capture prints the same conntrack -L lines', () => {
  // See test/golden/conntrack/README.md for how the capture was taken.
  const t = new ConntrackTable({ max: 262144 });
  const host = ip('10.0.0.1');
  const vip = ip('10.96.0.10');
  const nat: Nat = { dnat: [host, 8080], snat: host };
  let now = tcpConversation(t, host, 51796, vip, 80, host, 8080, 0, nat, true, true);
  now = tcpConversation(t, host, 51808, vip, 80, host, 8080, now, nat, true, false);
  send(t, makePacket({ proto: 'udp', src: host, sport: 34701, dst: host, dport: 53 }), now, { snat: host });
  const listed = conntrackList(t, now + 200 * MS).trimEnd().split('\n').sort();
  const kernel = readFileSync(`${GOLDEN}/kernel-6.18-loopback.txt`, 'utf8').trimEnd().split('\n').sort();
  assert.deepEqual(listed, kernel);
  assert.equal(conntrackListSummary(3), 'conntrack v1.4.7 (conntrack-tools): 3 flow entries have been shown.\n');
});

test('conntrack -L of a mix of entries matches the golden file', () => {
  const t = new ConntrackTable({ max: 1000, buckets: 16, timeouts: kubeProxyTimeouts() });
  const client = ip('10.244.1.5');
  const node = ip('192.168.1.10');
  // ClusterIP TCP, DNAT to a remote pod, established.
  tcpConversation(t, client, 40000, ip('10.96.0.1'), 443, ip('192.168.1.2'), 6443, 0, { dnat: [ip('192.168.1.2'), 6443] }, false, true);
  // NodePort from outside: DNAT + MASQUERADE (SNAT to the node IP), closed (TIME_WAIT).
  tcpConversation(t, ip('172.16.0.9'), 51000, node, 30080, ip('10.244.2.7'), 8080, 0, { dnat: [ip('10.244.2.7'), 8080], snat: node }, true, true);
  // A SYN nobody answered.
  send(t, makePacket({ proto: 'tcp', src: client, sport: 40001, dst: ip('10.96.5.5'), dport: 80, tcpFlags: TCP_SYN }), 0, { dnat: [ip('10.244.9.9'), 80] });
  // DNS: one answered query, one unanswered, one long-lived assured stream.
  const dns = ip('10.96.0.10');
  const coredns = ip('10.244.0.3');
  send(t, makePacket({ proto: 'udp', src: client, sport: 33000, dst: dns, dport: 53 }), 0, { dnat: [coredns, 53] });
  send(t, makePacket({ proto: 'udp', src: coredns, sport: 53, dst: client, dport: 33000 }), MS);
  send(t, makePacket({ proto: 'udp', src: client, sport: 33001, dst: dns, dport: 53 }), 0, { dnat: [coredns, 53] });
  send(t, makePacket({ proto: 'udp', src: client, sport: 33002, dst: dns, dport: 53 }), 0, { dnat: [coredns, 53] });
  send(t, makePacket({ proto: 'udp', src: coredns, sport: 53, dst: client, dport: 33002 }), MS);
  send(t, makePacket({ proto: 'udp', src: client, sport: 33002, dst: dns, dport: 53 }), 3 * SECOND);
  // A ping.
  send(t, makePacket({ proto: 'icmp', src: client, dst: ip('10.244.2.7'), sport: 7, dport: 7 }), 0);

  const text = conntrackList(t, 5 * SECOND);
  const file = `${GOLDEN}/list.txt`;
  if (process.env.UPDATE_GOLDEN || !existsSync(file)) writeFileAtomic(file, text);
  assert.equal(text, readFileSync(file, 'utf8'));
  assert.equal(text.split('\n').length - 1, 7);
});

test('the timeout column truncates to whole seconds and never goes negative', () => {
  const t = new ConntrackTable({ max: 10 });
  send(t, makePacket({ proto: 'udp', src: 1, sport: 1, dst: 2, dport: 2 }), 0);
  const e = [...t.entries(0)][0]!;
  assert.match(formatConntrackEntry(t.entry(e), 0), /^udp      17 30 src=0\.0\.0\.1 dst=0\.0\.0\.2 sport=1 dport=2 \[UNREPLIED\] src=0\.0\.0\.2 dst=0\.0\.0\.1 sport=2 dport=1 mark=0 use=1$/);
  assert.match(formatConntrackEntry(t.entry(e), 0.5 * SECOND), / 29 /);
  assert.match(formatConntrackEntry(t.entry(e), 31 * SECOND), / 0 /);
});

test('conntrack -S prints the kernel-format statistics line, counting drops, early drops and invalid packets', () => {
  const t = new ConntrackTable({ max: 1, buckets: 1 });
  // Byte for byte what conntrack-tools 1.4.7 printed for cpu 0 of an idle 6.18 namespace.
  assert.equal(conntrackStats(t), 'cpu=0   \tfound=0 invalid=0 insert=0 insert_failed=0 drop=0 early_drop=0 error=0 search_restart=0 clash_resolve=0 chaintoolong=0 \n');
  const out = new CtLookup();
  const syn = (sport: number) => makePacket({ proto: 'tcp', src: ip('10.0.0.1'), sport, dst: ip('10.0.0.2'), dport: 80, tcpFlags: TCP_SYN });
  assert.ok(t.track(syn(1), 0, out) && t.confirm(out.entry, 0));
  assert.ok(t.track(syn(2), 0, out) && t.confirm(out.entry, 0)); // evicts the unreplied first entry
  assert.ok(t.track(makePacket({ proto: 'tcp', src: ip('10.0.0.1'), sport: 3, dst: ip('10.0.0.2'), dport: 80, tcpFlags: TCP_FIN }), 0, out));
  assert.match(conntrackStats(t), /\tfound=0 invalid=1 insert=0 insert_failed=0 drop=0 early_drop=\d+ /);
  assert.ok(t.stats.earlyDrop >= 1);
});
