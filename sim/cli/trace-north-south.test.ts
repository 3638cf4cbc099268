import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../io/input-error.ts';
import { formatTraceText, runTrace, type TraceOptions, type TraceReport } from './trace.ts';

// test/golden/north-south/kernel/ holds what Linux did with node-a's and node-b's rules (rendered by
// `svcsim render` from cluster.yaml) for packets to NodeIP:nodePort, to a load-balancer IP and to
// an externalIP, from outside, from a pod and from the node itself: capture.sh, once per node and
// backend (iptables-legacy, iptables-nft, kube-proxy's nftables mode); README.md says how. Each
// test here runs `svcsim trace` on the same rules and packets and compares the verdict, the rules
// the packet went through, the DNAT and whether it was masqueraded.

const D = 'test/golden/north-south';
const K = join(D, 'kernel');
const NODES = { a: { ip: '192.168.0.10', podGateway: '10.244.0.1' }, b: { ip: '192.168.0.11', podGateway: '10.244.1.1' } } as const;
type NodeName = keyof typeof NODES;
const BACKENDS = ['legacy', 'nft', 'nftables'] as const;
type Backend = (typeof BACKENDS)[number];
type Verdict = 'ACCEPT' | 'DROP' | 'REJECT';

interface Probe {
  packet: string;
  sport: number;
  /** What connect() returned in the client: 11 no answer (dropped, or forwarded to a silent endpoint), 111 refused. */
  errno: number;
}

function probes(node: NodeName, backend: Backend): Probe[] {
  return lines(join(K, `${node}-${backend}.client.txt`)).map((l) => {
    const m = /^(tcp \S+:(\d+) > \S+) (\d+)$/.exec(l);
    assert.ok(m, l);
    return { packet: m[1]!, sport: Number(m[2]), errno: Number(m[3]) };
  });
}

function lines(path: string): string[] {
  return readFileSync(path, 'utf8').trim().split('\n').filter((l) => l !== '');
}

/** svcsim's trace of one probe on the node's rules, with the interfaces the capture's routes gave it. */
function ours(node: NodeName, backend: Backend, packet: string): TraceReport {
  const n = NODES[node];
  const fromPod = / 10\.244\./.test(packet.split('>')[0]!);
  return runTrace({
    rules: join(D, backend === 'nftables' ? `node-${node}.nft` : `node-${node}.iptables-save`),
    ...(backend === 'nft' ? { backend: 'nft' } : {}),
    packet,
    nodeIp: `${n.ip},${n.podGateway}`,
    inIface: fromPod ? 'pods0' : 'eth0',
    outIface: 'pods0',
  });
}

// ------------------------------------------------------------ conntrack: DNAT and masquerade

interface KernelConn {
  dnat: string;
  masqueraded: boolean;
}

/** `conntrack -L` after the probes, by source port: the reply tuple's source is the DNAT target, its destination the SNAT. */
function kernelConntrack(node: NodeName, backend: Backend): Map<number, KernelConn> {
  const out = new Map<number, KernelConn>();
  for (const l of lines(join(K, `${node}-${backend}.conntrack.txt`))) {
    const m = /^tcp .*?src=(\S+) dst=(\S+) sport=(\d+) dport=(\d+) .*?src=(\S+) dst=(\S+) sport=(\d+) dport=(\d+)/.exec(l);
    assert.ok(m, l);
    const [, src, dst, sport, dport, rsrc, rdst, rsport] = m;
    const dnat = `${rsrc}:${rsport}`;
    out.set(Number(sport), { dnat: dnat === `${dst}:${dport}` ? '' : dnat, masqueraded: rdst !== src });
  }
  return out;
}

// ------------------------------------------------------------ the kernel's trace, per backend

interface KernelTrace {
  /** The steps in a backend-specific form that svcsim's steps are mapped to (see ourSteps). */
  steps: string[];
  verdict: Verdict;
}

