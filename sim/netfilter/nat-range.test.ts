import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { formatIPv4, parseIPv4 } from '../net/ipv4.ts';
import { makePacket } from '../net/packet.ts';
import { compileRuleset } from './compile.ts';
import { newHookResult } from './context.ts';
import { evaluateHook } from './evaluate.ts';
import { parseIptablesSave, renderIptablesSave } from './iptables-save.ts';
import { pickRangeAddress } from './nat-range.ts';
import { testContext } from './testing/context.ts';

const golden = new URL('../../test/golden/netfilter/kernel/', import.meta.url);

test('address ranges: the kernel picked the same addresses (conntrack -L of test/golden/netfilter/kernel/nat-range.sh)', () => {
  const lines = readFileSync(new URL('nat-range.txt', golden), 'utf8').trim().split('\n');
  assert.equal(lines.length, 20);
  for (const l of lines) {
    const m = /src=(\S+) dst=(\S+) sport=\d+ dport=\d+ \[UNREPLIED\] src=(\S+) dst=(\S+)/.exec(l);
    assert.ok(m, l);
    const [src, dst, dnatTo, snatTo] = m.slice(1).map((a) => parseIPv4(a)) as [number, number, number, number];
    // DNAT in OUTPUT hashes the original tuple; SNAT in POSTROUTING sees the DNATed destination.
    assert.equal(formatIPv4(pickRangeAddress(parseIPv4('10.244.1.1'), parseIPv4('10.244.1.8'), src, dst, false)), formatIPv4(dnatTo), l);
    assert.equal(formatIPv4(pickRangeAddress(parseIPv4('192.168.7.1'), parseIPv4('192.168.7.13'), src, dnatTo, false)), formatIPv4(snatTo), l);
  }
});

test('--persistent drops the destination from the hash: one client, one address whatever it talks to', () => {
  const lo = parseIPv4('10.0.0.1');
  const hi = parseIPv4('10.0.0.200');
  const src = parseIPv4('10.244.3.7');
  const persistent = new Set([1, 2, 3, 4, 5].map((d) => pickRangeAddress(lo, hi, src, parseIPv4(`10.96.0.${d}`), true)));
  assert.equal(persistent.size, 1);
  const spread = new Set([1, 2, 3, 4, 5].map((d) => pickRangeAddress(lo, hi, src, parseIPv4(`10.96.0.${d}`), false)));
  assert.ok(spread.size > 1);
  assert.equal(pickRangeAddress(lo, lo, src, 0, false), lo);
});

const nat = (rules: string[]) =>
  parseIptablesSave(['*nat', ':OUTPUT ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]', ...rules, 'COMMIT', ''].join('\n')).ruleset;

test('DNAT --to-destination :8080 maps only the port; ranges render as written', () => {
  const rs = nat([
    '-A OUTPUT -d 10.96.0.10/32 -p tcp -j DNAT --to-destination :8080',
    '-A POSTROUTING -s 10.0.0.0/8 -j SNAT --to-source 1.2.3.4-1.2.3.8:1000-2000',
    '-A POSTROUTING -j MASQUERADE --to-ports 1000-2000',
  ]);
  const text = renderIptablesSave(rs);
  for (const r of ['--to-destination :8080', '--to-source 1.2.3.4-1.2.3.8:1000-2000', '-j MASQUERADE --to-ports 1000-2000']) assert.ok(text.includes(r), r);
  const compiled = compileRuleset(rs);
  const p = makePacket({ proto: 'tcp', src: parseIPv4('10.0.0.3'), dst: parseIPv4('10.96.0.10'), sport: 40000, dport: 80 });
  const res = newHookResult();
  evaluateHook(compiled, 'OUTPUT', p, testContext(), res);
  assert.deepEqual([res.dnat, formatIPv4(p.dst), p.dport], [true, '10.96.0.10', 8080]);
  const post = newHookResult();
  evaluateHook(compiled, 'POSTROUTING', p, testContext(), post);
  assert.deepEqual([post.snat, formatIPv4(post.snatIp), post.snatPort, post.snatPortHi], [true, formatIPv4(pickRangeAddress(parseIPv4('1.2.3.4'), parseIPv4('1.2.3.8'), p.src, p.dst, false)), 1000, 2000]);
  const q = makePacket({ proto: 'tcp', src: parseIPv4('192.168.0.9'), dst: parseIPv4('10.96.0.11'), sport: 40000, dport: 80 });
  const masq = newHookResult();
  evaluateHook(compiled, 'POSTROUTING', q, testContext(), masq);
  assert.deepEqual([masq.masquerade, masq.snatPort, masq.snatPortHi], [true, 1000, 2000]);
});
