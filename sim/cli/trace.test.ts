import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputError } from '../io/input-error.ts';
import { DEFAULT_COSTS, WALK_CACHE_RULES, withCosts } from '../cost/cost-model.ts';
import { formatTraceText, parsePacketSpec, runTrace, traceJson, type TraceOptions } from './trace.ts';
import { decodeIPv4, LINKTYPE_RAW, parsePcap } from '../net/pcap.ts';
import { formatIPv4 } from '../net/ipv4.ts';
import { TCP_SYN } from '../net/packet.ts';

// Golden files: set UPDATE_GOLDEN=1 to rewrite them after an intended change, then review the diff.
const G = 'test/golden/netfilter';
function golden(name: string, actual: string): void {
  const p = join(G, name);
  if (process.env.UPDATE_GOLDEN) writeFileSync(p, actual);
  assert.equal(actual, readFileSync(p, 'utf8'), `differs from ${p}`);
}
const LEGACY = join(G, 'kube-proxy-legacy.iptables-save');
const NFT = join(G, 'kube-proxy.nft');

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'sim/cli.ts', 'trace', ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

// The goldens print the cost line, so they are made with a fixed cost table rather than
// DEFAULT_COSTS, which calibration changes; one test below checks that the command itself charges
// and prints DEFAULT_COSTS.
const GOLDEN_COSTS = withCosts(DEFAULT_COSTS, {
  hookNs: 150, perRuleNs: { legacy: 4.6, nft: 9 }, perRuleLogNs: { legacy: 0, nft: 0 }, perMatchNs: 2, chainJumpNs: 10, nftRuleNs: 9, nftLookupNs: 40,
});

const web: TraceOptions = { rules: LEGACY, packet: 'tcp 10.244.2.8:40000 > 10.96.112.40:80', nodeIp: '172.18.0.3', seed: '1' };

test('trace golden: a pod-to-ClusterIP packet through a real legacy kube-proxy dump', () => {
  const r = runTrace({ ...web, costs: GOLDEN_COSTS });
  golden('trace-legacy.txt', formatTraceText(r));
  // From a pod on another node: PREROUTING (DNAT), then forwarded.
  assert.deepEqual(r.hooks, ['PREROUTING', 'FORWARD', 'POSTROUTING']);
  assert.equal(r.verdict, 'ACCEPT');
  assert.match(r.dnat!, /^10\.244\.(1\.5|2\.9|3\.14):8080$/);
  assert.equal(r.masquerade, false, 'from inside the cluster CIDR: no KUBE-MARK-MASQ');
});

test('trace golden: the same through `nft list ruleset` text (--format nft)', () => {
  const r = runTrace({ rules: NFT, format: 'nft', packet: 'tcp 10.0.1.5:40000 > 172.30.0.44:80', nodeIp: '192.168.0.2', seed: '1', costs: GOLDEN_COSTS });
  golden('trace-nft.txt', formatTraceText(r));
  assert.match(r.dnat!, /^10\.180\.0\.[45]:80$/);
});

test('--json: verdict, dnat, masquerade, rulesVisited and steps (table, chain, rule number, rule text)', () => {
  const j = traceJson(runTrace({ ...web, packet: 'tcp 192.168.9.9:40000 > 10.96.112.40:80' })) as Record<string, unknown>;
  assert.equal(j.verdict, 'ACCEPT');
  assert.match(j.dnat as string, /^10\.244\.\d+\.\d+:8080$/);
  assert.equal(j.masquerade, true, 'from outside 10.244.0.0/16: KUBE-MARK-MASQ, then MASQUERADE');
  assert.ok(Number.isInteger(j.rulesVisited) && (j.rulesVisited as number) > 5);
  const steps = j.steps as { table: string; chain: string; rule: number; text: string }[];
  assert.deepEqual(
    steps.find((s) => s.chain === 'KUBE-SERVICES'),
    {
      hook: 'PREROUTING',
      table: 'nat',
      chain: 'KUBE-SERVICES',
      type: 'rule',
      rule: 3,
      text: '-A KUBE-SERVICES -d 10.96.112.40/32 -p tcp -m comment --comment "shop/web:http cluster IP" -m tcp --dport 80 -j KUBE-SVC-7EJNTS7AENER2WX5',
      packet: 'tcp 192.168.9.9:40000 > 10.96.112.40:80',
      mark: '0x0',
    },
  );
  // The CLI prints the same object.
  const r = cli('--rules', LEGACY, '--packet', 'tcp 192.168.9.9:40000 > 10.96.112.40:80', '--node-ip', '172.18.0.3', '--json');
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), j);
});

