/**
 * The node packet path against a real kernel (test/golden/conntrack/README.md, "node path"): kube-proxy's
 * rules restored in a network namespace that forwards between a pod veth (cni0) and the node network
 * (eth0). A pod and a host outside the cluster CIDR (masqueraded) each made one TCP connection to a
 * ClusterIP whose endpoint is on another host; the pod connected to a Service whose only endpoint is
 * itself (hairpin: masqueraded to the cni0 address); and the pod sent one UDP query to a UDP Service.
 * Every packet the kernel received is replayed through the simulated node, which must send out exactly
 * the packet the kernel sent (same interface, addresses, ports after DNAT / MASQUERADE / un-NAT), and
 * list the same conntrack entries.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { RandomStream } from '../engine/random.ts';
import { conntrackList } from '../conntrack/testing/list.ts';
import { parseIptablesSave } from '../netfilter/iptables-save.ts';
import { formatIPv4, parseCidr, parseIPv4 } from '../net/ipv4.ts';
import { makePacket } from '../net/packet.ts';
import type { Protocol } from '../net/protocol.ts';
import { Node } from './node.ts';

const GOLDEN = 'test/golden/conntrack';

interface Captured {
  t: number;
  iface: string;
  proto: Protocol;
  src: number;
  sport: number;
  dst: number;
  dport: number;
  flags: number;
  text: string;
}

function readCapture(): Captured[] {
  const out: Captured[] = [];
  for (const line of readFileSync(`${GOLDEN}/kernel-6.18-node-path-packets.txt`, 'utf8').split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^(\d+) (\S+) (tcp|udp) ([\d.]+):(\d+) > ([\d.]+):(\d+) (0x[0-9a-f]+|-)$/.exec(line);
    assert.ok(m, `capture line: ${line}`);
    out.push({
      t: Number(m[1]), iface: m[2]!, proto: m[3] as Protocol, src: parseIPv4(m[4]!), sport: Number(m[5]), dst: parseIPv4(m[6]!),
      dport: Number(m[7]), flags: m[8] === '-' ? 0 : Number(m[8]), text: line.slice(line.indexOf(' ') + 1),
    });
  }
  return out;
}

/** The namespace the capture script builds (capture-node-path.sh). */
function kernelNode(): Node {
  const { ruleset } = parseIptablesSave(readFileSync(`${GOLDEN}/kernel-6.18-node-path-rules.txt`, 'utf8'));
  return new Node({
    name: 'node',
    interfaces: [
      { name: 'cni0', addr: parseIPv4('10.0.1.1'), prefix: 24 },
      { name: 'eth0', addr: parseIPv4('192.168.0.2'), prefix: 24 },
    ],
    routes: [
      { dst: parseCidr('10.180.0.0/24'), dev: 'eth0', via: parseIPv4('192.168.0.3') },
      { dst: parseCidr('0.0.0.0/0'), dev: 'eth0', via: parseIPv4('192.168.0.1') },
    ],
    conntrack: { max: 262144 },
    ruleset,
    random: new RandomStream(1, 'node/netfilter'),
  });
}

const fmt = (iface: string, p: { proto: Protocol; src: number; sport: number; dst: number; dport: number; tcpFlags: number }) =>
  `${iface} ${p.proto} ${formatIPv4(p.src)}:${p.sport} > ${formatIPv4(p.dst)}:${p.dport} ${p.proto === 'tcp' ? `0x${p.tcpFlags.toString(16).padStart(4, '0')}` : '-'}`;

/** Packets the kernel received come from the pod (cni0) or from hosts of the node network (eth0), never from its own addresses. */
const OWN = new Set([parseIPv4('10.0.1.1'), parseIPv4('192.168.0.2')]);
const PEERS = new Set([parseIPv4('10.180.0.1'), parseIPv4('192.168.0.9')]);
function isIngress(c: Captured): boolean {
  return c.iface === 'cni0' ? c.src === parseIPv4('10.0.1.5') : !OWN.has(c.src) && !PEERS.has(c.dst);
}

function replay(node: Node, c: Captured) {
  const p = makePacket({ proto: c.proto, src: c.src, sport: c.sport, dst: c.dst, dport: c.dport, tcpFlags: c.flags });
  return { p, r: node.receive(p, c.iface, c.t) };
}

test('replaying a real kernel capture: every forwarded packet leaves translated as the kernel sent it', () => {
  const cap = readCapture();
  const node = kernelNode();
  const expected: string[] = [];
  const produced: string[] = [];
  let replayed = 0;
  for (const c of cap) {
    if (!isIngress(c)) {
      expected.push(c.text);
      continue;
    }
    const { p, r } = replay(node, c);
    assert.equal(r.delivery, 'forward', `${c.text}: ${r.dropReason}`);
    produced.push(fmt(r.outIface, p));
    replayed++;
  }
  assert.equal(replayed, 32);
  assert.deepEqual(produced, expected);
});

test('the conntrack listing after the replay is the kernel\'s (timeouts aside: wall time passed before the dump)', () => {
  const cap = readCapture();
  const node = kernelNode();
  for (const c of cap) if (isIngress(c)) replay(node, c);
  const last = cap[cap.length - 1]!.t;
  const norm = (text: string) => text.split('\n').filter(Boolean).map((l) => l.replace(/^(\S+ +\d+ )\d+ /, '$1T ')).sort();
  const kernel = readFileSync(`${GOLDEN}/kernel-6.18-node-path-conntrack.txt`, 'utf8');
  assert.deepEqual(norm(conntrackList(node.conntrack, last)), norm(kernel));
  // Each entry's remaining time is the kernel's plus one constant (the wall time between the last
  // packet and the kernel's dump), to the second: TIME_WAIT 120 s and UDP 30 s from each flow's last packet.
  const left = (text: string) => new Map(text.split('\n').filter(Boolean).map((l) => [l.replace(/^(\S+ +\d+ )\d+ /, '$1T '), Number(l.split(/ +/)[2])]));
  const sim = left(conntrackList(node.conntrack, last));
  const real = left(kernel);
  const offsets = [...sim].map(([k, v]) => v - real.get(k)!);
  assert.ok(Math.max(...offsets) - Math.min(...offsets) <= 1, `offsets ${offsets}`);
});
