/**
 * `svcsim trace --rules DUMP [--format iptables-save|nft] --packet 'tcp 10.244.1.5:40000 > 10.96.0.10:80'
 * [--seed N] [--hook H,...] [--node-ip IP,...] [--json]`: one packet through a node's rules, printed
 * the way the kernel's TRACE target logs it (`TRACE: table:chain:type:rulenum IN= OUT= SRC= DST=
 * ...`, net/netfilter/nf_log_syslog.c), each step followed by the rule text, then the verdict, the
 * NAT chosen and the totals (rules visited, simulated ns from the CostModel).
 *
 * The rules are a dump as `iptables-save` prints it from either backend (legacy or nf_tables; the
 * header tells which, for the per-rule cost) or, with --format nft, `nft list ruleset` text. The
 * packet is the first packet of a new connection unless --ctstate says otherwise; a `statistic`
 * match (nft: `numgen random`) draws from the stream named trace/statistic of --seed.
 *
 * This file reads the flags and the files and prints; the tracers are sim/netfilter/trace.ts and
 * sim/nftables/trace.ts, walked along the hooks by sim/host/packet-path.ts.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { InputError } from '../io/input-error.ts';
import { quoteInput, textOf } from '../io/excerpt.ts';
import { DEFAULT_COSTS, WALK_CACHE_RULES, type CostModel, type IptablesBackend } from '../cost/cost-model.ts';
import { formatIPv4, tryParseIPv4 } from '../net/ipv4.ts';
import { makePacket, TCP_SYN, type Packet } from '../net/packet.ts';
import type { Protocol } from '../net/protocol.ts';
import { IpsetRegistry } from '../netfilter/ipset.ts';
import { parseIptablesSave } from '../netfilter/iptables-save.ts';
import { CT_ESTABLISHED, CT_INVALID, CT_NEW, CT_RELATED, CT_STATE_NAMES, CT_UNTRACKED, type Disposition } from '../netfilter/rule.ts';
import { HOOKS, type Hook } from '../netfilter/ruleset.ts';
import { IptablesTracer, type TraceLine } from '../netfilter/trace.ts';
import type { FinalVerdict } from '../nftables/evaluate.ts';
import { CT_STATE_BITS } from '../nftables/key.ts';
import { parseNft } from '../nftables/parse.ts';
import { NftTracer } from '../nftables/trace.ts';
import type { Hook as NftHook } from '../nftables/types.ts';
import { walkPath } from '../host/packet-path.ts';
import { writeTracePcap } from './trace-pcap.ts';
import { addExamples } from './examples.ts';

export interface TraceOptions {
  rules: string;
  format?: string;
  packet: string;
  seed?: string;
  hook?: string;
  nodeIp?: string;
  ctstate?: string;
  mark?: string;
  inIface?: string;
  outIface?: string;
  backend?: string;
  ipset?: string;
  json?: boolean;
  /** Write the packet as it arrived and as it leaves to this pcap file (see trace-pcap.ts). */
  pcap?: string;
  /** The cost table (library callers and tests; the command uses DEFAULT_COSTS). */
  costs?: CostModel;
}

export interface TraceReport {
  format: 'iptables-save' | 'nft';
  backend: IptablesBackend | null;
  packet: string;
  seed: number;
  hooks: Hook[];
  steps: TraceLine[];
  verdict: Disposition;
  rejectWith: string | null;
  dnat: string | null;
  origDst: string | null;
  snat: string | null;
  masquerade: boolean;
  randomFully: boolean;
  mark: number;
  rulesVisited: number;
  matchesEvaluated: number | null;
  lookups: number | null;
  chainsEntered: number | null;
  jumps: number | null;
  costNs: number;
  /** The cost table the simulated ns were charged from (printed in the cost line). */
  costs: CostModel;
  warnings: string[];
}

export const TRACE_FORMATS = ['iptables-save', 'nft'] as const;