test('the command charges DEFAULT_COSTS and says so in the cost line', () => {
  const c = DEFAULT_COSTS;
  const text = formatTraceText(runTrace(web));
  const perRule =
    c.perRuleLogNs.legacy === 0
      ? `${c.perRuleNs.legacy} ns per rule`
      : `${c.perRuleNs.legacy} ns per rule + ${c.perRuleLogNs.legacy} ns x ln(rules / ${WALK_CACHE_RULES}) in a hook's walk of more than ${WALK_CACHE_RULES}`;
  assert.ok(text.includes(`(${c.hookNs} ns per hook, ${perRule}, ${c.perMatchNs} ns per match, ${c.chainJumpNs} ns per jump)`), text);
  const r = runTrace(web);
  const hooks = r.hooks.length;
  // This dump's walks are short (no hook walks WALK_CACHE_RULES rules), so every rule costs perRuleNs.
  assert.ok(r.rulesVisited <= WALK_CACHE_RULES);
  const expected = hooks * c.hookNs + r.rulesVisited * c.perRuleNs.legacy + r.matchesEvaluated! * c.perMatchNs + r.jumps! * c.chainJumpNs;
  assert.ok(Math.abs(r.costNs - expected) < 1e-6, `${r.costNs} vs ${expected}`);
  const pinned = runTrace({ ...web, costs: GOLDEN_COSTS });
  assert.equal(pinned.rulesVisited, r.rulesVisited);
});

test('a Service without endpoints is rejected in filter FORWARD with icmp-port-unreachable', () => {
  const r = runTrace({ ...web, packet: 'tcp 10.244.2.8:40000 > 10.96.45.17:80' });
  assert.equal(r.verdict, 'REJECT');
  assert.equal(r.rejectWith, 'icmp-port-unreachable');
  assert.deepEqual(r.hooks, ['PREROUTING', 'FORWARD']);
  assert.equal(r.steps.at(-1)!.chain, 'KUBE-SERVICES');
  assert.equal(r.steps.at(-1)!.table, 'filter');
});

test('a packet from the node itself starts at OUTPUT; a NodePort on the node\'s address is delivered locally', () => {
  const out = runTrace({ ...web, packet: 'tcp 172.18.0.3:40000 > 10.96.0.1:443' });
  assert.deepEqual(out.hooks, ['OUTPUT', 'POSTROUTING']);
  assert.equal(out.dnat, '172.18.0.2:6443');
  assert.equal(out.masquerade, true, 'the node\'s own address is outside the cluster CIDR');
  const np = runTrace({ ...web, packet: 'tcp 192.168.9.9:50000 > 172.18.0.3:30080' });
  assert.ok(np.steps.some((s) => s.chain === 'KUBE-NODEPORTS'));
  assert.deepEqual(np.hooks, ['PREROUTING', 'FORWARD', 'POSTROUTING'], 'DNATed to a pod: forwarded');
  // --hook walks exactly the hooks given.
  assert.deepEqual(runTrace({ ...web, hook: 'output' }).hooks, ['OUTPUT']);
  // Not the first packet: nat is not consulted (the connection's NAT is in conntrack).
  const est = runTrace({ ...web, ctstate: 'ESTABLISHED' });
  assert.equal(est.dnat, null);
  assert.ok(est.steps.every((s) => s.table !== 'nat'));
});

