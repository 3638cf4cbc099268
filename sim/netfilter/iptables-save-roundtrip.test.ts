/**
 * parse(render(x)) == x for the iptables-save model: random rule sets built from every match and
 * target the model supports (and kept-verbatim ones), with counters and comments that need quoting,
 * survive a render and a parse unchanged, and rendering is a fixed point.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseIptablesSave, renderIptablesSave } from './iptables-save.ts';
import { saveString } from './rule-tokens.ts';
import type { TableName } from './ruleset.ts';

const ip = fc.tuple(fc.integer({ min: 1, max: 223 }), fc.nat(255), fc.nat(255), fc.nat(255)).map((a) => a.join('.'));
const cidr = fc.tuple(ip, fc.integer({ min: 0, max: 32 })).map(([a, p]) => {
  // iptables-save prints the network address of a prefix.
  const n = a.split('.').reduce((v, o) => v * 256 + Number(o), 0);
  const mask = p === 0 ? 0 : (0xffffffff << (32 - p)) >>> 0;
  const net = (n & mask) >>> 0;
  return `${[24, 16, 8, 0].map((s) => (net >>> s) & 255).join('.')}/${p}`;
});
const neg = fc.boolean().map((b) => (b ? '! ' : ''));
const port = fc.integer({ min: 1, max: 65535 });
const portRange = fc.oneof(port.map(String), fc.tuple(port, port).map(([a, b]) => `${Math.min(a, b)}:${Math.max(a, b)}`));
const natPorts = fc.oneof(fc.constant(''), port.map((p) => `:${p}`), fc.tuple(port, port).map(([a, b]) => `:${Math.min(a, b)}-${Math.max(a, b)}`));
const ipRange = fc.oneof(ip, fc.tuple(ip, ip).map(([a, b]) => {
  const n = (x: string) => x.split('.').reduce((v, o) => v * 256 + Number(o), 0);
  return n(a) <= n(b) ? `${a}-${b}` : `${b}-${a}`;
}));
// Comments with spaces, quotes, backslashes and non-ASCII, as kube-proxy's "ns/svc:port cluster IP" and worse.
const comment = fc.string({ unit: fc.constantFrom('a', 'Z', '0', ' ', '"', "'", '\\', '/', ':', '-', '_', 'é', '.'), minLength: 1, maxLength: 20 });
const hex = fc.nat().map((v) => `0x${v.toString(16)}`);

const match = (proto: string) =>
  fc.oneof(
    comment.map((c) => `-m comment --comment ${saveString(c)}`),
    ...(proto === 'tcp' || proto === 'udp'
      ? [
          fc.tuple(neg, portRange, neg, portRange).map(([n1, a, n2, b]) => `-m ${proto} ${n1}--sport ${a} ${n2}--dport ${b}`),
          fc.tuple(neg, portRange).map(([n, a]) => `-m ${proto} ${n}--dport ${a}`),
          fc.tuple(neg, fc.array(portRange, { minLength: 1, maxLength: 5 }), fc.constantFrom('dports', 'sports', 'ports')).map(([n, l, d]) => `-m multiport ${n}--${d} ${l.join(',')}`),
        ]
      : []),
    ...(proto === 'tcp' ? [fc.tuple(neg, fc.constantFrom('FIN,SYN,RST,ACK SYN', 'SYN,ACK SYN', 'ALL NONE')).map(([n, f]) => `-m tcp ${n}--tcp-flags ${f}`)] : []),
    fc.tuple(neg, fc.constantFrom('LOCAL', 'UNICAST', 'BROADCAST', 'MULTICAST')).map(([n, t]) => `-m addrtype ${n}--dst-type ${t}`),
    fc.tuple(neg, fc.constantFrom('LOCAL', 'UNICAST')).map(([n, t]) => `-m addrtype ${n}--src-type ${t}`),
    fc.tuple(neg, hex, hex).map(([n, v, m]) => `-m mark ${n}--mark ${v}/${m}`),
    fc.tuple(neg, fc.subarray(['INVALID', 'NEW', 'RELATED', 'ESTABLISHED', 'UNTRACKED', 'SNAT', 'DNAT'], { minLength: 1 })).map(([n, s]) => `-m conntrack ${n}--ctstate ${s.join(',')}`),
    fc.subarray(['INVALID', 'NEW', 'RELATED', 'ESTABLISHED', 'UNTRACKED'], { minLength: 1 }).map((s) => `-m state --state ${s.join(',')}`),
    fc.tuple(neg, fc.integer({ min: 0, max: 0x80000000 })).map(([n, f]) => `-m statistic --mode random ${n}--probability ${(f / 0x80000000).toFixed(11)}`),
    fc.tuple(neg, fc.integer({ min: 1, max: 100 })).chain(([n, every]) => fc.nat(every - 1).map((p) => `-m statistic --mode nth ${n}--every ${every} --packet ${p}`)),
    fc.tuple(neg, fc.constantFrom('KUBE-CLUSTER-IP', 'KUBE-LOOP-BACK'), fc.constantFrom('src', 'dst', 'dst,dst', 'dst,dst,src')).map(([n, s, f]) => `-m set ${n}--match-set ${s} ${f}`),
    fc.constantFrom(
      '-m recent --set --name KUBE-SEP-A --mask 255.255.255.255 --rsource',
      '-m recent --rcheck --seconds 10800 --reap --name KUBE-SEP-A --mask 255.255.255.255 --rsource',
      '-m physdev --physdev-is-in', // not modelled: verbatim
      '-m conntrack --ctorigdst 10.96.0.10', // known module, unmodelled option: verbatim
      '-m conntrack ! --ctstate NEW ! --ctorigdst 10.96.0.10 --ctorigdstport 80',
    ),
  );

const target = (table: TableName, chains: string[]) =>
  fc.oneof(
    fc.constantFrom('', '-j ACCEPT', '-j DROP', '-j RETURN', '-j LOG --log-prefix "svc: "', '-j CT --notrack', '-j MARK --set-xmark 0x4000/0x4000'),
    ...(table === 'filter' ? [fc.constantFrom('-j REJECT --reject-with icmp-port-unreachable', '-j REJECT --reject-with tcp-reset')] : []),
    ...(chains.length > 0 ? [fc.tuple(fc.constantFrom('-j', '-g'), fc.constantFrom(...chains)).map(([j, c]) => `${j} ${c}`)] : []),
    ...(table === 'nat'
      ? [
          fc.tuple(ipRange, natPorts, fc.boolean()).map(([a, p, r]) => `-j DNAT --to-destination ${a}${p}${r ? ' --random' : ''}`),
          port.map((p) => `-j DNAT --to-destination :${p}`),
          fc.tuple(ipRange, natPorts, fc.boolean()).map(([a, p, r]) => `-j SNAT --to-source ${a}${p}${r ? ' --random-fully' : ''}`),
          fc.tuple(fc.oneof(fc.constant(''), port.map((p) => ` --to-ports ${p}`)), fc.boolean()).map(([p, r]) => `-j MASQUERADE${p}${r ? ' --random-fully' : ''}`),
        ]
      : []),
  );

const rule = (table: TableName, chains: string[], counters: boolean) =>
  fc
    .record({
      counters: counters ? fc.tuple(fc.nat(), fc.nat()) : fc.constant(undefined),
      src: fc.option(fc.tuple(neg, cidr), { nil: undefined }),
      dst: fc.option(fc.tuple(neg, cidr), { nil: undefined }),
      iface: fc.option(fc.tuple(neg, fc.constantFrom('-i eth0', '-o cali+', '-i lo')), { nil: undefined }),
      proto: fc.constantFrom('tcp', 'udp', 'icmp', ''),
      protoNeg: neg,
    })
    .chain((h) =>
      fc.tuple(fc.constant(h), fc.array(match(h.proto), { maxLength: 3 }), target(table, chains)).map(([h, ms, t]) => {
        const parts: string[] = [];
        if (h.src) parts.push(`${h.src[0]}-s ${h.src[1]}`);
        if (h.dst) parts.push(`${h.dst[0]}-d ${h.dst[1]}`);
        if (h.iface) parts.push(`${h.iface[0]}${h.iface[1]}`);
        // A negated protocol loads no port match: keep -p plain when matches need it.
        if (h.proto) parts.push(`${ms.some((m) => / -m (tcp|udp) | --(s|d)?ports /.test(` ${m} `)) ? '' : h.protoNeg}-p ${h.proto}`);
        parts.push(...ms, t);
        return { counters: h.counters, spec: parts.filter((p) => p !== '').join(' ') };
      }),
    );

const BUILTIN: Record<TableName, string[]> = {
  raw: ['PREROUTING', 'OUTPUT'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
};

const table = (name: TableName, counters: boolean) =>
  fc.integer({ min: 0, max: 3 }).chain((users) => {
    const user = Array.from({ length: users }, (_, k) => `KUBE-${name.toUpperCase()}-${k}`);
    const chains = [...BUILTIN[name], ...user];
    return fc
      .tuple(
        fc.array(fc.constantFrom('ACCEPT', 'DROP'), { minLength: BUILTIN[name].length, maxLength: BUILTIN[name].length }),
        // Jumps only to later user chains, so the graph has no loops; no jumps from built-in chains into built-ins.
        fc.tuple(...chains.map((c, k) => fc.array(rule(name, user.slice(Math.max(0, k - BUILTIN[name].length + 1)), counters), { maxLength: 5 }))),
      )
      .map(([policies, rules]) => {
        const lines = [`*${name}`];
        BUILTIN[name].forEach((c, k) => lines.push(`:${c} ${policies[k]} [${k}:${k * 60}]`));
        for (const u of user) lines.push(`:${u} - [0:0]`);
        chains.forEach((c, k) => {
          for (const r of rules[k]!) lines.push(`${r.counters ? `[${r.counters[0]}:${r.counters[1]}] ` : ''}-A ${c} ${r.spec}`.trimEnd());
        });
        lines.push('COMMIT');
        return lines.join('\n');
      });
  });

test('parse(render(x)) == x for random rule sets of every supported match and target', () => {
  fc.assert(
    // iptables-save -c prints counters on every rule, plain iptables-save on none.
    fc.property(
      fc.boolean().chain((counters) =>
        fc.tuple(fc.constant(counters), fc.subarray(['raw', 'mangle', 'nat', 'filter'] as TableName[], { minLength: 1 }).chain((ts) => fc.tuple(...ts.map((t) => table(t, counters))))),
      ),
      ([counters, tables]) => {
        const x = parseIptablesSave(tables.join('\n') + '\n', 'random.rules').ruleset;
        const text = renderIptablesSave(x, { counters });
        const y = parseIptablesSave(text, 'rendered.rules').ruleset;
        assert.deepEqual(y, x);
        assert.equal(renderIptablesSave(y, { counters }), text);
      },
    ),
    { numRuns: 300, seed: 20261204 },
  );
});
