import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { DEFAULT_COSTS } from '../cost/cost-model.ts';
import { tryParseIPv4 } from '../net/ipv4.ts';
import { makePacket, TCP_SYN } from '../net/packet.ts';
import { CT_STATE_BITS } from './key.ts';
import { parseNft } from './parse.ts';
import { NftTracer } from './trace.ts';

const RS = parseNft(readFileSync('test/golden/netfilter/kube-proxy.nft', 'utf8'), 'kube-proxy.nft');

function tracer(seed = 1) {
  const p = makePacket({ proto: 'tcp', src: tryParseIPv4('10.0.1.5')!, sport: 40000, dst: tryParseIPv4('172.30.0.44')!, dport: 80, tcpFlags: TCP_SYN });
  p.inIface = 'eth0';
  const t = new NftTracer(RS, p, { costs: DEFAULT_COSTS, seed, ctState: CT_STATE_BITS.new!, localAddrs: new Set([tryParseIPv4('192.168.0.2')!]) });
  return { p, t };
}

test('nft tracer: matched rules are located by table and rule number, with the packet as it entered the hook', () => {
  const { t } = tracer();
  assert.equal(t.hook('prerouting'), 'accept');
  const r = t.result();
  assert.match(r.dnat!, /^10\.180\.0\.[45]:80$/);
  assert.equal(r.origDst, '172.30.0.44:80');
  assert.deepEqual(r.steps.slice(0, 3).map((s) => `${s.table}:${s.chain}:${s.rule} ${s.text}`), [
    'ip kube-proxy:filter-prerouting-pre-dnat:1 ct state new jump firewall-check',
    'ip kube-proxy:nat-prerouting:1 jump services',
    'ip kube-proxy:services:1 ip daddr . meta l4proto . th dport vmap @service-ips',
  ]);
  assert.ok(r.steps.every((s) => s.hook === 'prerouting' && s.inIface === 'eth0' && s.packet.dst === tryParseIPv4('172.30.0.44')));
  assert.ok(r.rulesVisited > 0 && r.lookups > 0 && r.costNs > 0);
});

test('nft tracer: once the path says the packet is not new (back in through lo), nat chains are skipped', () => {
  const { t } = tracer();
  t.path.firstPacket = false;
  t.hook('prerouting');
  const r = t.result();
  assert.equal(r.dnat, null);
  assert.ok(r.steps.every((s) => !s.chain.startsWith('nat-')));
});

test('nft tracer: numgen random draws from the seed stream: same seed, same endpoint; seeds reach both', () => {
  const pick = (seed: number) => {
    const { t } = tracer(seed);
    t.hook('prerouting');
    return t.result().dnat;
  };
  assert.equal(pick(3), pick(3));
  assert.deepEqual([...new Set(Array.from({ length: 30 }, (_, s) => pick(s)))].sort(), ['10.180.0.4:80', '10.180.0.5:80']);
});