test('packet specs: what parses and what is refused', () => {
  assert.equal(parsePacketSpec('udp 10.0.0.1:53 > 10.0.0.2:53').proto, 'udp');
  assert.equal(parsePacketSpec('ICMP 10.0.0.1 > 10.0.0.2').dport, 0);
  for (const bad of ['tcp 10.0.0.1 > 10.0.0.2:80', 'tcp 10.0.0.1:1 > 10.0.0.300:80', 'gre 10.0.0.1 > 10.0.0.2', 'tcp 10.0.0.1:1 -> 10.0.0.2:80', 'icmp 10.0.0.1:1 > 10.0.0.2', 'tcp 10.0.0.1:0 > 10.0.0.2:80', '']) {
    assert.throws(() => parsePacketSpec(bad), (e: unknown) => e instanceof InputError && e.where === '--packet', bad);
  }
});

test('bad input: one message, exit 2, nothing on stdout', () => {
  const dir = mkdtempSync(join(tmpdir(), 'svcsim-trace-'));
  const broken = join(dir, 'broken.rules');
  writeFileSync(broken, '*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -d 10.96.0.1/33 -j ACCEPT\nCOMMIT\n');
  const cases: [string[], RegExp][] = [
    [['--rules', join(dir, 'missing.rules'), '--packet', 'tcp 10.0.0.1:1 > 10.0.0.2:80'], /^svcsim: --rules: expected a readable file, found ".*missing\.rules" \(no such file\)\n$/],
    [['--rules', broken, '--packet', 'tcp 10.0.0.1:1 > 10.0.0.2:80'], /^svcsim: .*broken\.rules:3:18: expected an IPv4 address or CIDR, found "10\.96\.0\.1\/33"\n$/],
    [['--rules', LEGACY, '--packet', 'tcp 10.0.0.1 > 10.0.0.2:80'], /^svcsim: --packet: expected a packet like 'tcp 10\.244\.1\.5:40000 > 10\.96\.0\.10:80'.*found "tcp 10\.0\.0\.1 > 10\.0\.0\.2:80" \(tcp needs a source port\)\n$/],
    [['--rules', LEGACY, '--packet', 'tcp 10.0.0.1:1 > 10.0.0.2:80', '--hook', 'PREROUTNG'], /^svcsim: --hook: expected hooks from PREROUTING, INPUT, FORWARD, OUTPUT, POSTROUTING \(comma-separated\), found "PREROUTNG"\n$/],
    [['--rules', LEGACY, '--packet', 'tcp 10.0.0.1:1 > 10.0.0.2:80', '--format', 'pf'], /^svcsim: --format: expected iptables-save or nft, found "pf"\n$/],
    [['--rules', LEGACY, '--packet', 'tcp 10.0.0.1:1 > 10.0.0.2:80', '--seed', 'x'], /^svcsim: --seed: expected an integer, found "x"\n$/],
    [['--rules', LEGACY, '--packet', 'tcp 10.0.0.1:1 > 10.0.0.2:80', '--format', 'nft'], /^svcsim: .*kube-proxy-legacy\.iptables-save:\d+:\d+: expected /],
    [['--packet', 'tcp 10.0.0.1:1 > 10.0.0.2:80'], /required option '--rules <file>' not specified/],
  ];
  for (const [args, re] of cases) {
    const r = cli(...args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stdout, '', args.join(' '));
    assert.match(r.stderr, re, args.join(' '));
  }
});

// ------------------------------------------------------------ against the real kernel
// test/golden/netfilter/kernel/ holds what Linux did with the same dump (capture.sh: iptables-legacy
// in network namespaces, the raw table's TRACE target, conntrack -L after the client's connections).

const K = join(G, 'kernel');

test('kernel TRACE: a DNS packet visits the same table:chain:type:rulenum steps, with the same addresses', () => {
  const fields = (line: string) => {
    const m = /^TRACE: (\S+) IN=(\S*) OUT=(\S*) .*?SRC=(\S+) DST=(\S+) .*?PROTO=(\S+) SPT=(\d+) DPT=(\d+)/.exec(line);
    assert.ok(m, line);
    return m.slice(1).join(' ');
  };
  // The kernel's raw table held the TRACE rule itself; the dump has no raw table.
  const kernel = readFileSync(join(K, 'trace-dns.log'), 'utf8').trim().split('\n').filter((l) => !l.startsWith('TRACE: raw:')).map(fields);
  assert.ok(kernel.length >= 15);
  const r = runTrace({ rules: LEGACY, packet: 'udp 10.244.2.8:40053 > 10.96.0.10:53', nodeIp: '172.18.0.3,10.244.0.1', outIface: 'pods0' });
  const ours = formatTraceText(r).split('\n').filter((l) => l.startsWith('TRACE: ')).map(fields);
  assert.deepEqual(ours, kernel);
});

