/**
 * The text of one rule, both ways: parsing iptables arguments (`-s ... -m tcp --dport 80 -j X`, in
 * any order iptables accepts) into a Rule, and rendering a Rule the way iptables-save prints it.
 *
 * Rendering follows iptables-save's normal form (iptables/iptables.c print_rule4 and each
 * extension's save function in extensions/libxt_*.c): -s, -d, -i, -o, -p first (addresses always
 * with a prefix length), then each match as `-m NAME options` in rule order (an implicitly loaded
 * protocol match, `-p tcp --dport 80`, is printed as `-m tcp --dport 80`), then -j/-g and the target
 * options (MARK as --set-xmark VALUE/MASK, REJECT with its --reject-with, statistic probabilities
 * in the kernel's fixed point printed with 11 decimals). So rendering the restore text kube-proxy
 * writes gives what iptables-save would print after loading it.
 */
import { InputError } from '../io/input-error.ts';
import { formatIPv4, tryParseCidr, tryParseIPv4 } from '../net/ipv4.ts';
import type { Protocol } from '../net/protocol.ts';
import {
  CT_STATE_NAMES,
  emptyRule,
  type AddrType,
  type Match,
  type PortRange,
  type Rule,
  type Target,
} from './rule.ts';
import type { TableName } from './ruleset.ts';

/** Protocol names iptables resolves through /etc/protocols (the common ones), by number. */
const PROTO_NUMBERS: Record<string, number> = {
  icmp: 1, igmp: 2, ipencap: 4, tcp: 6, udp: 17, gre: 47, esp: 50, ah: 51, 'ipv6-icmp': 58, icmpv6: 58, sctp: 132, udplite: 136,
};
const PORT_PROTOCOLS = new Set(['tcp', 'udp', 'sctp']);

/** Targets the kernel has that the simulator does not model: rules using them are kept and never match. */
const UNMODELLED_TARGETS = new Set([
  'CT', 'NOTRACK', 'CONNMARK', 'TPROXY', 'NFQUEUE', 'NFLOG', 'TCPMSS', 'CLASSIFY', 'DSCP', 'TOS', 'TTL',
  'ULOG', 'SET', 'REDIRECT', 'NETMAP', 'CHECKSUM', 'AUDIT', 'SECMARK', 'CONNSECMARK', 'IDLETIMER', 'LED',
  'RATEEST', 'SYNPROXY', 'TEE', 'HMARK', 'CLUSTERIP', 'ECN', 'QUEUE',
]);
const NAT_TARGETS = new Set(['DNAT', 'SNAT', 'MASQUERADE']);

// ---------------------------------------------------------------- tokenizing

export interface Tokens {
  words: string[];
  /** 1-based column of each word in its line. */
  cols: number[];
}

/**
 * Splits a line as iptables-restore does (add_param_to_argv in iptables/xshared.c): whitespace
 * separates words, double quotes group, and inside quotes a backslash escapes the next character.
 * `where(col)` names a position for errors.
 */
export function tokenize(line: string, where: (col: number) => string): Tokens {
  const words: string[] = [];
  const cols: number[] = [];
  const n = line.length;
  let i = 0;
  while (i < n) {
    const ch = line.charCodeAt(i);
    if (ch === 32 || ch === 9 || ch === 13) {
      i++;
      continue;
    }
    const start = i;
    // Fast path: a bare word (the vast majority) is one slice.
    while (i < n) {
      const c = line.charCodeAt(i);
      if (c === 32 || c === 9 || c === 13 || c === 34) break;
      i++;
    }
    if (i >= n || line.charCodeAt(i) !== 34) {
      words.push(line.slice(start, i));
      cols.push(start + 1);
      continue;
    }
    // The word contains quotes: assemble it character by character.
    let word = line.slice(start, i);
    let quoted = false;
    let openAt = -1;
    while (i < n) {
      const c = line[i]!;
      if (quoted) {
        if (c === '\\' && i + 1 < n) {
          word += line[i + 1];
          i += 2;
        } else if (c === '"') {
          quoted = false;
          i++;
        } else {
          word += c;
          i++;
        }
        continue;
      }
      if (c === ' ' || c === '\t' || c === '\r') break;
      if (c === '"') {
        quoted = true;
        openAt = i;
      } else word += c;
      i++;
    }
    if (quoted) throw new InputError(where(openAt + 1), 'a closing double quote', 'end of line');
    words.push(word);
    cols.push(start + 1);
  }
  return { words, cols };
}

