import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { DEFAULT_COSTS, type IptablesBackend } from '../cost/cost-model.ts';
import { tryParseIPv4 } from '../net/ipv4.ts';
import { makePacket, TCP_SYN } from '../net/packet.ts';
import { parseIptablesSave } from './iptables-save.ts';
import { CT_ESTABLISHED, CT_NEW } from './rule.ts';
import type { Hook } from './ruleset.ts';
import { IptablesTracer } from './trace.ts';

const G = 'test/golden/netfilter';
const LEGACY = parseIptablesSave(readFileSync(`${G}/kube-proxy-legacy.iptables-save`, 'utf8'), 'legacy');
const NFT_DUMP = parseIptablesSave(readFileSync(`${G}/kube-proxy-nft.iptables-save`, 'utf8'), 'nft');
const NODE = new Set([tryParseIPv4('172.18.0.3')!]);

/**
 * A packet from a pod on another node to `dst:dport`, traced along the forwarding path (PREROUTING,
 * FORWARD, POSTROUTING, stopping at a verdict other than ACCEPT) with the interfaces the kernel gives it.
 */
function forward(dst: string, dport: number, o: { seed?: number; ctState?: number; backend?: IptablesBackend; loaded?: typeof LEGACY } = {}) {
  const p = makePacket({ proto: 'tcp', src: tryParseIPv4('10.244.2.8')!, sport: 40000, dst: tryParseIPv4(dst)!, dport, tcpFlags: TCP_SYN });
  const tracer = new IptablesTracer(o.loaded ?? LEGACY, p, {
    backend: o.backend ?? 'legacy', costs: DEFAULT_COSTS, seed: o.seed ?? 1, ctState: o.ctState ?? CT_NEW, localAddrs: NODE, ipsets: null,
  });
  const hooks: Hook[] = [];
  let verdict: 'ACCEPT' | 'DROP' | 'REJECT' = 'ACCEPT';
  p.inIface = 'eth0';
  for (const h of ['PREROUTING', 'FORWARD', 'POSTROUTING'] as const) {
    if (h === 'FORWARD') p.outIface = 'eth0';
    hooks.push(h);
    verdict = tracer.hook(h);
    if (verdict !== 'ACCEPT') break;
  }
  return { hooks, verdict, ...tracer.result(verdict) };
}

test('iptables tracer: a pod-to-ClusterIP packet is DNATed in PREROUTING, each step with its hook\'s interfaces', () => {
  const t = forward('10.96.112.40', 80);
  assert.equal(t.verdict, 'ACCEPT');
  assert.match(t.dnat!, /^10\.244\.(1\.5|2\.9|3\.14):8080$/);
  assert.equal(t.origDst, '10.96.112.40:80');
  const pre = t.steps.filter((s) => s.hook === 'PREROUTING');
  const fwd = t.steps.filter((s) => s.hook === 'FORWARD');
  assert.ok(pre.length > 0 && fwd.length > 0);
  assert.ok(pre.every((s) => s.inIface === 'eth0' && s.outIface === ''));
  assert.ok(fwd.every((s) => s.inIface === 'eth0' && s.outIface === 'eth0'));
  // FORWARD sees the packet as DNAT left it.
  assert.ok(fwd.every((s) => `${s.packet.dst}` === `${tryParseIPv4(t.dnat!.split(':')[0]!)}`));
  assert.ok(t.steps.some((s) => s.type === 'policy' && s.text === '(policy ACCEPT)'));
});

test('iptables tracer: the statistic match draws from the seed stream: same seed, same endpoint; seeds spread over all three', () => {
  const pick = (seed: number) => forward('10.96.112.40', 80, { seed }).dnat;
  assert.equal(pick(5), pick(5));
  const seen = new Set(Array.from({ length: 40 }, (_, s) => pick(s)));
  assert.deepEqual([...seen].sort(), ['10.244.1.5:8080', '10.244.2.9:8080', '10.244.3.14:8080']);
});

test('iptables tracer: both backends give the same walk; the nf_tables one costs more per rule', () => {
  const legacy = forward('10.96.112.40', 80);
  const nft = forward('10.96.112.40', 80, { backend: 'nft', loaded: NFT_DUMP });
  // The nft dump has a raw table (its policy is one more step) and a CT --notrack rule for udp/4789 only.
  assert.deepEqual(
    nft.steps.filter((s) => s.table !== 'raw').map((s) => s.text),
    legacy.steps.map((s) => s.text),
  );
  assert.ok(nft.costNs > legacy.costNs);
});

test('iptables tracer: session affinity rules (recent --set / --rcheck) trace through', () => {
  const t = forward('10.96.201.3', 9000);
  assert.equal(t.dnat, '10.244.2.4:9000');
  assert.ok(t.steps.some((s) => s.text.includes('-m recent --set --name KUBE-SEP-YIL6JZP7A3QYXJU2')));
});

test('iptables tracer: a packet that is not the first of its connection skips nat; REJECT reports its --reject-with', () => {
  const est = forward('10.96.112.40', 80, { ctState: CT_ESTABLISHED });
  assert.equal(est.dnat, null);
  assert.ok(est.steps.every((s) => s.table !== 'nat'));
  const rej = forward('10.96.45.17', 80);
  assert.deepEqual([rej.verdict, rej.rejectWith, rej.hooks], ['REJECT', 'icmp-port-unreachable', ['PREROUTING', 'FORWARD']]);
});