// ------------------------------------------------------------------ inputs

const PACKET_RE = /^\s*(tcp|udp|sctp|icmp)\s+([0-9.]+)(?::([0-9]+))?\s*>\s*([0-9.]+)(?::([0-9]+))?\s*$/i;
const PACKET_EXAMPLE = "a packet like 'tcp 10.244.1.5:40000 > 10.96.0.10:80' (tcp, udp, sctp with ports; icmp without)";

/** `PROTO SRC[:SPORT] > DST[:DPORT]`; ports are required for tcp/udp/sctp and absent for icmp. */
export function parsePacketSpec(text: string): Packet {
  const bad = (why?: string) => new InputError('--packet', PACKET_EXAMPLE, quoteInput(text), why);
  const m = PACKET_RE.exec(text);
  if (!m) throw bad();
  const proto = m[1]!.toLowerCase() as Protocol;
  const src = tryParseIPv4(m[2]!);
  const dst = tryParseIPv4(m[4]!);
  if (src === undefined) throw bad(`${m[2]} is not an IPv4 address`);
  if (dst === undefined) throw bad(`${m[4]} is not an IPv4 address`);
  const port = (t: string | undefined, which: string): number => {
    if (proto === 'icmp') {
      if (t !== undefined) throw bad(`icmp has no ${which} port`);
      return 0;
    }
    if (t === undefined) throw bad(`${proto} needs a ${which} port`);
    const n = Number(t);
    if (!(n >= 1 && n <= 65535)) throw bad(`${which} port ${t} is outside 1-65535`);
    return n;
  };
  const sport = port(m[3], 'source');
  const dport = port(m[5], 'destination');
  return makePacket({ proto, src, sport, dst, dport, tcpFlags: proto === 'tcp' ? TCP_SYN : 0 });
}

function formatPacket(p: { proto: Protocol; src: number; sport: number; dst: number; dport: number }): string {
  const port = (n: number) => (p.proto === 'icmp' ? '' : `:${n}`);
  return `${p.proto} ${formatIPv4(p.src)}${port(p.sport)} > ${formatIPv4(p.dst)}${port(p.dport)}`;
}

function readInput(path: string, flag: string, expected: string): string {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'a directory' : code === 'EACCES' ? 'permission denied' : String(code);
    throw new InputError(flag, 'a readable file', `${JSON.stringify(path)} (${why})`);
  }
  return textOf(path, bytes, expected);
}

function parseSeed(s: string | undefined): number {
  if (s === undefined) return 1;
  if (!/^-?[0-9]+$/.test(s) || !Number.isSafeInteger(Number(s))) throw new InputError('--seed', 'an integer', JSON.stringify(s));
  return Number(s);
}

function parseHooks(s: string | undefined): Hook[] | undefined {
  if (s === undefined) return undefined;
  return s.split(',').map((h) => {
    const u = h.trim().toUpperCase();
    if (!(HOOKS as readonly string[]).includes(u)) throw new InputError('--hook', `hooks from ${HOOKS.join(', ')} (comma-separated)`, JSON.stringify(h));
    return u as Hook;
  });
}

function parseNodeIps(s: string | undefined): Set<number> {
  const out = new Set<number>();
  if (s === undefined) return out;
  for (const t of s.split(',')) {
    const ip = tryParseIPv4(t.trim());
    if (ip === undefined) throw new InputError('--node-ip', 'IPv4 addresses of the node, comma-separated', JSON.stringify(t));
    out.add(ip);
  }
  return out;
}

/**
 * An interface name as the kernel accepts one (net/core/dev.c dev_valid_name): 1 to 15 characters
 * (IFNAMSIZ 16 with the NUL), not "." or "..", no '/', ':' or white space.
 */
function checkIface(s: string | undefined, flag: string): void {
  if (s === undefined) return;
  if (s.length >= 1 && s.length <= 15 && s !== '.' && s !== '..' && !/[/:\s]/.test(s)) return;
  throw new InputError(flag, "an interface name (1-15 characters, no '/', ':' or blanks, e.g. eth0)", JSON.stringify(s));
}