/** Quotes a word as iptables-save does (xtables_save_string): bare if only [A-Za-z0-9_-], else "..." with \ before " \ '. */
export function saveString(s: string): string {
  if (s.length > 0 && /^[A-Za-z0-9_-]+$/.test(s)) return s;
  return '"' + s.replace(/["\\']/g, (m) => '\\' + m) + '"';
}

// ---------------------------------------------------------------- parsing

export interface RuleEnv {
  table: TableName;
  /** Whether a user chain of this name exists (declared) in the table. */
  isChain(name: string): boolean;
  /** Names a position (file:line:col) for errors. */
  where(col: number): string;
  /** Reports something kept but not modelled (unknown module or target). */
  warn(col: number, message: string): void;
}

function parseNumber(t: string): number | undefined {
  // xtables_strtoui with base 0: 0x.. hex, leading 0 octal, else decimal.
  if (/^0x[0-9a-f]+$/i.test(t)) return parseInt(t.slice(2), 16);
  if (/^0[0-7]+$/.test(t)) return parseInt(t.slice(1), 8);
  if (/^[0-9]+$/.test(t)) return Number(t);
  return undefined;
}

function parseU32(t: string): number | undefined {
  const v = parseNumber(t);
  return v !== undefined && v <= 0xffffffff ? v : undefined;
}

/** VALUE[/MASK] as in --mark and --set-xmark; the mask defaults to 0xffffffff. */
function parseMarkMask(t: string): { value: number; mask: number } | undefined {
  const slash = t.indexOf('/');
  const value = parseU32(slash < 0 ? t : t.slice(0, slash));
  const mask = slash < 0 ? 0xffffffff : parseU32(t.slice(slash + 1));
  if (value === undefined || mask === undefined) return undefined;
  return { value, mask };
}

function parsePort(t: string): number | undefined {
  if (!/^[0-9]{1,5}$/.test(t)) return undefined;
  const n = Number(t);
  return n <= 65535 ? n : undefined;
}

/** PORT or LO:HI (an empty side means 0 or 65535, as iptables accepts ":1024"). */
function parsePortRange(t: string): PortRange | undefined {
  const colon = t.indexOf(':');
  if (colon < 0) {
    const p = parsePort(t);
    return p === undefined ? undefined : { lo: p, hi: p };
  }
  const lo = colon === 0 ? 0 : parsePort(t.slice(0, colon));
  const hi = colon === t.length - 1 ? 65535 : parsePort(t.slice(colon + 1));
  if (lo === undefined || hi === undefined || lo > hi) return undefined;
  return { lo, hi };
}

const TCP_FLAG_BITS: Record<string, number> = { FIN: 1, SYN: 2, RST: 4, PSH: 8, ACK: 16, URG: 32, ALL: 63, NONE: 0 };
function parseTcpFlags(t: string): number | undefined {
  let v = 0;
  for (const f of t.split(',')) {
    const b = TCP_FLAG_BITS[f.toUpperCase()];
    if (b === undefined) return undefined;
    v |= b;
  }
  return v;
}

const ADDR_TYPES = new Set<AddrType>(['LOCAL', 'UNICAST', 'BROADCAST', 'MULTICAST']);

/** Kernel fixed point of --probability: lround(0x80000000 * p) (libxt_statistic.c). */
export function probabilityToFixed(p: number): number {
  return Math.round(0x80000000 * p);
}
export function fixedToProbabilityText(fixed: number): string {
  return (fixed / 0x80000000).toFixed(11);
}

interface Cursor {
  i: number;
}

/** Words that begin a new part of the rule (not an option of the current module or target). */
const BUILTIN_OPTS: Record<string, 's' | 'd' | 'p' | 'i' | 'o' | 'f'> = {
  '-s': 's', '--source': 's', '--src': 's',
  '-d': 'd', '--destination': 'd', '--dst': 'd',
  '-p': 'p', '--protocol': 'p',
  '-i': 'i', '--in-interface': 'i',
  '-o': 'o', '--out-interface': 'o',
  '-f': 'f', '--fragment': 'f',
};
function startsSection(words: string[], i: number): boolean {
  const w = words[i]!;
  if (w === '-m' || w === '--match' || w === '-j' || w === '--jump' || w === '-g' || w === '--goto') return true;
  if (w in BUILTIN_OPTS) return true;
  if (w === '!' && i + 1 < words.length && words[i + 1]! in BUILTIN_OPTS) return true;
  return false;
}

/**
 * Parses the rule arguments words[from..] (after `-A CHAIN`). Throws InputError naming the word's
 * position. Unknown match modules and options are kept verbatim (rule.unsupported: never matches) and
 * reported; unknown targets likewise kept and reported (a matching packet continues past them).
 */
export function parseRuleSpec(tk: Tokens, from: number, env: RuleEnv, counters: [number, number] | null = null): Rule {
  const { words, cols } = tk;
  const r = emptyRule();
  r.counters = counters;
  const c: Cursor = { i: from };
  let neg = false;
  let negCol = 0;
  const err = (at: number, expected: string, found?: string) =>
    new InputError(env.where(cols[at] ?? (cols[cols.length - 1] ?? 0) + 1), expected, found);
  const need = (at: number, what: string): string => {
    if (at >= words.length) throw err(at, what, 'end of line');
    return words[at]!;
  };
  let targetSeen = false;
  let current: Match | null = null; // the module options attach to
  let currentFrom = 0; // index of the current module's first option word
  let currentNameCol = 0;
  /**
   * An option of a module the model knows but not this option (e.g. conntrack --ctorigdst, statistic
   * --mode nth): a real dump only holds options iptables-restore accepted, so the whole match is kept
   * verbatim, reported, and never matches, like an unknown module.
   */
  const keepVerbatim = (m: Match, why: string): void => {
    const tokens = words.slice(currentFrom, c.i);
    while (c.i < words.length && !startsSection(words, c.i)) tokens.push(words[c.i++]!);
    const name = m.module;
    r.matches[r.matches.indexOf(m)] = { kind: 'unknown', module: name, tokens };
    env.warn(currentNameCol, `match -m ${name} ${why} is not modelled: rule kept, never matches`);
    r.unsupported = true;
    current = null;
  };
  while (c.i < words.length) {
    const w = words[c.i]!;
    if (w === '!') {
      if (neg) throw err(c.i, 'an option after "!"', '"!" again');
      neg = true;
      negCol = c.i;
      c.i++;
      continue;
    }
    const b = BUILTIN_OPTS[w];
    if (b === 'f') throw err(c.i, 'no -f (fragment matching is not modelled)', JSON.stringify(w));
    if (b !== undefined) {
      const v = need(c.i + 1, `a value after ${w}`);
      switch (b) {
        case 's':
        case 'd': {
          const cidr = tryParseCidr(v);
          if (!cidr) throw err(c.i + 1, 'an IPv4 address or CIDR', JSON.stringify(v));
          if (b === 's') [r.src, r.srcNeg] = [cidr, neg];
          else [r.dst, r.dstNeg] = [cidr, neg];
          break;
        }
        case 'p': {
          const name = v.toLowerCase();
          if (name === 'all' || name === '0') {
            r.proto = null;
            r.protoName = null;
          } else {
            const num = /^[0-9]+$/.test(name) ? Number(name) : PROTO_NUMBERS[name];
            if (num === undefined || num > 255) throw err(c.i + 1, 'a protocol (tcp, udp, sctp, icmp, all, or a number)', JSON.stringify(v));
            r.proto = num;
            r.protoName = name;
          }
          r.protoNeg = neg;
          break;
        }
        case 'i':
          [r.inIface, r.inNeg] = [v, neg];
          break;
        case 'o':
          [r.outIface, r.outNeg] = [v, neg];
          break;
      }
      neg = false;
      c.i += 2;
      current = null;
      continue;
    }
    if (neg && (w === '-m' || w === '--match' || w === '-j' || w === '-g')) throw err(negCol, `an option after "!"`, JSON.stringify(w));
    if (w === '-m' || w === '--match') {
      const name = need(c.i + 1, 'a match module name after -m');
      const nameCol = cols[c.i + 1]!;
      c.i += 2;
      current = newMatch(name, c.i, tk, env);
      currentFrom = c.i;
      currentNameCol = nameCol;
      r.matches.push(current);
      if (current.kind === 'unknown') {
        // Keep everything up to the next section verbatim.
        while (c.i < words.length && !startsSection(words, c.i)) current.tokens.push(words[c.i++]!);
        env.warn(nameCol, `match module "${name}" is not modelled: rule kept, never matches`);
        r.unsupported = true;
        current = null;
      }
      continue;
    }
    if (w === '-j' || w === '--jump' || w === '-g' || w === '--goto') {
      if (targetSeen) throw err(c.i, 'one -j or -g per rule', 'a second one');
      targetSeen = true;
      const name = need(c.i + 1, `a target after ${w}`);
      const targetCol = c.i + 1;
      c.i += 2;
      r.target = parseTarget(w === '-g' || w === '--goto', name, targetCol, c, tk, env, err);
      current = null;
      continue;
    }
    if (w.startsWith('-')) {
      // An option of the current module, or of the protocol's implicitly loaded match (-p tcp --dport 80).
      let m: Match | null = current;
      if (m === null || !moduleTakes(m, w)) {
        const implicit = r.protoName !== null && PORT_PROTOCOLS.has(r.protoName) && !r.protoNeg ? r.protoName : null;
        const existing = r.matches.find((x) => x.kind === 'port' && x.module === implicit) ?? null;
        if (implicit !== null && (w === '--dport' || w === '--sport' || w === '--destination-port' || w === '--source-port' || (implicit === 'tcp' && (w === '--syn' || w === '--tcp-flags')))) {
          m = existing ?? newMatch(implicit, c.i, tk, env);
          if (existing === null) {
            r.matches.push(m);
            currentFrom = c.i;
            currentNameCol = cols[c.i]!;
          }
        } else if (current !== null) {
          // A "!" before the option is in the verbatim words already.
          keepVerbatim(current, `option ${w}`);
          neg = false;
          continue;
        } else {
          throw err(c.i, 'an option (-s -d -p -i -o -m -j -g)', JSON.stringify(w));
        }
      }
      if (m.kind === 'statistic' && w === '--mode' && words[c.i + 1] === 'nth') {
        // The match becomes an nth match; --every and --packet follow.
        const nth: Match = { kind: 'nth', module: 'statistic', every: 0, packet: 0, neg: false };
        r.matches[r.matches.indexOf(m)] = nth;
        current = nth;
        if (neg) nth.neg = true;
        neg = false;
        c.i += 2;
        continue;
      }
      c.i = applyModuleOption(m, w, neg, c.i, tk, env, err);
      neg = false;
      current = m;
      continue;
    }
    throw err(c.i, 'an option', JSON.stringify(w));
  }
  if (neg) throw err(negCol, 'an option after "!"', 'end of line');
  for (const m of r.matches) {
    if (m.kind === 'port' && (r.proto === null || r.protoName !== m.module || r.protoNeg)) {
      throw new InputError(env.where(cols[from] ?? 1), `-p ${m.module} with -m ${m.module}`, r.protoName ? `-p ${r.protoName}` : 'no -p');
    }
    if (m.kind === 'recent' && !recentCommandGiven.has(m)) {
      throw new InputError(env.where(cols[from] ?? 1), '-m recent with one of --set, --rcheck, --update, --remove', 'none');
    }
    if (m.kind === 'nth' && (m.every < 1 || m.packet > m.every - 1)) {
      throw new InputError(env.where(cols[from] ?? 1), '-m statistic --mode nth with --every N and --packet P, 0 <= P <= N - 1', m.every < 1 ? 'no --every' : `--packet ${m.packet} with --every ${m.every}`);
    }
    if (m.kind === 'statistic' && m.probability < 0) {
      throw new InputError(env.where(cols[from] ?? 1), '-m statistic --mode random with --probability', 'no --probability');
    }
    if (m.kind === 'set' && m.setName === '') {
      throw new InputError(env.where(cols[from] ?? 1), '-m set with --match-set NAME FLAGS', 'none');
    }
    if (m.kind === 'recent' && (m.command === 'set' || m.command === 'remove') && (m.seconds || m.hitcount || m.reap)) {
      throw new InputError(env.where(cols[from] ?? 1), '--seconds/--hitcount/--reap only with --rcheck or --update', '--set with them');
    }
  }
  if (NAT_TARGETS.has(targetName(r.target)) && env.table !== 'nat') {
    throw new InputError(env.where(cols[from] ?? 1), `${targetName(r.target)} only in the nat table`, `table ${env.table}`);
  }
  return r;
}

function targetName(t: Target): string {
  switch (t.kind) {
    case 'dnat':
      return 'DNAT';
    case 'snat':
      return 'SNAT';
    case 'masquerade':
      return 'MASQUERADE';
    default:
      return '';
  }
}

function newMatch(name: string, at: number, tk: Tokens, env: RuleEnv): Match {
  void at;
  void tk;
  void env;
  switch (name) {
    case 'comment':
      return { kind: 'comment', module: 'comment', comment: '' };
    case 'tcp':
    case 'udp':
    case 'sctp':
      return { kind: 'port', module: name as Protocol, sport: null, sportNeg: false, dport: null, dportNeg: false, tcpFlags: null };
    case 'multiport':
      return { kind: 'multiport', module: 'multiport', dir: 'dports', ports: [], neg: false };
    case 'addrtype':
      return { kind: 'addrtype', module: 'addrtype', srcType: null, srcNeg: false, dstType: null, dstNeg: false };
    case 'mark':
      return { kind: 'mark', module: 'mark', value: 0, mask: 0xffffffff, neg: false };
    case 'conntrack':
    case 'state':
      return { kind: 'ctstate', module: name, states: 0, neg: false };
    case 'statistic':
      return { kind: 'statistic', module: 'statistic', probability: -1, neg: false };
    case 'recent':
      return { kind: 'recent', module: 'recent', command: 'rcheck', name: 'DEFAULT', seconds: 0, hitcount: 0, reap: false, rttl: false, mask: 0xffffffff, side: 'rsource', neg: false };
    case 'set':
      return { kind: 'set', module: 'set', setName: '', flags: [], neg: false };
    default:
      return { kind: 'unknown', module: name, tokens: [] };
  }
}

const MODULE_OPTIONS: Record<string, readonly string[]> = {
  comment: ['--comment'],
  port: ['--sport', '--source-port', '--dport', '--destination-port', '--tcp-flags', '--syn'],
  multiport: ['--dports', '--destination-ports', '--sports', '--source-ports', '--ports'],
  addrtype: ['--src-type', '--dst-type'],
  mark: ['--mark'],
  ctstate: ['--ctstate', '--state'],
  statistic: ['--mode', '--probability'],
  nth: ['--every', '--packet'],
  recent: ['--set', '--rcheck', '--update', '--remove', '--seconds', '--reap', '--hitcount', '--rttl', '--name', '--mask', '--rsource', '--rdest'],
  set: ['--match-set'],
};

function moduleTakes(m: Match, opt: string): boolean {
  if (m.kind === 'unknown') return false;
  if (m.kind === 'port' && m.module !== 'tcp' && (opt === '--syn' || opt === '--tcp-flags')) return false;
  if (m.kind === 'ctstate') return opt === (m.module === 'state' ? '--state' : '--ctstate');
  return MODULE_OPTIONS[m.kind]!.includes(opt);
}

/** Recent matches whose command (--set/--rcheck/--update/--remove) was given: exactly one is required. */
const recentCommandGiven = new WeakSet<Match>();

type ErrFn = (at: number, expected: string, found?: string) => InputError;

/** Applies `opt` (at words[at]) to match m; returns the index after its arguments. */
function applyModuleOption(m: Match, opt: string, neg: boolean, at: number, tk: Tokens, env: RuleEnv, err: ErrFn): number {
  const words = tk.words;
  const arg = (k = 1): string => {
    const v = words[at + k];
    if (v === undefined) throw err(at + k, `a value after ${opt}`, 'end of line');
    return v;
  };
  const noNeg = () => {
    if (neg) throw err(at, `no "!" before ${opt}`, '"!"');
  };
  void env;
  switch (m.kind) {
    case 'comment':
      noNeg();
      m.comment = arg();
      return at + 2;
    case 'port': {
      if (opt === '--syn') {
        m.tcpFlags = { mask: 0x17, comp: 0x02, neg };
        return at + 1;
      }
      if (opt === '--tcp-flags') {
        const mask = parseTcpFlags(arg(1));
        const comp = parseTcpFlags(arg(2));
        if (mask === undefined) throw err(at + 1, 'TCP flags like SYN,RST,ACK,FIN', JSON.stringify(arg(1)));
        if (comp === undefined) throw err(at + 2, 'TCP flags like SYN', JSON.stringify(arg(2)));
        m.tcpFlags = { mask, comp, neg };
        return at + 3;
      }
      const range = parsePortRange(arg());
      if (!range) throw err(at + 1, 'a port or range LO:HI (0-65535)', JSON.stringify(arg()));
      if (opt === '--sport' || opt === '--source-port') [m.sport, m.sportNeg] = [range, neg];
      else [m.dport, m.dportNeg] = [range, neg];
      return at + 2;
    }
    case 'multiport': {
      const list = arg().split(',');
      if (list.length > 15) throw err(at + 1, 'at most 15 ports (multiport limit)', `${list.length}`);
      m.ports = [];
      for (const p of list) {
        const range = parsePortRange(p);
        if (!range) throw err(at + 1, 'a comma-separated list of ports or LO:HI ranges', JSON.stringify(arg()));
        m.ports.push(range);
      }
      m.dir = opt === '--ports' ? 'ports' : opt.startsWith('--s') ? 'sports' : 'dports';
      m.neg = neg;
      return at + 2;
    }
    case 'addrtype': {
      const t = arg() as AddrType;
      if (!ADDR_TYPES.has(t)) throw err(at + 1, 'LOCAL, UNICAST, BROADCAST or MULTICAST', JSON.stringify(arg()));
      if (opt === '--src-type') [m.srcType, m.srcNeg] = [t, neg];
      else [m.dstType, m.dstNeg] = [t, neg];
      return at + 2;
    }
    case 'mark': {
      const mm = parseMarkMask(arg());
      if (!mm) throw err(at + 1, 'VALUE[/MASK] like 0x4000/0x4000', JSON.stringify(arg()));
      // Kept as written (libxt_mark.c mark_parse does not mask it): the kernel tests
      // (skb->mark & mask) == mark (xt_mark.c mark_mt), so bits outside the mask never match.
      m.value = mm.value;
      m.mask = mm.mask;
      m.neg = neg;
      return at + 2;
    }
    case 'ctstate': {
      let bits = 0;
      for (const s of arg().split(',')) {
        const e = CT_STATE_NAMES.find(([n]) => n === s.toUpperCase());
        if (!e) throw err(at + 1, 'states from INVALID,NEW,ESTABLISHED,RELATED,UNTRACKED,SNAT,DNAT', JSON.stringify(s));
        bits |= e[1];
      }
      m.states = bits;
      m.neg = neg;
      return at + 2;
    }
    case 'statistic': {
      if (neg) m.neg = true;
      if (opt === '--mode') {
        if (arg() !== 'random') throw err(at + 1, '--mode random or nth', JSON.stringify(arg()));
        return at + 2;
      }
      const p = Number(arg());
      if (!/^[0-9.eE+-]+$/.test(arg()) || !(p >= 0 && p <= 1)) throw err(at + 1, 'a probability between 0 and 1', JSON.stringify(arg()));
      m.probability = probabilityToFixed(p);
      return at + 2;
    }
    case 'nth': {
      // libxt_statistic.c: --every N (N >= 1, stored as N - 1), --packet P (0 <= P <= N - 1).
      if (neg) m.neg = true;
      const v = parseU32(arg());
      if (v === undefined || (opt === '--every' && v < 1)) throw err(at + 1, opt === '--every' ? 'a packet count of at least 1' : 'a packet number', JSON.stringify(arg()));
      if (opt === '--every') m.every = v;
      else m.packet = v;
      return at + 2;
    }
    case 'recent': {
      switch (opt) {
        case '--set':
        case '--rcheck':
        case '--update':
        case '--remove':
          m.command = opt.slice(2) as 'set';
          if (neg) m.neg = true;
          if (recentCommandGiven.has(m)) throw err(at, 'one of --set, --rcheck, --update, --remove', `a second one (${opt})`);
          recentCommandGiven.add(m);
          return at + 1;
        case '--seconds':
        case '--hitcount': {
          const v = parseNumber(arg());
          if (v === undefined) throw err(at + 1, 'a whole number', JSON.stringify(arg()));
          if (opt === '--seconds') m.seconds = v;
          else m.hitcount = v;
          return at + 2;
        }
        case '--reap':
          m.reap = true;
          return at + 1;
        case '--rttl':
          m.rttl = true;
          return at + 1;
        case '--name':
          m.name = arg();
          return at + 2;
        case '--mask': {
          const v = tryParseIPv4(arg());
          if (v === undefined) throw err(at + 1, 'a netmask like 255.255.255.255', JSON.stringify(arg()));
          m.mask = v;
          return at + 2;
        }
        default:
          m.side = opt === '--rdest' ? 'rdest' : 'rsource';
          return at + 1;
      }
    }
    case 'set': {
      const flags = arg(2).split(',');
      if (!flags.every((f) => f === 'src' || f === 'dst') || flags.length > 6) {
        throw err(at + 2, 'direction flags like src or dst,dst', JSON.stringify(arg(2)));
      }
      m.setName = arg(1);
      m.flags = flags as ('src' | 'dst')[];
      m.neg = neg;
      return at + 3;
    }
    case 'unknown':
      return at + 1;
  }
}

/**
 * [ip[-ip]][:port[-port]] as in --to-destination / --to-source (libxt_DNAT.c parse_to: the address
 * part may be empty when a port is given, and then only the port is mapped).
 */
function parseNatRange(t: string): { mapIps: boolean; ip: number; ipHi: number; port: number; portHi: number } | undefined {
  const colon = t.indexOf(':');
  const ipPart = colon < 0 ? t : t.slice(0, colon);
  const portPart = colon < 0 ? '' : t.slice(colon + 1);
  const mapIps = ipPart !== '';
  if (!mapIps && colon < 0) return undefined;
  const dash = ipPart.indexOf('-');
  const ip = mapIps ? tryParseIPv4(dash < 0 ? ipPart : ipPart.slice(0, dash)) : 0;
  const ipHi = !mapIps ? 0 : dash < 0 ? ip : tryParseIPv4(ipPart.slice(dash + 1));
  if (ip === undefined || ipHi === undefined || ipHi < ip) return undefined;
  let port = 0;
  let portHi = 0;
  if (colon >= 0) {
    const pd = portPart.indexOf('-');
    const lo = parsePort(pd < 0 ? portPart : portPart.slice(0, pd));
    const hi = pd < 0 ? lo : parsePort(portPart.slice(pd + 1));
    if (lo === undefined || hi === undefined || hi < lo || lo === 0) return undefined;
    [port, portHi] = [lo, hi];
  }
  return { mapIps, ip, ipHi, port, portHi };
}

function parseTarget(isGoto: boolean, name: string, nameAt: number, c: Cursor, tk: Tokens, env: RuleEnv, err: ErrFn): Target {
  const words = tk.words;
  const optsUntilSection = (): string[] => {
    const out: string[] = [];
    while (c.i < words.length && !startsSection(words, c.i)) out.push(words[c.i++]!);
    return out;
  };
  if (isGoto) {
    if (!env.isChain(name)) throw err(nameAt, 'a user-defined chain after -g', JSON.stringify(name));
    return { kind: 'goto', chain: name };
  }
  const simple: Record<string, Target> = { ACCEPT: { kind: 'accept' }, DROP: { kind: 'drop' }, RETURN: { kind: 'return' } };
  if (name in simple) return simple[name]!;
  if (env.isChain(name)) return { kind: 'jump', chain: name };
  // Target options: each known target takes its own; anything else ends the target section.
  const opts: { opt: string; at: number; val?: string }[] = [];
  const takes = (arity: Record<string, number>) => {
    while (c.i < words.length) {
      const w = words[c.i]!;
      const a = arity[w];
      if (a === undefined) break;
      if (a === 1 && c.i + 1 >= words.length) throw err(c.i + 1, `a value after ${w}`, 'end of line');
      opts.push({ opt: w, at: c.i, val: a === 1 ? words[c.i + 1] : undefined });
      c.i += 1 + a;
    }
  };
  switch (name) {
    case 'REJECT': {
      takes({ '--reject-with': 1 });
      return { kind: 'reject', rejectWith: opts.find((o) => o.opt === '--reject-with')?.val ?? null };
    }
    case 'DNAT':
    case 'SNAT': {
      const toOpt = name === 'DNAT' ? '--to-destination' : '--to-source';
      takes({ [toOpt]: 1, '--to': 1, '--random': 0, '--random-fully': 0, '--persistent': 0 });
      const to = opts.find((o) => o.opt === toOpt || o.opt === '--to');
      if (!to) throw err(nameAt, `${toOpt} after -j ${name}`, 'none');
      const range = parseNatRange(to.val!);
      if (!range) throw err(to.at + 1, '[ip[-ip]][:port[-port]]', JSON.stringify(to.val));
      const has = (o: string) => opts.some((x) => x.opt === o);
      if (name === 'DNAT') {
        if (has('--random-fully')) throw err(nameAt, 'no --random-fully with DNAT', '--random-fully');
        return { kind: 'dnat', ...range, random: has('--random'), persistent: has('--persistent') };
      }
      return { kind: 'snat', ...range, random: has('--random'), randomFully: has('--random-fully'), persistent: has('--persistent') };
    }
    case 'MASQUERADE': {
      takes({ '--to-ports': 1, '--random': 0, '--random-fully': 0 });
      const tp = opts.find((o) => o.opt === '--to-ports');
      let port = 0;
      let portHi = 0;
      if (tp) {
        const pr = parsePortRange(tp.val!.replace('-', ':'));
        if (!pr) throw err(tp.at + 1, 'a port or range LO-HI', JSON.stringify(tp.val));
        [port, portHi] = [pr.lo, pr.hi];
      }
      return { kind: 'masquerade', port, portHi, random: opts.some((o) => o.opt === '--random'), randomFully: opts.some((o) => o.opt === '--random-fully') };
    }
    case 'MARK': {
      takes({ '--set-xmark': 1, '--set-mark': 1, '--or-mark': 1, '--and-mark': 1, '--xor-mark': 1 });
      if (opts.length !== 1) throw err(nameAt, 'exactly one of --set-xmark, --set-mark, --or-mark, --and-mark, --xor-mark', `${opts.length}`);
      const o = opts[0]!;
      const bad = () => err(o.at + 1, o.opt === '--set-xmark' || o.opt === '--set-mark' ? 'VALUE[/MASK]' : 'a 32-bit value', JSON.stringify(o.val));
      // libxt_MARK.c mark_tg_parse: every form becomes (mark, mask) for mark = (mark & ~mask) ^ value.
      if (o.opt === '--set-xmark' || o.opt === '--set-mark') {
        const mm = parseMarkMask(o.val!);
        if (!mm) throw bad();
        return { kind: 'mark', value: mm.value, mask: o.opt === '--set-mark' ? (mm.value | mm.mask) >>> 0 : mm.mask };
      }
      const v = parseU32(o.val!);
      if (v === undefined) throw bad();
      if (o.opt === '--or-mark') return { kind: 'mark', value: v, mask: v };
      if (o.opt === '--and-mark') return { kind: 'mark', value: 0, mask: ~v >>> 0 };
      return { kind: 'mark', value: v, mask: 0 };
    }
    case 'LOG':
    case 'TRACE':
      return { kind: 'log', name, tokens: optsUntilSection() };
    default:
      if (UNMODELLED_TARGETS.has(name)) {
        const tokens = optsUntilSection();
        env.warn(tk.cols[nameAt] ?? 0, `target "${name}" is not modelled: rule kept, a matching packet goes on to the next rule`);
        return { kind: 'unknown', name, tokens };
      }
      throw err(nameAt, 'a built-in target or a chain declared in this table', JSON.stringify(name));
  }
}

// ---------------------------------------------------------------- rendering

function cidrText(c: { addr: number; prefix: number }): string {
  return `${formatIPv4(c.addr)}/${c.prefix}`;
}
function rangeText(r: PortRange): string {
  return r.lo === r.hi ? String(r.lo) : `${r.lo}:${r.hi}`;
}
function hex(v: number): string {
  return '0x' + (v >>> 0).toString(16);
}
function tcpFlagsText(v: number): string {
  if (v === 0) return 'NONE';
  if (v === 63) return 'FIN,SYN,RST,PSH,ACK,URG';
  return ['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG'].filter((_, i) => v & (1 << i)).join(',');
}
const NOT = (b: boolean) => (b ? '! ' : '');

export function renderMatch(m: Match): string {
  switch (m.kind) {
    case 'comment':
      return `-m comment --comment ${saveString(m.comment)}`;
    case 'port': {
      let s = `-m ${m.module}`;
      if (m.sport) s += ` ${NOT(m.sportNeg)}--sport ${rangeText(m.sport)}`;
      if (m.dport) s += ` ${NOT(m.dportNeg)}--dport ${rangeText(m.dport)}`;
      if (m.tcpFlags) s += ` ${NOT(m.tcpFlags.neg)}--tcp-flags ${tcpFlagsText(m.tcpFlags.mask)} ${tcpFlagsText(m.tcpFlags.comp)}`;
      return s;
    }
    case 'multiport':
      return `-m multiport ${NOT(m.neg)}--${m.dir} ${m.ports.map(rangeText).join(',')}`;
    case 'addrtype': {
      let s = '-m addrtype';
      if (m.srcType) s += ` ${NOT(m.srcNeg)}--src-type ${m.srcType}`;
      if (m.dstType) s += ` ${NOT(m.dstNeg)}--dst-type ${m.dstType}`;
      return s;
    }
    case 'mark':
      return `-m mark ${NOT(m.neg)}--mark ${hex(m.value)}${m.mask === 0xffffffff ? '' : '/' + hex(m.mask)}`;
    case 'ctstate': {
      const names = CT_STATE_NAMES.filter(([, b]) => m.states & b).map(([n]) => n).join(',');
      return m.module === 'state' ? `-m state ${NOT(m.neg)}--state ${names}` : `-m conntrack ${NOT(m.neg)}--ctstate ${names}`;
    }
    case 'statistic':
      return `-m statistic --mode random ${NOT(m.neg)}--probability ${fixedToProbabilityText(m.probability)}`;
    case 'nth':
      // libxt_statistic.c print_match with the "--" prefix: --packet is always printed.
      return `-m statistic --mode nth ${NOT(m.neg)}--every ${m.every} --packet ${m.packet}`;
    case 'recent': {
      let s = `-m recent ${NOT(m.neg)}--${m.command}`;
      if (m.seconds) s += ` --seconds ${m.seconds}`;
      if (m.reap) s += ' --reap';
      if (m.hitcount) s += ` --hitcount ${m.hitcount}`;
      if (m.rttl) s += ' --rttl';
      return s + ` --name ${m.name} --mask ${formatIPv4(m.mask)} --${m.side}`;
    }
    case 'set':
      return `-m set ${NOT(m.neg)}--match-set ${m.setName} ${m.flags.join(',')}`;
    case 'unknown':
      return [`-m ${m.module}`, ...m.tokens.map(requote)].join(' ');
  }
}

/** Verbatim words are re-quoted only where the shell-like tokenizer would otherwise split them. */
function requote(w: string): string {
  return w === '' || /[\s"\\']/.test(w) ? saveString(w) : w;
}

function natRangeText(t: { mapIps: boolean; ip: number; ipHi: number; port: number; portHi: number }): string {
  let s = t.mapIps ? formatIPv4(t.ip) : '';
  if (t.mapIps && t.ipHi !== t.ip) s += '-' + formatIPv4(t.ipHi);
  if (t.port !== 0) s += ':' + t.port + (t.portHi !== t.port ? '-' + t.portHi : '');
  return s;
}

export function renderTarget(t: Target): string {
  switch (t.kind) {
    case 'none':
      return '';
    case 'accept':
      return '-j ACCEPT';
    case 'drop':
      return '-j DROP';
    case 'return':
      return '-j RETURN';
    case 'reject':
      return `-j REJECT --reject-with ${t.rejectWith ?? 'icmp-port-unreachable'}`;
    case 'jump':
      return `-j ${t.chain}`;
    case 'goto':
      return `-g ${t.chain}`;
    case 'dnat':
      return `-j DNAT --to-destination ${natRangeText(t)}${t.random ? ' --random' : ''}${t.persistent ? ' --persistent' : ''}`;
    case 'snat':
      return `-j SNAT --to-source ${natRangeText(t)}${t.random ? ' --random' : ''}${t.randomFully ? ' --random-fully' : ''}${t.persistent ? ' --persistent' : ''}`;
    case 'masquerade': {
      let s = '-j MASQUERADE';
      if (t.port !== 0) s += ` --to-ports ${t.port}${t.portHi !== t.port ? '-' + t.portHi : ''}`;
      if (t.random) s += ' --random';
      if (t.randomFully) s += ' --random-fully';
      return s;
    }
    case 'mark':
      return `-j MARK --set-xmark ${hex(t.value)}/${hex(t.mask)}`;
    case 'log':
      return [`-j ${t.name}`, ...t.tokens.map(requote)].join(' ');
    case 'unknown':
      return [`-j ${t.name}`, ...t.tokens.map(requote)].join(' ');
  }
}

/** The rule's arguments in iptables-save's normal form (everything after `-A CHAIN`). */
export function renderRuleSpec(r: Rule): string {
  const parts: string[] = [];
  if (r.src) parts.push(`${NOT(r.srcNeg)}-s ${cidrText(r.src)}`);
  if (r.dst) parts.push(`${NOT(r.dstNeg)}-d ${cidrText(r.dst)}`);
  if (r.inIface !== null) parts.push(`${NOT(r.inNeg)}-i ${r.inIface}`);
  if (r.outIface !== null) parts.push(`${NOT(r.outNeg)}-o ${r.outIface}`);
  if (r.protoName !== null) parts.push(`${NOT(r.protoNeg)}-p ${r.protoName}`);
  for (const m of r.matches) parts.push(renderMatch(m));
  const t = renderTarget(r.target);
  if (t) parts.push(t);
  return parts.join(' ');
}

export function renderRule(chain: string, r: Rule): string {
  const spec = renderRuleSpec(r);
  return spec ? `-A ${chain} ${spec}` : `-A ${chain}`;
}