/** iptables-legacy: the raw table's TRACE lines (nf_log_syslog), the raw table itself left out (it held the TRACE rule). */
function legacyTrace(node: NodeName, sport: number): KernelTrace {
  const steps = lines(join(K, `${node}-legacy.trace.txt`))
    .filter((l) => l.includes(` SPT=${sport} `) && !l.startsWith('TRACE: raw:'))
    .map(legacyFields);
  // A legacy TRACE line does not say what the rule did: the last rule's target, from the dump the kernel loaded.
  const [table, chain, type, num] = steps.at(-1)!.split(' ')[0]!.split(':');
  const target = type === 'rule' ? dumpTarget(node, table!, chain!, Number(num)) : '';
  return { steps, verdict: target === 'DROP' || target === 'REJECT' ? target : 'ACCEPT' };
}

function legacyFields(line: string): string {
  const m = /^TRACE: (\S+) IN=(\S*) OUT=(\S*) .*?SRC=(\S+) DST=(\S+) .*?PROTO=(\S+) SPT=(\d+) DPT=(\d+)/.exec(line);
  assert.ok(m, line);
  return m.slice(1).join(' ');
}

/** The target (-j) of rule `num` of `chain` in `table` of the node's iptables-save dump. */
function dumpTarget(node: NodeName, table: string, chain: string, num: number): string {
  let current = '';
  const rules: string[] = [];
  for (const l of lines(join(D, `node-${node}.iptables-save`))) {
    if (l.startsWith('*')) current = l.slice(1);
    else if (current === table && l.startsWith(`-A ${chain} `)) rules.push(l);
  }
  return / -j (\S+)/.exec(rules[num - 1] ?? '')?.[1] ?? '';
}

/**
 * iptables-nft: `xtables-monitor --trace`. nf_tables traces each rule that matched (with what it
 * did: JUMP, CONTINUE, ACCEPT, DROP) and each base chain's policy, but no implicit returns; REJECT
 * shows as DROP (the xt target drops after sending the ICMP error).
 */
function nftBackendTrace(node: NodeName, sport: number): KernelTrace {
  const all = lines(join(K, `${node}-nft.trace.txt`));
  const ids = traceIds(all, (l) => l.startsWith('PACKET: ') && l.includes(` SPORT=${sport} `), 2);
  const steps: string[] = [];
  let verdict: Verdict = 'ACCEPT';
  for (const l of all) {
    // table:chain:rule:HANDLE:VERDICT[:TARGET] with the rule, or table:chain:policy:VERDICT; RETURN is printed as its number.
    const m = /^ TRACE: \d+ (\S+) (\w+):(\S+?):(rule:0x[0-9a-f]+|policy):(\S+?)(?::\S+)?\s*(?:-4 -t \w+ (.*))?$/.exec(l);
    if (!m || !ids.has(m[1]!) || m[2] === 'raw') continue;
    const [, , table, chain, where, what, text] = m;
    const type = where!.startsWith('rule') ? 'rule' : 'policy';
    // iptables prints `--nfacct-name  NAME` with two spaces (libxt_nfacct's save); svcsim with one.
    steps.push(type === 'rule' ? `${table}:${chain}:rule ${text!.trim().replace(/ {2,}/g, ' ')}` : `${table}:${chain}:policy`);
    if (what === 'DROP') verdict = / -j REJECT\b/.test(text ?? '') ? 'REJECT' : 'DROP';
  }
  return { steps, verdict };
}

/**
 * The nf_tables trace ids of one probe: the packet's packet lines name it. A packet that loops back
 * through lo is a new skb on the way in, with a trace id of its own.
 */
function traceIds(all: string[], isPacketLine: (l: string) => boolean, field: number): Set<string> {
  const ids = new Set(all.filter(isPacketLine).map((l) => l.split(' ')[field]!));
  assert.ok(ids.size > 0, 'no trace of the probe');
  return ids;
}