function parseCtState(s: string | undefined): number {
  if (s === undefined) return CT_NEW;
  let bits = 0;
  for (const t of s.split(',')) {
    const e = CT_STATE_NAMES.find(([n]) => n === t.trim().toUpperCase());
    if (!e) throw new InputError('--ctstate', `conntrack states from ${CT_STATE_NAMES.map(([n]) => n).join(',')}`, JSON.stringify(t));
    bits |= e[1];
  }
  return bits;
}

function parseMark(s: string | undefined): number {
  if (s === undefined) return 0;
  const v = /^0x[0-9a-f]{1,8}$/i.test(s) ? parseInt(s, 16) : /^[0-9]+$/.test(s) ? Number(s) : NaN;
  if (!(v >= 0 && v <= 0xffffffff)) throw new InputError('--mark', 'a 32-bit mark like 0x4000', JSON.stringify(s));
  return v;
}

/** The iptables backend a dump came from: iptables-nft-save says so in its header. */
export function detectBackend(text: string): IptablesBackend {
  return /^# Generated by iptables-nft-save|\(nf_tables\)/m.test(text) ? 'nft' : 'legacy';
}

/** `nft list ruleset` text starts with `table`; an iptables-save dump with `*table` or `:`/`-A` lines. */
function detectFormat(text: string): 'iptables-save' | 'nft' {
  const first = text.split('\n').find((l) => l.trim() !== '' && !l.trim().startsWith('#'));
  return first !== undefined && /^\s*(table|add|flush)\s/.test(first) ? 'nft' : 'iptables-save';
}

// ------------------------------------------------------------------ the two rule models

/** iptables' CT_* bits to nft's `ct state` bits (which follow the kernel's IP_CT_* numbering); SNAT/DNAT have no nft state. */
function nftCtState(bits: number): number {
  let v = 0;
  if (bits & CT_INVALID) v |= CT_STATE_BITS.invalid!;
  if (bits & CT_NEW) v |= CT_STATE_BITS.new!;
  if (bits & CT_ESTABLISHED) v |= CT_STATE_BITS.established!;
  if (bits & CT_RELATED) v |= CT_STATE_BITS.related!;
  if (bits & CT_UNTRACKED) v |= CT_STATE_BITS.untracked!;
  return v;
}

const DISPOSITION: Record<FinalVerdict, Disposition> = { accept: 'ACCEPT', drop: 'DROP', reject: 'REJECT' };

/**
 * Without --node-ip only 127.0.0.0/8 is a local address, so the rules' "is this the node?" tests
 * (iptables' `-m addrtype --dst-type LOCAL` in front of KUBE-NODEPORTS, nft's `fib daddr type
 * local`) match nothing else: a packet to NodeIP:nodePort would be traced as forwarded untouched.
 * The kernel answers those tests from the node's own addresses (xt_addrtype.c, nft_fib_ipv4.c:
 * inet_addr_type of the address), which the rules do not carry.
 */
function nodeIpWarnings(text: string, o: TraceOptions, format: 'iptables-save' | 'nft'): string[] {
  if (o.nodeIp !== undefined) return [];
  const test = format === 'nft' ? /\bfib [sd]addr\b[^\n]*\btype\b[^\n]*\blocal\b/ : /--(?:src|dst)-type !?\s*LOCAL\b/;
  if (!test.test(text)) return [];
  const what = format === 'nft' ? 'fib daddr type local' : 'addrtype --dst-type LOCAL';
  return [`no --node-ip: only 127.0.0.0/8 is local, so ${what} (NodePorts) matches no other address`];
}

