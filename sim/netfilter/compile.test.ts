import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { InputError } from '../io/input-error.ts';
import { formatIPv4, parseIPv4 } from '../net/ipv4.ts';
import { makePacket, TCP_ACK, TCP_SYN } from '../net/packet.ts';
import type { Protocol } from '../net/protocol.ts';
import { buildChainIndex, compileRuleset, MIN_INDEXED_RUN, RUN_DST, RUN_PORT } from './compile.ts';
import { newHookResult, type TraceStep } from './context.ts';
import { evaluateHook } from './evaluate.ts';
import { parseIptablesSave } from './iptables-save.ts';
import { CT_ESTABLISHED, CT_NEW, CT_RELATED } from './rule.ts';
import { HOOKS, type Hook } from './ruleset.ts';
import { testContext } from './testing/context.ts';
import { linearEvaluateHook } from './testing/linear-walk.ts';

// ------------------------------------------------------------ random rule sets as iptables-save text

/** Few destinations, so runs of `-d X/32` rules repeat addresses and packets hit them often. */
const POOL = ['10.96.0.1', '10.96.0.2', '10.96.0.3', '10.96.0.4'];
const PACKET_DSTS = [...POOL, '10.96.0.9', '192.168.0.2', '127.0.0.1'];

interface RuleGene {
  dst: number; // 0..9: mostly an exact pool address (indexable), sometimes negated, a prefix, or none
  addr: number;
  proto: number; // 0 none, 1 tcp (+ --dport), 2 udp, 3 tcp without port
  port: number;
  src: number; // 0 none, 1 -s, 2 ! -s
  matches: number[]; // extension matches by number
  target: number;
  targetChain: number;
  /** In a nodeport-like chain, < 8 writes the rule in KUBE-NODEPORTS form (see nodePortText). */
  form: number;
  comments: number;
  /** In KUBE-NODEPORTS form: < 8 picks one near miss (a rule a port run cannot hold), else none. */
  miss: number;
}

const ruleGene = fc.record<RuleGene>({
  dst: fc.integer({ min: 0, max: 9 }),
  addr: fc.integer({ min: 0, max: POOL.length - 1 }),
  proto: fc.integer({ min: 0, max: 3 }),
  port: fc.integer({ min: 0, max: 2 }),
  src: fc.integer({ min: 0, max: 5 }),
  matches: fc.array(fc.integer({ min: 0, max: 12 }), { maxLength: 3 }),
  target: fc.integer({ min: 0, max: 14 }),
  targetChain: fc.nat(),
  form: fc.integer({ min: 0, max: 9 }),
  comments: fc.integer({ min: 0, max: 2 }),
  miss: fc.integer({ min: 0, max: 47 }),
});

const PORTS = [80, 443, 8080];

const EXTRA_MATCHES = [
  '-m comment --comment "a service:port"',
  '-m mark --mark 0x4000/0x4000',
  '-m mark ! --mark 0x4000/0x4000',
  '-m statistic --mode random --probability 0.50000000000',
  '-m statistic --mode random --probability 0.25000000000',
  '-m conntrack --ctstate NEW',
  '-m conntrack ! --ctstate RELATED,ESTABLISHED',
  '-m multiport --dports 80,8080',
  '-m multiport ! --dports 443',
  '-m addrtype --dst-type LOCAL',
  '-m addrtype ! --src-type LOCAL',
  '-m physdev --physdev-is-in', // not modelled: never matches
  '-m tcp --tcp-flags SYN,ACK SYN',
];

/**
 * A KUBE-NODEPORTS-like rule: `[-d 127.0.0.0/8] -p P [-m comment]... -m P --dport N [more matches]`,
 * the shape port runs index, and its near misses (negated -d or --dport, a port range, -s, a /32
 * destination that belongs to a destination run, a non-comment match before the port match).
 */
function nodePortText(g: RuleGene): string {
  const parts: string[] = [];
  const miss = g.miss;
  if (miss === 0) parts.push('! -d 127.0.0.0/8');
  else if (miss === 1) parts.push(`-d ${POOL[g.addr]}/32`);
  else if (g.dst >= 6) parts.push('-d 127.0.0.0/8');
  if (miss === 2) parts.push('-s 10.244.0.0/16');
  const proto = g.proto === 2 ? 'udp' : 'tcp';
  parts.push(`-p ${proto}`);
  for (let k = 0; k < g.comments; k++) parts.push(`-m comment --comment "ns/svc-${k}:port"`);
  if (miss === 3) parts.push('-m mark ! --mark 0x4000/0x4000');
  const port = PORTS[g.port]!;
  if (miss === 4) parts.push(`-m ${proto} ! --dport ${port}`);
  else if (miss === 5) parts.push(`-m ${proto} --dport 80:443`);
  else if (miss === 6) parts.push(`-m ${proto} --sport 40000`);
  else if (g.src === 4) parts.push(`-m ${proto} --sport 40000 --dport ${port}`);
  else parts.push(`-m ${proto} --dport ${port}`);
  if (miss === 7) parts.push(`-m ${proto} --dport 80`);
  for (const m of g.matches) if (m !== 12 || proto === 'tcp') parts.push(EXTRA_MATCHES[m]!);
  return parts.join(' ');
}

