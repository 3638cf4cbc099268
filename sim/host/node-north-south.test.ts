/**
 * The simulated node against the real kernel for north-south packets (test/golden/north-south/README.md):
 * node-a's and node-b's iptables rules restored in a network namespace, first packets to
 * NodeIP:nodePort, to a load-balancer IP and to an externalIP from an outside client (eth0), from the
 * node's pod (pods0) and from the node itself. Each probe is replayed through a Node built like the
 * capture's namespace; it must drop what the kernel dropped, forward what the kernel forwarded out
 * of the same interface with the same translation, and list the kernel's conntrack entries (the
 * port MASQUERADE --random-fully picked aside).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { RandomStream } from '../engine/random.ts';
import { conntrackList } from '../conntrack/testing/list.ts';
import { parseIptablesSave } from '../netfilter/iptables-save.ts';
import { formatIPv4, parseCidr, parseIPv4 } from '../net/ipv4.ts';
import { makePacket, TCP_SYN } from '../net/packet.ts';
import { Node } from './node.ts';

const D = 'test/golden/north-south';
const NODES = { a: { ip: '192.168.0.10', gw: '10.244.0.1' }, b: { ip: '192.168.0.11', gw: '10.244.1.1' } } as const;
type NodeName = keyof typeof NODES;

/** The capture's node namespace (capture.sh): NodeIP on eth0, the pod gateway on pods0, clients via eth0, the rest via pods0. */
function kernelNode(node: NodeName, backend: 'legacy' | 'nft'): Node {
  const { ruleset } = parseIptablesSave(readFileSync(`${D}/node-${node}.iptables-save`, 'utf8'));
  const n = NODES[node];
  return new Node({
    name: `node-${node}`,
    interfaces: [
      { name: 'eth0', addr: parseIPv4(n.ip), prefix: 32 },
      { name: 'pods0', addr: parseIPv4(n.gw), prefix: 32 },
    ],
    routes: [
      { dst: parseCidr('198.18.0.9/32'), dev: 'eth0', via: 0 },
      { dst: parseCidr('203.0.113.5/32'), dev: 'eth0', via: 0 },
      { dst: parseCidr('0.0.0.0/0'), dev: 'pods0', via: 0 },
    ],
    conntrack: { max: 262144 },
    ruleset,
    backend,
    random: new RandomStream(1, 'node/netfilter'),
  });
}

interface Probe {
  src: string;
  sport: number;
  dst: string;
  dport: number;
  errno: number;
}

function probes(node: NodeName, backend: string): Probe[] {
  return readFileSync(`${D}/kernel/${node}-${backend}.client.txt`, 'utf8').trim().split('\n').map((l) => {
    const m = /^tcp ([\d.]+):(\d+) > ([\d.]+):(\d+) (\d+)$/.exec(l);
    assert.ok(m, l);
    return { src: m[1]!, sport: Number(m[2]), dst: m[3]!, dport: Number(m[4]), errno: Number(m[5]) };
  });
}

/** A conntrack line without its timeout, and with a masqueraded reply's port (random-fully) as P. */
function normalise(line: string): string {
  const noTimeout = line.replace(/^(\S+ +\d+ )\d+ /, '$1');
  const m = /^(.*?src=(\S+) dst=\S+ sport=\d+ dport=\d+ .*?src=\S+ dst=(\S+) sport=\d+ dport=)(\d+)(.*)$/.exec(noTimeout);
  assert.ok(m, line);
  return m[2] === m[3] ? noTimeout : `${m[1]}P${m[5]}`;
}

for (const node of ['a', 'b'] as const) {
  for (const backend of ['legacy', 'nft'] as const) {
    test(`node-${node} (${backend} capture): each probe dropped, forwarded or delivered as by the kernel, same conntrack entries`, () => {
      const n = kernelNode(node, backend);
      const kernel = readFileSync(`${D}/kernel/${node}-${backend}.conntrack.txt`, 'utf8').trim().split('\n');
      const kept = new Set(kernel.map((l) => Number(/sport=(\d+)/.exec(l)![1])));
      let t = 1e9;
      for (const pr of probes(node, backend)) {
        const p = makePacket({ proto: 'tcp', src: parseIPv4(pr.src), sport: pr.sport, dst: parseIPv4(pr.dst), dport: pr.dport, tcpFlags: TCP_SYN });
        const say = `tcp ${pr.src}:${pr.sport} > ${pr.dst}:${pr.dport}`;
        const fromNode = n.isLocal(p.src);
        const r = fromNode ? n.send(p, (t += 1e6)) : n.receive(p, pr.src.startsWith('10.244.') ? 'pods0' : 'eth0', (t += 1e6));
        if (kept.has(pr.sport)) {
          // The kernel forwarded it to an endpoint behind pods0 (its entry outlived the probe).
          assert.equal(r.delivery, 'forward', `${say}: ${r.dropReason}`);
          assert.equal(r.outIface, 'pods0', say);
          const line = kernel.find((l) => l.includes(` sport=${pr.sport} `))!;
          const [, rsrc, rdst, rsport] = /\[UNREPLIED\] src=(\S+) dst=(\S+) sport=(\d+)/.exec(line)!;
          assert.equal(`${formatIPv4(p.dst)}:${p.dport}`, `${rsrc}:${rsport}`, `${say}: DNAT`);
          assert.equal(formatIPv4(p.src), rdst, `${say}: source after POSTROUTING`);
        } else if (pr.errno === 111 && r.delivery === 'local') {
          // Delivered to the node's own closed port: its RST ended the kernel's entry at once.
          assert.equal(pr.dport, 32000, say);
        } else {
          assert.equal(r.delivery, 'none', `${say}: the kernel kept no entry, so it never left`);
          assert.equal(r.verdict, pr.errno === 111 ? 'REJECT' : 'DROP', say);
        }
      }
      assert.ok(kept.size >= 8, `${kept.size} forwarded probes`);
      const ours = conntrackList(n.conntrack, t).split('\n').filter((l) => /sport=410\d\d /.test(l) && !l.includes('dport=32000 '));
      assert.equal(ours.length, kernel.length);
      assert.deepEqual(ours.map(normalise).sort(), kernel.map((l) => normalise(l.replace(/^(\S+ +\d+ )/, '$10 '))).sort());
    });
  }
}