function traceIptables(text: string, o: TraceOptions, p: Packet, common: Common): TraceReport {
  const loaded = parseIptablesSave(text, o.rules);
  const backend = o.backend === undefined ? detectBackend(text) : (o.backend as IptablesBackend);
  let ipsets: IpsetRegistry | null = null;
  if (o.ipset !== undefined) {
    ipsets = new IpsetRegistry();
    ipsets.restore(readInput(o.ipset, '--ipset', 'ipset save output'), o.ipset);
  }
  const tracer = new IptablesTracer(loaded, p, { backend, costs: common.costs, seed: common.seed, ctState: common.ctState, localAddrs: common.local, ipsets });
  const path = walkPath(tracer.hook, p, tracer.ctx, { hooks: common.hooks, inIface: o.inIface, outIface: o.outIface });
  const t = tracer.result(path.verdict);
  return {
    format: 'iptables-save',
    backend,
    packet: common.packetText,
    seed: common.seed,
    hooks: path.hooks,
    verdict: path.verdict,
    ...t,
    warnings: [...nodeIpWarnings(text, o, 'iptables-save'), ...t.warnings],
    lookups: null,
    costs: common.costs,
  };
}

function traceNft(text: string, o: TraceOptions, p: Packet, common: Common): TraceReport {
  const rs = parseNft(text, o.rules);
  const tracer = new NftTracer(rs, p, { costs: common.costs, seed: common.seed, ctState: nftCtState(common.ctState), localAddrs: common.local });
  const path = walkPath((h) => DISPOSITION[tracer.hook(h.toLowerCase() as NftHook)], p, tracer.path, { hooks: common.hooks, inIface: o.inIface, outIface: o.outIface });
  const t = tracer.result();
  return {
    format: 'nft',
    backend: null,
    packet: common.packetText,
    seed: common.seed,
    hooks: path.hooks,
    steps: t.steps.map((s) => ({ ...s, hook: s.hook.toUpperCase() as Hook, type: 'rule', note: null })),
    verdict: path.verdict,
    rejectWith: null,
    dnat: t.dnat,
    origDst: t.origDst,
    snat: null,
    masquerade: t.masquerade,
    randomFully: t.randomFully,
    mark: t.mark,
    rulesVisited: t.rulesVisited,
    matchesEvaluated: null,
    lookups: t.lookups,
    chainsEntered: null,
    jumps: null,
    costNs: t.costNs,
    costs: common.costs,
    warnings: nodeIpWarnings(text, o, 'nft'),
  };
}

// ------------------------------------------------------------------ the command

interface Common {
  costs: CostModel;
  seed: number;
  hooks: Hook[] | undefined;
  local: Set<number>;
  ctState: number;
  packetText: string;
}

/** Runs the tracer; throws InputError for anything wrong in the options or the files. */
export function runTrace(o: TraceOptions): TraceReport {
  if (o.format !== undefined && !(TRACE_FORMATS as readonly string[]).includes(o.format)) {
    throw new InputError('--format', TRACE_FORMATS.join(' or '), JSON.stringify(o.format));
  }
  if (o.backend !== undefined && o.backend !== 'legacy' && o.backend !== 'nft') {
    throw new InputError('--backend', 'legacy or nft', JSON.stringify(o.backend));
  }
  const p = parsePacketSpec(o.packet);
  p.mark = parseMark(o.mark);
  checkIface(o.inIface, '--in-iface');
  checkIface(o.outIface, '--out-iface');
  const common: Common = {
    costs: o.costs ?? DEFAULT_COSTS,
    seed: parseSeed(o.seed),
    hooks: parseHooks(o.hook),
    local: parseNodeIps(o.nodeIp),
    ctState: parseCtState(o.ctstate),
    packetText: formatPacket(p),
  };
  const text = readInput(o.rules, '--rules', 'iptables-save or nft list ruleset output');
  const format = (o.format as 'iptables-save' | 'nft' | undefined) ?? detectFormat(text);
  return format === 'nft' ? traceNft(text, o, p, common) : traceIptables(text, o, p, common);
}

