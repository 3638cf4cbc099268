/**
 * The node packet path against a real kernel (test/golden/conntrack/README.md, "node path"): kube-proxy's
 * rules restored in a network namespace that forwards between a pod veth (cni0) and the node network
 * (eth0); a pod and a host outside the cluster CIDR each made one TCP connection to the ClusterIP.
 * Every packet the kernel received is replayed through the simulated node, which must send out exactly
 * the packet the kernel sent (same interface, addresses, ports after DNAT / MASQUERADE / un-NAT), and
 * list the same conntrack entries.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { RandomStream } from '../engine/random.ts';
import { conntrackList } from '../conntrack/list.ts';
import { parseIptablesSave } from '../netfilter/iptables-save.ts';
import { formatIPv4, parseCidr, parseIPv4 } from './ipv4.ts';
import { makePacket } from './packet.ts';
import { Node } from './node.ts';

const GOLDEN = 'test/golden/conntrack';

interface Captured {
  t: number;
  iface: string;
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
    const m = /^(\d+) (\S+) ([\d.]+):(\d+) > ([\d.]+):(\d+) (0x[0-9a-f]+)$/.exec(line);
    assert.ok(m, `capture line: ${line}`);
    out.push({
      t: Number(m[1]), iface: m[2]!, src: parseIPv4(m[3]!), sport: Number(m[4]), dst: parseIPv4(m[5]!), dport: Number(m[6]),
      flags: Number(m[7]), text: `${m[2]} ${m[3]}:${m[4]} > ${m[5]}:${m[6]} ${m[7]}`,
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

const fmt = (iface: string, p: { src: number; sport: number; dst: number; dport: number; tcpFlags: number }) =>
  `${iface} ${formatIPv4(p.src)}:${p.sport} > ${formatIPv4(p.dst)}:${p.dport} 0x${p.tcpFlags.toString(16).padStart(4, '0')}`;

test('replaying a real kernel capture: every forwarded packet leaves translated as the kernel sent it', () => {
  const cap = readCapture();
  const node = kernelNode();
  // Packets the kernel received come from the pod (cni0) or from the node network's hosts (eth0),
  // never from the node's own addresses; each is followed in the capture by the packet it became.
  const own = new Set([parseIPv4('10.0.1.1'), parseIPv4('192.168.0.2')]);
  const isIngress = (c: Captured) => (c.iface === 'cni0' ? c.src === parseIPv4('10.0.1.5') : !own.has(c.src) && c.dst !== parseIPv4('10.180.0.1') && c.dst !== parseIPv4('192.168.0.9'));
  const expected: string[] = [];
  const produced: string[] = [];
  let replayed = 0;
  for (const c of cap) {
    if (!isIngress(c)) {
      expected.push(c.text);
      continue;
    }
    const p = makePacket({ proto: 'tcp', src: c.src, sport: c.sport, dst: c.dst, dport: c.dport, tcpFlags: c.flags });
    const r = node.receive(p, c.iface, c.t);
    assert.equal(r.delivery, 'forward', `${c.text}: ${r.dropReason}`);
    produced.push(fmt(r.outIface, p));
    replayed++;
  }
  assert.equal(replayed, 20);
  assert.deepEqual(produced, expected);
});

test('the conntrack listing after the replay is the kernel\'s (timeouts aside: wall time passed before the dump)', () => {
  const cap = readCapture();
  const node = kernelNode();
  const own = new Set([parseIPv4('10.0.1.1'), parseIPv4('192.168.0.2')]);
  for (const c of cap) {
    const ingress = c.iface === 'cni0' ? c.src === parseIPv4('10.0.1.5') : !own.has(c.src) && c.dst !== parseIPv4('10.180.0.1') && c.dst !== parseIPv4('192.168.0.9');
    if (ingress) node.receive(makePacket({ proto: 'tcp', src: c.src, sport: c.sport, dst: c.dst, dport: c.dport, tcpFlags: c.flags }), c.iface, c.t);
  }
  const last = cap[cap.length - 1]!.t;
  const norm = (text: string) => text.split('\n').filter(Boolean).map((l) => l.replace(/^(\S+ +\d+ )\d+ /, '$1T ')).sort();
  const kernel = readFileSync(`${GOLDEN}/kernel-6.18-node-path-conntrack.txt`, 'utf8');
  assert.deepEqual(norm(conntrackList(node.conntrack, last)), norm(kernel));
  // The timeouts count down TIME_WAIT (120 s) from each connection's last packet, as the kernel's do:
  // the two entries' remaining times differ by the time between the connections (to the second).
  const secs = (text: string) => new Map(text.split('\n').filter(Boolean).map((l) => [/src=(\S+)/.exec(l)![1]!, Number(l.split(/ +/)[2])]));
  const sim = secs(conntrackList(node.conntrack, last));
  const real = secs(kernel);
  assert.ok(Math.max(...sim.values()) <= 120);
  const gap = (m: Map<string, number>) => m.get('192.168.0.9')! - m.get('10.0.1.5')!;
  assert.ok(Math.abs(gap(sim) - gap(real)) <= 1, `sim ${[...sim]} kernel ${[...real]}`);
});