function ruleText(g: RuleGene, table: 'nat' | 'filter', userChains: string[], firstTarget: number, nodePorts = false): string {
  const parts: string[] = [];
  if (nodePorts && g.form < 8) parts.push(nodePortText(g));
  else {
  const addr = POOL[g.addr]!;
  if (g.dst <= 6) parts.push(`-d ${addr}/32`);
  else if (g.dst === 7) parts.push(`! -d ${addr}/32`);
  else if (g.dst === 8) parts.push('-d 10.96.0.0/30');
  if (g.src === 1) parts.push('-s 10.244.0.0/16');
  else if (g.src === 2) parts.push('! -s 10.244.0.0/16');
  if (g.proto === 1) parts.push(`-p tcp -m tcp --dport ${PORTS[g.port]}`);
  else if (g.proto === 2) parts.push(`-p udp -m udp --dport ${PORTS[g.port]}`);
  else if (g.proto === 3) parts.push('-p tcp');
  for (const m of g.matches) {
    if (m === 12 && g.proto !== 1 && g.proto !== 3) continue; // --tcp-flags needs -p tcp
    parts.push(EXTRA_MATCHES[m]!);
  }
  }
  // Jumps go forward only (chain k may target chains after k), so the graph has no loops.
  const later = userChains.slice(firstTarget);
  const chain = later.length > 0 ? later[g.targetChain % later.length] : undefined;
  const targets = [
    '',
    '-j ACCEPT',
    '-j DROP',
    '-j RETURN',
    chain ? `-j ${chain}` : '-j ACCEPT',
    chain ? `-j ${chain}` : '-j RETURN',
    chain ? `-g ${chain}` : '-j DROP',
    '-j MARK --or-mark 0x4000',
    '-j MARK --set-xmark 0x0/0x4000',
    '-j LOG --log-prefix "svc drop: "',
    '-j TRACE',
    table === 'filter' ? '-j REJECT --reject-with icmp-port-unreachable' : '-j DNAT --to-destination 10.244.1.5:8080',
    table === 'filter' ? '-j REJECT' : '-j MASQUERADE --random-fully',
    table === 'filter' ? '-j ACCEPT' : '-j SNAT --to-source 192.168.0.2',
    '-j CT --notrack', // not modelled: never matches
  ];
  parts.push(targets[g.target]!);
  return parts.filter((p) => p !== '').join(' ');
}

interface TableGene {
  policyDrop: boolean[];
  user: RuleGene[][];
  builtin: RuleGene[][];
  /** Per built-in chain, then per user chain: whether most of its rules take the KUBE-NODEPORTS form. */
  nodePorts: boolean[];
}

const tableGene = (builtins: number) =>
  fc.record<TableGene>({
    policyDrop: fc.array(fc.boolean(), { minLength: builtins, maxLength: builtins }),
    user: fc.array(fc.array(ruleGene, { maxLength: 24, size: 'medium' }), { maxLength: 4 }),
    builtin: fc.array(fc.array(ruleGene, { maxLength: 24, size: 'medium' }), { minLength: builtins, maxLength: builtins }),
    nodePorts: fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
  });