function hex(v: number): string {
  return '0x' + (v >>> 0).toString(16);
}

function ns(v: number): string {
  return String(Math.round(v * 10) / 10);
}

/** The kernel's TRACE lines (nf_log_syslog's prefix, IN=/OUT=, addresses, ports, MARK when set). */
export function formatTraceText(r: TraceReport): string {
  const out: string[] = [];
  out.push(`# svcsim trace: ${r.packet} (${r.format}${r.backend ? `, ${r.backend} backend` : ''}, seed ${r.seed})`);
  for (const w of r.warnings) out.push(`# warning: ${w}`);
  for (const s of r.steps) {
    const pk = s.packet;
    const proto = pk.proto.toUpperCase();
    const ports = pk.proto === 'icmp' ? '' : ` SPT=${pk.sport} DPT=${pk.dport}`;
    const mark = pk.mark !== 0 ? ` MARK=${hex(pk.mark)}` : '';
    out.push(`TRACE: ${s.table}:${s.chain}:${s.type}:${s.rule} IN=${s.inIface} OUT=${s.outIface} SRC=${formatIPv4(pk.src)} DST=${formatIPv4(pk.dst)} PROTO=${proto}${ports}${mark}`);
    out.push(`    ${s.text}`);
    if (s.note !== null) out.push(`    (${s.note})`);
  }
  out.push('');
  out.push(`hooks:     ${r.hooks.join(' -> ')}`);
  out.push(`verdict:   ${r.verdict}${r.rejectWith ? ` (--reject-with ${r.rejectWith})` : ''}`);
  out.push(`dnat:      ${r.dnat === null ? 'none' : `${r.origDst} -> ${r.dnat}`}`);
  const snat = r.masquerade ? `masquerade${r.randomFully ? ' --random-fully' : ''}` : r.snat !== null ? `to ${r.snat}${r.randomFully ? ' --random-fully' : ''}` : 'none';
  out.push(`snat:      ${snat}`);
  if (r.mark !== 0) out.push(`mark:      ${hex(r.mark)}`);
  const counts = [`rules visited ${r.rulesVisited}`];
  if (r.matchesEvaluated !== null) counts.push(`matches evaluated ${r.matchesEvaluated}`);
  if (r.lookups !== null) counts.push(`set/map lookups ${r.lookups}`);
  if (r.chainsEntered !== null) counts.push(`chains entered ${r.chainsEntered}`);
  if (r.jumps !== null) counts.push(`jumps ${r.jumps}`);
  out.push(`totals:    ${counts.join(', ')}`);
  const c = r.costs;
  const model =
    r.format === 'nft'
      ? `${c.hookNs} ns per base chain, ${c.nftRuleNs} ns per rule, ${c.nftLookupNs} ns per lookup`
      : `${c.hookNs} ns per hook, ${perRule(c, r.backend ?? 'legacy')}, ${c.perMatchNs} ns per match, ${c.chainJumpNs} ns per jump`;
  out.push(`cost:      ${ns(r.costNs)} ns simulated (${model})`);
  return out.join('\n') + '\n';
}

/** The per-rule walk charge, with its long-walk term when the cost model has one (ruleWalkNs). */
function perRule(c: CostModel, b: IptablesBackend): string {
  const log = c.perRuleLogNs[b];
  return log === 0 ? `${c.perRuleNs[b]} ns per rule` : `${c.perRuleNs[b]} ns per rule + ${log} ns x ln(rules / ${WALK_CACHE_RULES}) in a hook's walk of more than ${WALK_CACHE_RULES}`;
}

