/**
 * Match modules (`-m NAME` and the protocol matches loaded by `-p tcp`): a fresh match for a module
 * name, which options each module takes, and one option handler per module kind, reading the option's
 * values as the module's libxt_*.c parse function does.
 */
import { tryParseIPv4 } from '../net/ipv4.ts';
import type { Protocol } from '../net/protocol.ts';
import { parseMarkMask, parseNumber, parsePortRange, parseTcpFlags, parseU32, probabilityToFixed, type ErrFn } from './rule-args.ts';
import { CT_STATE_NAMES, type AddrType, type Match } from './rule.ts';

const ADDR_TYPES = new Set<AddrType>(['LOCAL', 'UNICAST', 'BROADCAST', 'MULTICAST']);

/** A match of module `name` with no options yet ('unknown' for a module the simulator does not model). */
export function newMatch(name: string): Match {
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
    case 'nfacct':
      return { kind: 'nfacct', module: 'nfacct', name: '' };
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
  nfacct: ['--nfacct-name'],
};

/** Whether match m's module takes option `opt`. */
export function moduleTakes(m: Match, opt: string): boolean {
  if (m.kind === 'unknown') return false;
  if (m.kind === 'port' && m.module !== 'tcp' && (opt === '--syn' || opt === '--tcp-flags')) return false;
  if (m.kind === 'ctstate') return opt === (m.module === 'state' ? '--state' : '--ctstate');
  return MODULE_OPTIONS[m.kind]!.includes(opt);
}

/** Recent matches whose command (--set/--rcheck/--update/--remove) was given: exactly one is required. */
const recentCommandGiven = new WeakSet<Match>();

/** Whether a recent match was given its command (the rule check requires one). */
export function recentCommandSeen(m: Match): boolean {
  return recentCommandGiven.has(m);
}

/** One option occurrence: the option word at words[at], whether "!" preceded it, and its values. */
interface OptionArgs {
  opt: string;
  neg: boolean;
  at: number;
  err: ErrFn;
  /** The k-th word after the option (an InputError at end of line). */
  arg(k?: number): string;
  /** Refuses a "!" before this option. */
  noNeg(): void;
}

/** Applies one option to a match of its kind; returns the index after the option's values. */
type OptionHandler<K extends Match['kind']> = (m: Extract<Match, { kind: K }>, a: OptionArgs) => number;

function portOption(m: Extract<Match, { kind: 'port' }>, { opt, neg, at, err, arg }: OptionArgs): number {
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

function multiportOption(m: Extract<Match, { kind: 'multiport' }>, { opt, neg, at, err, arg }: OptionArgs): number {
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

function ctstateOption(m: Extract<Match, { kind: 'ctstate' }>, { neg, at, err, arg }: OptionArgs): number {
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

function recentOption(m: Extract<Match, { kind: 'recent' }>, { opt, neg, at, err, arg }: OptionArgs): number {
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

const OPTION_HANDLERS: { [K in Match['kind']]: OptionHandler<K> } = {
  comment: (m, { at, arg, noNeg }) => {
    noNeg();
    m.comment = arg();
    return at + 2;
  },
  port: portOption,
  multiport: multiportOption,
  addrtype: (m, { opt, neg, at, err, arg }) => {
    const t = arg() as AddrType;
    if (!ADDR_TYPES.has(t)) throw err(at + 1, 'LOCAL, UNICAST, BROADCAST or MULTICAST', JSON.stringify(arg()));
    if (opt === '--src-type') [m.srcType, m.srcNeg] = [t, neg];
    else [m.dstType, m.dstNeg] = [t, neg];
    return at + 2;
  },
  mark: (m, { neg, at, err, arg }) => {
    const mm = parseMarkMask(arg());
    if (!mm) throw err(at + 1, 'VALUE[/MASK] like 0x4000/0x4000', JSON.stringify(arg()));
    // Kept as written (libxt_mark.c mark_parse does not mask it): the kernel tests
    // (skb->mark & mask) == mark (xt_mark.c mark_mt), so bits outside the mask never match.
    m.value = mm.value;
    m.mask = mm.mask;
    m.neg = neg;
    return at + 2;
  },
  ctstate: ctstateOption,
  statistic: (m, { opt, neg, at, err, arg }) => {
    if (neg) m.neg = true;
    if (opt === '--mode') {
      if (arg() !== 'random') throw err(at + 1, '--mode random or nth', JSON.stringify(arg()));
      return at + 2;
    }
    const p = Number(arg());
    if (!/^[0-9.eE+-]+$/.test(arg()) || !(p >= 0 && p <= 1)) throw err(at + 1, 'a probability between 0 and 1', JSON.stringify(arg()));
    m.probability = probabilityToFixed(p);
    return at + 2;
  },
  nth: (m, { opt, neg, at, err, arg }) => {
    // libxt_statistic.c: --every N (N >= 1, stored as N - 1), --packet P (0 <= P <= N - 1).
    if (neg) m.neg = true;
    const v = parseU32(arg());
    if (v === undefined || (opt === '--every' && v < 1)) throw err(at + 1, opt === '--every' ? 'a packet count of at least 1' : 'a packet number', JSON.stringify(arg()));
    if (opt === '--every') m.every = v;
    else m.packet = v;
    return at + 2;
  },
  recent: recentOption,
  set: (m, { neg, at, err, arg }) => {
    const flags = arg(2).split(',');
    if (!flags.every((f) => f === 'src' || f === 'dst') || flags.length > 6) {
      throw err(at + 2, 'direction flags like src or dst,dst', JSON.stringify(arg(2)));
    }
    m.setName = arg(1);
    m.flags = flags as ('src' | 'dst')[];
    m.neg = neg;
    return at + 3;
  },
  // libxt_nfacct.c: --nfacct-name NAME, mandatory, not invertible.
  nfacct: (m, { at, arg, noNeg }) => {
    noNeg();
    m.name = arg();
    return at + 2;
  },
  unknown: (_m, { at }) => at + 1,
};

/** Applies `opt` (at words[at]) to match m; returns the index after its arguments. */
export function applyModuleOption(m: Match, opt: string, neg: boolean, at: number, words: readonly string[], err: ErrFn): number {
  const args: OptionArgs = {
    opt,
    neg,
    at,
    err,
    arg: (k = 1) => {
      const v = words[at + k];
      if (v === undefined) throw err(at + k, `a value after ${opt}`, 'end of line');
      return v;
    },
    noNeg: () => {
      if (neg) throw err(at, `no "!" before ${opt}`, '"!"');
    },
  };
  return (OPTION_HANDLERS[m.kind] as OptionHandler<Match['kind']>)(m, args);
}