const BUILTINS = { nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'], filter: ['INPUT', 'FORWARD', 'OUTPUT'] } as const;

function tableText(table: 'nat' | 'filter', g: TableGene): string {
  const user = g.user.map((_, k) => `${table.toUpperCase()}-C${k}`);
  const lines = [`*${table}`];
  BUILTINS[table].forEach((h, k) => lines.push(`:${h} ${g.policyDrop[k] && table === 'filter' ? 'DROP' : 'ACCEPT'} [0:0]`));
  for (const u of user) lines.push(`:${u} - [0:0]`);
  BUILTINS[table].forEach((h, k) => {
    for (const r of g.builtin[k]!) lines.push(`-A ${h} ${ruleText(r, table, user, 0, g.nodePorts[4 + k])}`.trimEnd());
  });
  g.user.forEach((rules, k) => {
    for (const r of rules) lines.push(`-A ${user[k]} ${ruleText(r, table, user, k + 1, g.nodePorts[k])}`.trimEnd());
  });
  lines.push('COMMIT');
  return lines.join('\n') + '\n';
}

const packetGene = fc.record({
  proto: fc.constantFrom<Protocol>('tcp', 'tcp', 'udp', 'icmp'),
  src: fc.constantFrom('10.244.1.5', '192.168.1.1', '127.0.0.1', '192.168.0.2'),
  dst: fc.constantFrom(...PACKET_DSTS),
  dport: fc.constantFrom(...PORTS),
  mark: fc.constantFrom(0, 0x4000, 0x4001),
  syn: fc.boolean(),
  ctState: fc.constantFrom(CT_NEW, CT_ESTABLISHED, CT_RELATED),
  firstPacket: fc.boolean(),
  hook: fc.constantFrom<Hook>(...HOOKS),
  seed: fc.nat(),
});

function traceKey(t: TraceStep[]) {
  return t.map((s) => `${s.hook} ${s.table}:${s.chain}:${s.type}:${s.ruleNum} ${s.src}:${s.sport}>${s.dst}:${s.dport} ${s.mark}`);
}

test('compiled walk == plain linear walk: verdict, NAT, trace, chains, rules visited, matches (random rule sets)', () => {
  let indexedSkips = 0;
  let portSkips = 0;
  fc.assert(
    fc.property(tableGene(4), tableGene(3), fc.array(packetGene, { minLength: 1, maxLength: 6 }), (nat, filter, packets) => {
      const text = tableText('nat', nat) + tableText('filter', filter);
      const { ruleset } = parseIptablesSave(text, 'random.rules');
      const compiled = compileRuleset(ruleset);
      const plain = compileRuleset(ruleset, { index: false });
      for (const g of packets) {
        const mk = () =>
          makePacket({
            proto: g.proto,
            src: parseIPv4(g.src),
            dst: parseIPv4(g.dst),
            sport: g.proto === 'icmp' ? 0 : 40000,
            dport: g.proto === 'icmp' ? 0 : g.dport,
            tcpFlags: g.proto !== 'tcp' ? 0 : g.syn ? TCP_SYN : TCP_ACK,
            mark: g.mark,
            inIface: g.hook === 'OUTPUT' ? '' : 'eth0',
          });
        const runs = [
          (p: ReturnType<typeof mk>, c: ReturnType<typeof testContext>, r: ReturnType<typeof newHookResult>) => evaluateHook(compiled, g.hook, p, c, r),
          (p: ReturnType<typeof mk>, c: ReturnType<typeof testContext>, r: ReturnType<typeof newHookResult>) => evaluateHook(plain, g.hook, p, c, r),
          (p: ReturnType<typeof mk>, c: ReturnType<typeof testContext>, r: ReturnType<typeof newHookResult>) => linearEvaluateHook(ruleset, g.hook, p, c, r),
        ];
        const outs = runs.map((run) => {
          const p = mk();
          const trace: TraceStep[] = [];
          const ctx = testContext({ seed: g.seed, ctState: g.ctState, firstPacket: g.firstPacket, trace });
          const res = newHookResult();
          const verdict = run(p, ctx, res);
          return { verdict, res, packet: p, trace: traceKey(trace), rules: trace.map((s) => s.rule), ctState: ctx.ctState };
        });
        assert.deepEqual(outs[0], outs[2], `compiled vs linear for ${JSON.stringify(g)} on\n${text}`);
        assert.deepEqual(outs[1], outs[2], `unindexed vs linear for ${JSON.stringify(g)}`);
        const indexed = Object.values(compiled.tables).flatMap((t) => [...t.chains.values()].flatMap((c) => c.index.runs));
        if (indexed.some((r) => r.kind === RUN_DST) && POOL.includes(g.dst)) indexedSkips++;
        if (indexed.some((r) => r.kind === RUN_PORT) && g.proto !== 'icmp') portSkips++;
      }
    }),
    { numRuns: 200, seed: 20261125 },
  );
  // The generator must actually produce indexed runs, or the property says nothing about the index.
  assert.ok(indexedSkips > 50, `only ${indexedSkips} walks met an indexed destination run`);
  assert.ok(portSkips > 50, `only ${portSkips} walks met an indexed port run`);
});

// ------------------------------------------------------------ the index itself

function kubeServices(n: number, extra = ''): string {
  const lines = ['*nat', ':PREROUTING ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':KUBE-SERVICES - [0:0]', ':KUBE-SVC-A - [0:0]', ':KUBE-NODEPORTS - [0:0]'];
  lines.push('-A OUTPUT -j KUBE-SERVICES');
  for (let i = 0; i < n; i++) {
    const ip = `10.96.${i >> 8}.${i & 255}`;
    lines.push(`-A KUBE-SERVICES -d ${ip}/32 -p tcp -m comment --comment "ns/svc-${i}:http cluster IP" -m tcp --dport 80 -j KUBE-SVC-A`);
  }
  lines.push(extra || '-A KUBE-SERVICES -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS');
  lines.push('-A KUBE-SVC-A -j DNAT --to-destination 10.244.1.5:8080', 'COMMIT');
  return lines.join('\n') + '\n';
}

test('a KUBE-SERVICES run is one indexed run; rules visited are the linear position of the matching rule', () => {
  const { ruleset } = parseIptablesSave(kubeServices(1000));
  const rs = compileRuleset(ruleset);
  const svc = rs.tables.nat!.chains.get('KUBE-SERVICES')!;
  assert.equal(svc.index.runs.length, 1);
  assert.deepEqual([svc.index.runs[0]!.start, svc.index.runs[0]!.end], [0, 1000]);
  for (const [k, expected] of [
    [0, 1 + 1 + 1],
    [517, 1 + 518 + 1],
    [999, 1 + 1000 + 1],
  ] as const) {
    const p = makePacket({ proto: 'tcp', src: parseIPv4('10.244.1.5'), dst: parseIPv4(`10.96.${k >> 8}.${k & 255}`), sport: 40000, dport: 80 });
    const res = newHookResult();
    evaluateHook(rs, 'OUTPUT', p, testContext(), res);
    assert.equal(res.rulesVisited, expected, `service ${k}`);
    assert.equal(res.matchesEvaluated, 2, 'comment and tcp of the matching KUBE-SERVICES rule only');
    assert.equal(formatIPv4(p.dst), '10.244.1.5');
  }
  // A destination that no rule has: every rule of the run is counted, then the nodeports rule.
  const miss = makePacket({ proto: 'tcp', src: parseIPv4('10.244.1.5'), dst: parseIPv4('10.97.0.1'), sport: 40000, dport: 80 });
  const res = newHookResult();
  evaluateHook(rs, 'OUTPUT', miss, testContext(), res);
  assert.equal(res.rulesVisited, 1 + 1000 + 1);
  assert.equal(res.matchesEvaluated, 1, 'only the addrtype of the last rule');
  assert.equal(res.dnat, false);
});

test('a wrong port on a matching address goes on to the next rule with that address in the run', () => {
  const text = kubeServices(20).replace(
    '-A KUBE-SERVICES -m addrtype',
    '-A KUBE-SERVICES -d 10.96.0.3/32 -p tcp -m tcp --dport 443 -j KUBE-SVC-A\n-A KUBE-SERVICES -m addrtype',
  );
  const rs = compileRuleset(parseIptablesSave(text).ruleset);
  const p = makePacket({ proto: 'tcp', src: parseIPv4('10.244.1.5'), dst: parseIPv4('10.96.0.3'), sport: 40000, dport: 443 });
  const res = newHookResult();
  const trace: TraceStep[] = [];
  evaluateHook(rs, 'OUTPUT', p, testContext({ trace }), res);
  assert.equal(res.dnat, true);
  assert.deepEqual(traceKey(trace).slice(0, 2).map((l) => l.split(' ').slice(0, 2).join(' ')), ['OUTPUT nat:OUTPUT:rule:1', 'OUTPUT nat:KUBE-SERVICES:rule:21']);
  assert.equal(res.rulesVisited, 1 + 21 + 1);
  assert.equal(res.matchesEvaluated, 2 + 1, 'rule 4 (comment, tcp fails) and rule 21 (tcp)');
});

test('short runs are walked rule by rule; negated or prefix destinations break runs', () => {
  const rules = (ds: string[]) =>
    parseIptablesSave(['*filter', ':INPUT ACCEPT [0:0]', ...ds.map((d) => `-A INPUT ${d} -j ACCEPT`), 'COMMIT', ''].join('\n')).ruleset.tables.get('filter')!.chains.get('INPUT')!;
  const exact = (k: number) => `-d 10.0.0.${k}/32`;
  const short = buildChainIndex(rules(Array.from({ length: MIN_INDEXED_RUN - 1 }, (_, k) => exact(k))), true);
  assert.equal(short.runs.length, 0);
  const broken = buildChainIndex(
    rules([...Array.from({ length: 9 }, (_, k) => exact(k)), '! -d 10.0.0.1/32', '-d 10.0.0.0/24', ...Array.from({ length: 8 }, (_, k) => exact(k))]),
    true,
  );
  assert.deepEqual(broken.runs.map((r) => [r.start, r.end]), [[0, 9], [11, 19]]);
});

test('the index is cached per chain: versions sharing a chain share its index', () => {
  const { ruleset } = parseIptablesSave(kubeServices(50));
  const a = compileRuleset(ruleset).tables.nat!.chains.get('KUBE-SERVICES')!.index;
  const b = compileRuleset(ruleset).tables.nat!.chains.get('KUBE-SERVICES')!.index;
  assert.equal(a, b);
});

test('jumps to missing chains and loops are refused as the kernel refuses them', () => {
  const loop = '*filter\n:INPUT ACCEPT [0:0]\n:A - [0:0]\n:B - [0:0]\n-A INPUT -j A\n-A A -j B\n-A B -g A\nCOMMIT\n';
  assert.throws(() => parseIptablesSave(loop, 'loop.rules'), (e: unknown) => {
    assert.ok(e instanceof InputError);
    assert.match(e.message, /loop\.rules: table filter: expected no loops between chains, found INPUT -> A -> B -> A/);
    return true;
  });
  // -X of a chain still jumped to (kernel: "Too many links").
  const dangling = '*filter\n:INPUT ACCEPT [0:0]\n:A - [0:0]\n-A INPUT -j A\n-X A\nCOMMIT\n';
  assert.throws(() => parseIptablesSave(dangling, 'd.rules'), /d\.rules: table filter, chain INPUT: expected a jump to an existing chain, found "A"/);
});

test('KUBE-NODEPORTS (-p tcp --dport N, no -d, with its -d 127.0.0.0/8 twin) is one port run found by (protocol, port)', () => {
  const n = 500;
  const lines = ['*nat', ':OUTPUT ACCEPT [0:0]', ':KUBE-NODEPORTS - [0:0]', ':KUBE-EXT-A - [0:0]', '-A OUTPUT -j KUBE-NODEPORTS'];
  for (let i = 0; i < n; i++) {
    const port = 30000 + i;
    // As iptables-save prints kube-proxy's rules (the kernel's match order), localhost twin first.
    lines.push(`-A KUBE-NODEPORTS -d 127.0.0.0/8 -p tcp -m comment --comment "ns/svc-${i}:http" -m tcp --dport ${port} -m nfacct --nfacct-name localhost_nps_accepted_pkts -j KUBE-EXT-A`);
    lines.push(`-A KUBE-NODEPORTS -p tcp -m comment --comment "ns/svc-${i}:http" -m tcp --dport ${port} -j KUBE-EXT-A`);
  }
  lines.push('-A KUBE-EXT-A -j DNAT --to-destination 10.244.1.5:8080', 'COMMIT', '');
  const { ruleset } = parseIptablesSave(lines.join('\n'));
  const rs = compileRuleset(ruleset);
  const np = rs.tables.nat!.chains.get('KUBE-NODEPORTS')!;
  assert.deepEqual(np.index.runs.map((r) => [r.kind, r.start, r.end]), [[RUN_PORT, 0, 2 * n]]);
  const send = (dst: string, dport: number) => {
    const p = makePacket({ proto: 'tcp', src: parseIPv4('10.244.1.5'), dst: parseIPv4(dst), sport: 40000, dport });
    const res = newHookResult();
    evaluateHook(rs, 'OUTPUT', p, testContext(), res);
    const lin = newHookResult();
    linearEvaluateHook(ruleset, 'OUTPUT', makePacket({ proto: 'tcp', src: parseIPv4('10.244.1.5'), dst: parseIPv4(dst), sport: 40000, dport }), testContext(), lin);
    assert.deepEqual(res, lin, `${dst}:${dport}`);
    return res;
  };
  // To the node's address: the 127/8 twins fail in the header (no matches), the plain rules before
  // service 300's evaluate comment + tcp; service 300's plain rule matches (comment, tcp), then DNAT.
  const node = send('192.168.0.2', 30300);
  assert.equal(node.rulesVisited, 1 + 2 * 300 + 2 + 1);
  assert.equal(node.matchesEvaluated, 300 * 2 + 2);
  // To localhost: every twin before it evaluates too; the twin of 30300 matches (comment, tcp,
  // nfacct: a counter without a quota always matches), then DNAT.
  const local = send('127.0.0.1', 30300);
  assert.equal(local.rulesVisited, 1 + 2 * 300 + 1 + 1);
  assert.equal(local.matchesEvaluated, 300 * 4 + 3);
  // A port no rule has: the whole run, its cost from the prefix sums.
  assert.equal(send('192.168.0.2', 80).rulesVisited, 1 + 2 * n);
});