/** The --json object: the report with addresses as text. */
export function traceJson(r: TraceReport): object {
  return {
    format: r.format,
    backend: r.backend,
    packet: r.packet,
    seed: r.seed,
    hooks: r.hooks,
    verdict: r.verdict,
    rejectWith: r.rejectWith,
    dnat: r.dnat,
    origDst: r.origDst,
    snat: r.snat,
    masquerade: r.masquerade,
    randomFully: r.randomFully,
    mark: hex(r.mark),
    rulesVisited: r.rulesVisited,
    matchesEvaluated: r.matchesEvaluated,
    lookups: r.lookups,
    chainsEntered: r.chainsEntered,
    jumps: r.jumps,
    costNs: Math.round(r.costNs * 10) / 10,
    steps: r.steps.map((s) => ({
      hook: s.hook,
      table: s.table,
      chain: s.chain,
      type: s.type,
      rule: s.rule,
      text: s.text,
      ...(s.note !== null ? { note: s.note } : {}),
      packet: formatPacket(s.packet),
      mark: hex(s.packet.mark),
    })),
    warnings: r.warnings,
  };
}

export function registerTrace(program: Command): void {
  const command = program
    .command('trace')
    .description("Trace one packet through a node's rules, as the kernel's TRACE target logs it, with the verdict, NAT and simulated cost")
    .requiredOption('--rules <file>', 'the rules: iptables-save output (legacy or nf_tables) or nft list ruleset')
    .requiredOption('--packet <spec>', "the packet, e.g. 'tcp 10.244.1.5:40000 > 10.96.0.10:80'")
    .option('--format <format>', 'iptables-save or nft (default: recognised from the file)')
    .option('--seed <n>', 'seed of the statistic / numgen random stream', '1')
    .option('--hook <hooks>', 'walk exactly these hooks, comma-separated (default: the route the packet takes)')
    .option('--node-ip <ips>', "the node's own addresses, comma-separated (addrtype LOCAL; a packet from one starts at OUTPUT)")
    .option('--ctstate <states>', 'conntrack state of the packet (default NEW: the first packet, which nat chains see)')
    .option('--mark <mark>', 'the packet mark on arrival (default 0)')
    .option('--in-iface <name>', 'interface a packet from elsewhere arrives on (default eth0)')
    .option('--out-iface <name>', 'interface a forwarded or outgoing packet leaves by (default eth0)')
    .option('--backend <backend>', 'iptables backend for the per-rule cost: legacy or nft (default: from the dump header)')
    .option('--ipset <file>', 'ipset save output, for -m set matches')
    .option('--json', 'print one JSON object instead of the TRACE lines')
    .option('--pcap <file>', 'also write the packet as it arrived and as it leaves (after NAT) as a pcap file (raw IPv4, simulated timestamps)')
    .action((opts: TraceOptions) => {
      const r = runTrace(opts);
      if (opts.pcap !== undefined) {
        // The packet as runTrace read it (it has checked these options already).
        const arrived = parsePacketSpec(opts.packet);
        arrived.mark = parseMark(opts.mark);
        const [nodeIp] = parseNodeIps(opts.nodeIp);
        writeTracePcap(opts.pcap, r, arrived, nodeIp ?? null);
      }
      process.stdout.write(opts.json ? JSON.stringify(traceJson(r), null, 2) + '\n' : formatTraceText(r));
    });
  addExamples(command, [
    { say: 'Trace a DNS query to a ClusterIP through an iptables-nft dump', run: ["svcsim trace --rules test/golden/netfilter/kube-proxy-nft.iptables-save --packet 'udp 10.244.1.5:40000 > 10.96.0.10:53'"] },
    {
      say: "Trace a client's packet to an externalTrafficPolicy Local NodePort through kube-proxy's nftables rules: node-a has the endpoint, node-b drops it",
      run: [
        "svcsim trace --rules test/golden/north-south/node-a.nft --packet 'tcp 198.18.0.9:41002 > 192.168.0.10:30200' --node-ip 192.168.0.10",
        "svcsim trace --rules test/golden/north-south/node-b.nft --packet 'tcp 198.18.0.9:41002 > 192.168.0.11:30200' --node-ip 192.168.0.11",
      ],
    },
  ]);
}