/** nftables mode: `nft monitor trace`; the rules of the capture's own svcsim-trace table left out. reject shows as verdict drop. */
function nftablesTrace(node: NodeName, sport: number): KernelTrace {
  const all = lines(join(K, `${node}-nftables.trace.txt`));
  const ids = traceIds(all, (l) => / packet: /.test(l) && l.includes(` tcp sport ${sport} `), 2);
  const steps: string[] = [];
  let verdict: Verdict = 'ACCEPT';
  for (const l of all) {
    const m = /^trace id (\S+) ip (\S+) (\S+) (rule|policy) (.*?)\s*$/.exec(l);
    if (!m || !ids.has(m[1]!) || m[2] !== 'kube-proxy') continue;
    const [, , , chain, type, rest] = m;
    if (type === 'policy') {
      if (rest!.startsWith('drop')) verdict = 'DROP';
      continue;
    }
    const r = /^(.*) \(verdict (\w+)/.exec(rest!);
    assert.ok(r, l);
    steps.push(`${chain} ${r[1]}`);
    if (r[2] === 'drop') verdict = /^reject\b/.test(r[1]!) ? 'REJECT' : 'DROP';
  }
  return { steps, verdict };
}

function kernelTrace(node: NodeName, backend: Backend, sport: number): KernelTrace {
  return backend === 'legacy' ? legacyTrace(node, sport) : backend === 'nft' ? nftBackendTrace(node, sport) : nftablesTrace(node, sport);
}

/** svcsim's steps in the form of the backend's kernel trace. */
function ourSteps(r: TraceReport, backend: Backend): string[] {
  if (backend === 'legacy') {
    return formatTraceText(r).split('\n').filter((l) => l.startsWith('TRACE: ')).map(legacyFields);
  }
  if (backend === 'nft') {
    return r.steps.filter((s) => s.type !== 'return').map((s) => (s.type === 'rule' ? `${s.table}:${s.chain}:rule ${s.text}` : `${s.table}:${s.chain}:policy`));
  }
  // nft lists an anonymous set of one element as the element itself (kube-proxy writes
  // `ip saddr != { 203.0.113.0/24 }`; nft 1.0.6 prints `ip saddr != 203.0.113.0/24`).
  return r.steps.map((s) => `${s.chain} ${s.text.replace(/(addr (?:!= )?)\{ ([^,:{}]+) \}/g, '$1$2')}`);
}

// ------------------------------------------------------------ the hooks the packet crossed

/** The base chains of kube-proxy's nftables ruleset and their hooks (`type T hook H priority P`). */
function nftBaseChains(node: NodeName): Map<string, string> {
  const out = new Map<string, string>();
  let chain = '';
  for (const l of lines(join(D, `node-${node}.nft`))) {
    const c = /^\s*chain (\S+) \{/.exec(l);
    if (c) chain = c[1]!;
    const h = /^\s*type \w+ hook (\w+) /.exec(l);
    if (h) out.set(chain, h[1]!.toUpperCase());
  }
  return out;
}

/**
 * The hooks in the order the kernel's trace shows them: iptables names a hook by its base chain
 * (PREROUTING, INPUT, ...); nft prints a `packet:` line on entering each base chain. A packet
 * coming back in through lo crosses PREROUTING a second time, so only consecutive repeats merge.
 */
function kernelHooks(node: NodeName, backend: Backend, sport: number): string[] {
  const seen: string[] = [];
  const add = (h: string | undefined) => {
    if (h !== undefined && seen.at(-1) !== h) seen.push(h);
  };
  const all = lines(join(K, `${node}-${backend}.trace.txt`));
  if (backend === 'legacy') {
    for (const l of all) if (l.includes(` SPT=${sport} `)) add(/^TRACE: \w+:(PREROUTING|INPUT|FORWARD|OUTPUT|POSTROUTING):/.exec(l)?.[1]);
  } else if (backend === 'nft') {
    const ids = traceIds(all, (l) => l.startsWith('PACKET: ') && l.includes(` SPORT=${sport} `), 2);
    for (const l of all) if (l.startsWith(' TRACE: ') && ids.has(l.split(' ')[3]!)) add(/^ TRACE: \d+ \S+ \w+:(PREROUTING|INPUT|FORWARD|OUTPUT|POSTROUTING):/.exec(l)?.[1]);
  } else {
    const base = nftBaseChains(node);
    const ids = traceIds(all, (l) => / packet: /.test(l) && l.includes(` tcp sport ${sport} `), 2);
    for (const l of all) {
      const m = /^trace id (\S+) ip kube-proxy (\S+) packet: /.exec(l);
      if (m && ids.has(m[1]!)) add(base.get(m[2]!));
    }
  }
  return seen;
}

// ------------------------------------------------------------ the comparisons

const WHAT: Record<number, string> = {
  41001: 'outside -> NodePort, eTP Cluster',
  41002: 'outside -> NodePort, eTP Local',
  41003: 'outside, inside loadBalancerSourceRanges -> LB IP',
  41004: 'outside, outside loadBalancerSourceRanges -> LB IP',
  41005: "outside -> the LB Service's NodePort (source ranges do not apply)",
  41006: 'outside -> externalIP',
  41007: 'pod on the node -> NodePort, eTP Local',
  41008: 'pod on the node -> NodePort, eTP Cluster',
  41009: 'the node itself -> its NodePort, eTP Cluster',
  41010: 'the node itself -> its NodePort, eTP Local',
  41011: 'the node itself -> LB IP (its address is outside the source ranges)',
  41012: "outside -> an eTP Local LoadBalancer Service's healthCheckNodePort",
  41013: 'outside -> NodePort of a Service without endpoints',
  41014: 'the node itself -> 127.0.0.1:nodePort (iptables: localhost NodePorts)',
  41015: 'the node itself -> its healthCheckNodePort (out and back in through lo)',
  41016: 'outside -> LB IP of an eTP Local Service (endpoint on node-a)',
};

for (const node of ['a', 'b'] as const) {
  for (const backend of BACKENDS) {
    test(`kernel north-south, node-${node}, ${backend}: same verdict, rules, DNAT and masquerade for every probe`, () => {
      const ps = probes(node, backend);
      assert.equal(ps.length, Object.keys(WHAT).length);
      const conns = kernelConntrack(node, backend);
      for (const p of ps) {
        const say = `${p.packet} (${WHAT[p.sport]})`;
        const k = kernelTrace(node, backend, p.sport);
        const r = ours(node, backend, p.packet);
        assert.deepEqual(ourSteps(r, backend), k.steps, say);
        // nftables: kube-proxy has no base chain at some hooks (no mangle table), so only those it has are seen.
        const hooks = backend === 'nftables' ? r.hooks.filter((h) => [...nftBaseChains(node).values()].includes(h)) : r.hooks;
        assert.deepEqual(kernelHooks(node, backend, p.sport), hooks, `${say}: hooks`);
        assert.equal(r.verdict, k.verdict, say);
        // What the client saw agrees with the verdict: a REJECT is refused, a DROP unanswered.
        if (k.verdict === 'REJECT') assert.equal(p.errno, 111, say);
        if (k.verdict === 'DROP') assert.equal(p.errno, 11, say);
        const c = conns.get(p.sport);
        if (k.verdict !== 'ACCEPT') assert.equal(c, undefined, `${say}: a dropped first packet leaves no conntrack entry`);
        if (c === undefined) {
          // Not forwarded to an endpoint: dropped, rejected, or delivered to the node's own closed port (RST, entry gone).
          assert.equal(r.dnat, null, say);
          continue;
        }
        assert.equal(r.dnat ?? '', c.dnat, say);
        assert.equal(r.masquerade, c.masqueraded, say);
      }
    });
  }
}

test('kernel north-south: the behaviours the captures show', () => {
  const verdict = (node: NodeName, backend: Backend, sport: number) => kernelTrace(node, backend, sport).verdict;
  for (const backend of BACKENDS) {
    const a = kernelConntrack('a', backend);
    const b = kernelConntrack('b', backend);
    // eTP Local keeps the client's address where the endpoint is local, and DROPs where none is.
    assert.deepEqual(a.get(41002), { dnat: '10.244.0.22:8080', masqueraded: false }, backend);
    assert.equal(verdict('b', backend, 41002), 'DROP', backend);
    // eTP Cluster masquerades, whichever node the endpoint is on.
    assert.equal(a.get(41001)?.masqueraded, true, backend);
    assert.equal(b.get(41001)?.masqueraded, true, backend);
    // loadBalancerSourceRanges refuse other sources at the LB IP (the node's own address too), not at the NodePort.
    for (const node of ['a', 'b'] as const) {
      assert.equal(verdict(node, backend, 41004), 'DROP', backend);
      assert.equal(verdict(node, backend, 41011), 'DROP', backend);
      assert.equal(verdict(node, backend, 41013), 'REJECT', backend);
    }
    assert.equal(a.get(41005)?.dnat, '10.244.0.23:8080', backend);
    // A pod's packet to an eTP Local NodePort goes to the Service's endpoints, local or not, unmasqueraded.
    assert.deepEqual(b.get(41007), { dnat: '10.244.0.22:8080', masqueraded: false }, backend);
    // eTP Local at the load-balancer IP: as at the NodePort.
    assert.deepEqual(a.get(41016), { dnat: '10.244.0.25:8080', masqueraded: false }, backend);
    assert.equal(verdict('b', backend, 41016), 'DROP', backend);
  }
});

// ------------------------------------------------------------ the node's addresses

test('without --node-ip a NodePort packet is not the node\'s: trace says so, in both rule formats', () => {
  const packet = 'tcp 198.18.0.9:41002 > 192.168.0.11:30200';
  for (const rules of [join(D, 'node-b.iptables-save'), join(D, 'node-b.nft')]) {
    const blind = runTrace({ rules, packet });
    assert.ok(blind.warnings.some((w) => w.startsWith('no --node-ip: only 127.0.0.0/8 is local')), rules);
    assert.equal(blind.dnat, null);
    const told = runTrace({ rules, packet, nodeIp: '192.168.0.11' });
    assert.ok(!told.warnings.some((w) => w.includes('--node-ip')), rules);
    assert.equal(told.verdict, 'DROP', `${rules}: eTP Local, no local endpoint`);
  }
  // Rules without an addrtype/fib local test need no addresses.
  assert.deepEqual(runTrace({ rules: 'test/golden/netfilter/unmodelled.iptables-save', packet }).warnings.filter((w) => w.includes('--node-ip')), []);
});

test('--node-ip, --in-iface, --out-iface: a wrong value is one message naming the flag, exit 2', () => {
  const base = { rules: join(D, 'node-a.iptables-save'), packet: 'tcp 198.18.0.9:1 > 192.168.0.10:30100' };
  const IFACE = "expected an interface name (1-15 characters, no '/', ':' or blanks, e.g. eth0)";
  const cases: [Partial<TraceOptions>, string][] = [
    [{ nodeIp: '192.168.0.10,10.244.0.300' }, '--node-ip: expected IPv4 addresses of the node, comma-separated, found "10.244.0.300"'],
    [{ inIface: 'a-name-too-long0' }, `--in-iface: ${IFACE}, found "a-name-too-long0"`],
    [{ outIface: 'eth0:1' }, `--out-iface: ${IFACE}, found "eth0:1"`],
    [{ outIface: '' }, `--out-iface: ${IFACE}, found ""`],
  ];
  for (const [flags, message] of cases) {
    assert.throws(() => runTrace({ ...base, ...flags }), (e: unknown) => e instanceof InputError && e.message === message, message);
  }
  // The longest name the kernel takes is accepted.
  assert.equal(runTrace({ ...base, inIface: 'a-name-too-lon0' }).hooks[0], 'PREROUTING');
  // Through the command: the message alone on stderr, exit 2.
  const args = ['--import', 'tsx', 'sim/cli.ts', 'trace', '--rules', base.rules, '--packet', base.packet, '--out-iface', 'eth0:1'];
  const r = spawnSync(process.execPath, args, { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr, `svcsim: --out-iface: ${IFACE}, found "eth0:1"\n`);
});
