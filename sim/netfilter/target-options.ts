/**
 * The target of a rule (`-j NAME options` or `-g CHAIN`): the built-in verdicts, jumps to declared
 * chains, the targets the model evaluates with their options as their libxt_*.c parse functions read
 * them, and the targets it keeps verbatim without modelling.
 */
import { tryParseIPv4 } from '../net/ipv4.ts';
import { parseMarkMask, parsePort, parsePortRange, parseU32, wordsUntilSection, type Cursor, type ErrFn, type RuleEnv } from './rule-args.ts';
import type { Target } from './rule.ts';
import type { Tokens } from './rule-tokens.ts';

/** Targets the kernel has that the simulator does not model: rules using them are kept and never match. */
const UNMODELLED_TARGETS = new Set([
  'CT', 'NOTRACK', 'CONNMARK', 'TPROXY', 'NFQUEUE', 'NFLOG', 'TCPMSS', 'CLASSIFY', 'DSCP', 'TOS', 'TTL',
  'ULOG', 'SET', 'REDIRECT', 'NETMAP', 'CHECKSUM', 'AUDIT', 'SECMARK', 'CONNSECMARK', 'IDLETIMER', 'LED',
  'RATEEST', 'SYNPROXY', 'TEE', 'HMARK', 'CLUSTERIP', 'ECN', 'QUEUE',
]);

/** The NAT target's name (DNAT, SNAT, MASQUERADE), or '' for any other target. */
export function natTargetName(t: Target): string {
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

/** One target option as written: the option word's index and its value when it takes one. */
interface TargetOpt {
  opt: string;
  at: number;
  val?: string;
}

/** Reads the target's options: each known target takes its own (option -> number of values); anything else ends them. */
function takeOptions(words: string[], c: Cursor, err: ErrFn, arity: Record<string, number>): TargetOpt[] {
  const opts: TargetOpt[] = [];
  while (c.i < words.length) {
    const w = words[c.i]!;
    const a = arity[w];
    if (a === undefined) break;
    if (a === 1 && c.i + 1 >= words.length) throw err(c.i + 1, `a value after ${w}`, 'end of line');
    opts.push({ opt: w, at: c.i, val: a === 1 ? words[c.i + 1] : undefined });
    c.i += 1 + a;
  }
  return opts;
}

function natTarget(name: 'DNAT' | 'SNAT', nameAt: number, words: string[], c: Cursor, err: ErrFn): Target {
  const toOpt = name === 'DNAT' ? '--to-destination' : '--to-source';
  const opts = takeOptions(words, c, err, { [toOpt]: 1, '--to': 1, '--random': 0, '--random-fully': 0, '--persistent': 0 });
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

function masqueradeTarget(words: string[], c: Cursor, err: ErrFn): Target {
  const opts = takeOptions(words, c, err, { '--to-ports': 1, '--random': 0, '--random-fully': 0 });
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

function markTarget(nameAt: number, words: string[], c: Cursor, err: ErrFn): Target {
  const opts = takeOptions(words, c, err, { '--set-xmark': 1, '--set-mark': 1, '--or-mark': 1, '--and-mark': 1, '--xor-mark': 1 });
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

/**
 * The target named at words[nameAt] (after -j, or after -g when `isGoto`), reading its options from
 * c.i on and leaving c.i after them. Throws InputError for an unknown target or a bad option.
 */
export function parseTarget(isGoto: boolean, name: string, nameAt: number, c: Cursor, tk: Tokens, env: RuleEnv, err: ErrFn): Target {
  const words = tk.words;
  if (isGoto) {
    if (!env.isChain(name)) throw err(nameAt, 'a user-defined chain after -g', JSON.stringify(name));
    return { kind: 'goto', chain: name };
  }
  if (name === 'ACCEPT') return { kind: 'accept' };
  if (name === 'DROP') return { kind: 'drop' };
  if (name === 'RETURN') return { kind: 'return' };
  if (env.isChain(name)) return { kind: 'jump', chain: name };
  switch (name) {
    case 'REJECT': {
      const opts = takeOptions(words, c, err, { '--reject-with': 1 });
      return { kind: 'reject', rejectWith: opts.find((o) => o.opt === '--reject-with')?.val ?? null };
    }
    case 'DNAT':
    case 'SNAT':
      return natTarget(name, nameAt, words, c, err);
    case 'MASQUERADE':
      return masqueradeTarget(words, c, err);
    case 'MARK':
      return markTarget(nameAt, words, c, err);
    case 'LOG':
    case 'TRACE':
      return { kind: 'log', name, tokens: wordsUntilSection(words, c) };
    default:
      if (UNMODELLED_TARGETS.has(name)) {
        const tokens = wordsUntilSection(words, c);
        env.warn(tk.cols[nameAt] ?? 0, `target "${name}" is not modelled: rule kept, a matching packet goes on to the next rule`);
        return { kind: 'unknown', name, tokens };
      }
      throw err(nameAt, 'a built-in target or a chain declared in this table', JSON.stringify(name));
  }
}