interface KernelConn {
  packet: string;
  dnat: string;
  masqueraded: boolean;
}

function kernelConnections(): KernelConn[] {
  return readFileSync(join(K, 'conntrack.txt'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => {
      const m = /^(tcp|udp) .*?src=(\S+) dst=(\S+) sport=(\d+) dport=(\d+) .*?src=(\S+) dst=(\S+) sport=(\d+) dport=(\d+)/.exec(l);
      assert.ok(m, l);
      const [, proto, src, dst, sport, dport, rsrc, rdst, rsport] = m;
      return { packet: `${proto} ${src}:${sport} > ${dst}:${dport}`, dnat: `${rsrc}:${rsport}`, masqueraded: rdst !== src };
    });
}

test('kernel conntrack: every connection was DNATed to an endpoint svcsim can choose, masqueraded exactly when svcsim says', () => {
  const conns = kernelConnections();
  assert.equal(conns.length, 308);
  const opts = { rules: LEGACY, nodeIp: '172.18.0.3,10.244.0.1', outIface: 'pods0' };
  const possible = (packet: string) => new Set(Array.from({ length: 24 }, (_, s) => runTrace({ ...opts, packet, seed: String(s) }).dnat));
  const cache = new Map<string, { dnats: Set<string | null>; masquerade: boolean }>();
  for (const c of conns) {
    const key = c.packet.replace(/:\d+ >/, ':1 >');
    let mine = cache.get(key);
    if (!mine) {
      mine = { dnats: possible(c.packet), masquerade: runTrace({ ...opts, packet: c.packet }).masquerade };
      cache.set(key, mine);
    }
    assert.ok(mine.dnats.has(c.dnat), `${c.packet}: the kernel chose ${c.dnat}, svcsim only ${[...mine.dnats].join(' ')}`);
    assert.equal(mine.masquerade, c.masqueraded, c.packet);
  }
  // The Service without endpoints: the kernel refused the connection (ECONNREFUSED from the ICMP
  // port unreachable) and kept no entry; svcsim rejects it with icmp-port-unreachable.
  assert.match(readFileSync(join(K, 'client.txt'), 'utf8'), /^no-endpoints 111$/m);
  assert.ok(conns.every((c) => !c.packet.includes('10.96.45.17')));
  const rej = runTrace({ ...opts, packet: 'tcp 10.244.2.8:40080 > 10.96.45.17:80' });
  assert.deepEqual([rej.verdict, rej.rejectWith], ['REJECT', 'icmp-port-unreachable']);
});

test('kernel conntrack: the endpoint split of 300 connections matches svcsim\'s over 300 seeds (chi-square, 2 df)', () => {
  const count = (dnats: string[]) => ['10.244.1.5:8080', '10.244.2.9:8080', '10.244.3.14:8080'].map((d) => dnats.filter((x) => x === d).length);
  const kernel = count(kernelConnections().filter((c) => c.packet.startsWith('tcp 10.244.2.8:') && c.packet.endsWith('10.96.112.40:80')).map((c) => c.dnat));
  assert.equal(kernel.reduce((a, b) => a + b), 300);
  const ours = count(Array.from({ length: 300 }, (_, s) => runTrace({ ...web, packet: `tcp 10.244.2.8:${41000 + s} > 10.96.112.40:80`, seed: String(s) }).dnat!));
  // Two-sample chi-square on a 2x3 table; 13.82 is the 0.001 critical value for 2 degrees of freedom.
  let chi2 = 0;
  for (let k = 0; k < 3; k++) {
    const expected = (kernel[k]! + ours[k]!) / 2;
    chi2 += (kernel[k]! - expected) ** 2 / expected + (ours[k]! - expected) ** 2 / expected;
  }
  assert.ok(chi2 < 13.82, `kernel ${kernel} vs svcsim ${ours}: chi-square ${chi2.toFixed(2)}`);
});

test('trace says when a rule\'s target is not modelled and the walk went on past it', () => {
  const r = runTrace({ rules: join(G, 'unmodelled.iptables-save'), packet: 'tcp 10.244.1.5:40000 > 10.96.0.10:80', costs: GOLDEN_COSTS });
  const tproxy = r.steps.find((s) => s.text.includes('TPROXY'))!;
  assert.equal(tproxy.note, 'target TPROXY is not modelled: the packet goes on to the next rule');
  assert.ok(formatTraceText(r).includes('    -A PREROUTING -p tcp -m tcp --dport 80 -j TPROXY --on-port 3128 --on-ip 0.0.0.0 --tproxy-mark 0x1/0x1\n    (target TPROXY is not modelled: the packet goes on to the next rule)\n'));
  assert.ok(r.warnings.some((w) => w.includes('table security is not modelled')));
  assert.equal(r.snat, `${r.snat!.split(':')[0]}:1000-2000`);
  const json = traceJson(r) as { steps: { note?: string }[] };
  assert.deepEqual(json.steps.filter((s) => s.note !== undefined).map((s) => s.note), [tproxy.note]);
});

test('trace --pcap: the packet as it arrived and as it leaves, raw IPv4, simulated timestamps; tshark reads it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'svcsim-trace-pcap-'));
  const file = join(dir, 'web.pcap');
  const r = cli('--rules', LEGACY, '--packet', web.packet, '--node-ip', '172.18.0.3', '--json', '--pcap', file);
  assert.equal(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout) as { dnat: string; costNs: number };
  const { linkType, records } = parsePcap(readFileSync(file));
  assert.equal(linkType, LINKTYPE_RAW);
  assert.equal(records.length, 2);
  const [arrived, leaves] = records.map((x) => decodeIPv4(x.data)) as [ReturnType<typeof decodeIPv4>, ReturnType<typeof decodeIPv4>];
  assert.deepEqual([formatIPv4(arrived.src), arrived.sport, formatIPv4(arrived.dst), arrived.dport, arrived.tcpFlags], ['10.244.2.8', 40000, '10.96.112.40', 80, TCP_SYN]);
  assert.equal(`${formatIPv4(leaves.dst)}:${leaves.dport}`, report.dnat);
  assert.deepEqual([records[0]!.timeNs, records[1]!.timeNs], [0, Math.round(report.costNs)]);
  assert.ok(arrived.ipChecksumOk && arrived.l4ChecksumOk && leaves.ipChecksumOk && leaves.l4ChecksumOk);
  const tshark = spawnSync('tshark', ['-r', file, '-T', 'fields', '-e', 'ip.src', '-e', 'ip.dst', '-e', 'tcp.dstport', '-e', 'frame.time_relative'], { encoding: 'utf8' });
  if (tshark.error === undefined) {
    assert.equal(tshark.status, 0, tshark.stderr);
    const lines = tshark.stdout.trim().split('\n').map((l) => l.split('\t'));
    assert.deepEqual(lines.map((l) => l.slice(0, 3)), [['10.244.2.8', '10.96.112.40', '80'], ['10.244.2.8', ...report.dnat.split(':')]]);
    assert.equal(Number(lines[1]![3]) * 1e9, Math.round(report.costNs));
  }
});

test('trace --pcap: a dropped packet is written once; an unwritable path exits 2 naming --pcap', () => {
  const dir = mkdtempSync(join(tmpdir(), 'svcsim-trace-pcap-'));
  const rules = join(dir, 'drop.rules');
  writeFileSync(rules, '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n');
  const file = join(dir, 'drop.pcap');
  assert.equal(cli('--rules', rules, '--packet', 'udp 10.244.1.5:5353 > 10.96.0.10:53', '--pcap', file).status, 0);
  assert.equal(parsePcap(readFileSync(file)).records.length, 1);
  // Under a regular file: no directory can be made there.
  const bad = cli('--rules', rules, '--packet', 'udp 10.244.1.5:5353 > 10.96.0.10:53', '--pcap', join(rules, 'x.pcap'));
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^svcsim: --pcap: expected a file path that can be written, found ".*drop\.rules\/x\.pcap"/);
});
