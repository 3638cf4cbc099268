/**
 * Parsing one rule's iptables arguments (`-s ... -m tcp --dport 80 -j X`, in any order iptables
 * accepts) into a Rule: the built-in header options, `-m` modules with their options (match-options.ts),
 * the options of the protocol's implicitly loaded match (`-p tcp --dport 80`), the target
 * (target-options.ts), then the checks iptables makes of the whole rule.
 */
import { InputError } from '../io/input-error.ts';
import { tryParseCidr } from '../net/ipv4.ts';
import { applyModuleOption, moduleTakes, newMatch, recentCommandSeen } from './match-options.ts';
import { BUILTIN_OPTS, wordsUntilSection, type Cursor, type ErrFn, type RuleEnv } from './rule-args.ts';
import { emptyRule, type Match, type Rule } from './rule.ts';
import type { Tokens } from './rule-tokens.ts';
import { natTargetName, parseTarget } from './target-options.ts';

/** Protocol names iptables resolves through /etc/protocols (the common ones), by number. */
/** Protocol names iptables resolves through /etc/protocols; no prototype, so `-p constructor` is refused. */
const PROTO_NUMBERS: Record<string, number> = Object.assign(Object.create(null), {
  icmp: 1, igmp: 2, ipencap: 4, tcp: 6, udp: 17, gre: 47, esp: 50, ah: 51, 'ipv6-icmp': 58, icmpv6: 58, sctp: 132, udplite: 136,
});
const PORT_PROTOCOLS = new Set(['tcp', 'udp', 'sctp']);
const NAT_TARGETS = new Set(['DNAT', 'SNAT', 'MASQUERADE']);

/** Options of the port match `-p tcp|udp|sctp` loads implicitly (the tcp ones only for tcp). */
function isImplicitPortOption(proto: string, w: string): boolean {
  return w === '--dport' || w === '--sport' || w === '--destination-port' || w === '--source-port' || (proto === 'tcp' && (w === '--syn' || w === '--tcp-flags'));
}

/** The state of one rule's parse: the rule so far, the pending "!", and the module options attach to. */
class RuleParser {
  readonly words: string[];
  readonly cols: number[];
  readonly r: Rule = emptyRule();
  readonly c: Cursor;
  neg = false;
  negCol = 0;
  targetSeen = false;
  /** The match module options attach to. */
  current: Match | null = null;
  /** Index of the current module's first option word. */
  currentFrom = 0;
  currentNameCol = 0;
  readonly err: ErrFn;

  constructor(
    readonly tk: Tokens,
    readonly from: number,
    readonly env: RuleEnv,
  ) {
    this.words = tk.words;
    this.cols = tk.cols;
    this.c = { i: from };
    const cols = tk.cols;
    this.err = (at, expected, found) => new InputError(env.where(cols[at] ?? (cols[cols.length - 1] ?? 0) + 1), expected, found);
  }

  need(at: number, what: string): string {
    if (at >= this.words.length) throw this.err(at, what, 'end of line');
    return this.words[at]!;
  }

  /** Reads the next part of the rule at c.i. */
  step(): void {
    const w = this.words[this.c.i]!;
    if (w === '!') return this.negation();
    const b = BUILTIN_OPTS[w];
    if (b === 'f') throw this.err(this.c.i, 'no -f (fragment matching is not modelled)', JSON.stringify(w));
    if (b !== undefined) return this.builtin(b, w);
    if (this.neg && (w === '-m' || w === '--match' || w === '-j' || w === '-g')) throw this.err(this.negCol, `an option after "!"`, JSON.stringify(w));
    if (w === '-m' || w === '--match') return this.module();
    if (w === '-j' || w === '--jump' || w === '-g' || w === '--goto') return this.target(w);
    if (w.startsWith('-')) return this.option(w);
    throw this.err(this.c.i, 'an option', JSON.stringify(w));
  }

  negation(): void {
    if (this.neg) throw this.err(this.c.i, 'an option after "!"', '"!" again');
    this.neg = true;
    this.negCol = this.c.i;
    this.c.i++;
  }

  /** -s -d -p -i -o with their value. */
  builtin(b: string, w: string): void {
    const { r, neg } = this;
    const v = this.need(this.c.i + 1, `a value after ${w}`);
    switch (b) {
      case 's':
      case 'd': {
        const cidr = tryParseCidr(v);
        if (!cidr) throw this.err(this.c.i + 1, 'an IPv4 address or CIDR', JSON.stringify(v));
        if (b === 's') [r.src, r.srcNeg] = [cidr, neg];
        else [r.dst, r.dstNeg] = [cidr, neg];
        break;
      }
      case 'p':
        this.protocol(v);
        break;
      case 'i':
        [r.inIface, r.inNeg] = [v, neg];
        break;
      case 'o':
        [r.outIface, r.outNeg] = [v, neg];
        break;
    }
    this.neg = false;
    this.c.i += 2;
    this.current = null;
  }

  protocol(v: string): void {
    const r = this.r;
    const name = v.toLowerCase();
    if (name === 'all' || name === '0') {
      r.proto = null;
      r.protoName = null;
    } else {
      const num = /^[0-9]+$/.test(name) ? Number(name) : PROTO_NUMBERS[name];
      if (num === undefined || num > 255) throw this.err(this.c.i + 1, 'a protocol (tcp, udp, sctp, icmp, all, or a number)', JSON.stringify(v));
      r.proto = num;
      r.protoName = name;
    }
    r.protoNeg = this.neg;
  }

  /** -m NAME: a module the model knows takes its options next; an unknown one is kept verbatim. */
  module(): void {
    const c = this.c;
    const name = this.need(c.i + 1, 'a match module name after -m');
    const nameCol = this.cols[c.i + 1]!;
    c.i += 2;
    const m = newMatch(name);
    this.current = m;
    this.currentFrom = c.i;
    this.currentNameCol = nameCol;
    this.r.matches.push(m);
    if (m.kind === 'unknown') {
      // Keep everything up to the next section verbatim.
      wordsUntilSection(this.words, c, m.tokens);
      this.env.warn(nameCol, `match module "${name}" is not modelled: rule kept, never matches`);
      this.r.unsupported = true;
      this.current = null;
    }
  }

  /** -j NAME [options] or -g CHAIN. */
  target(w: string): void {
    const c = this.c;
    if (this.targetSeen) throw this.err(c.i, 'one -j or -g per rule', 'a second one');
    this.targetSeen = true;
    const name = this.need(c.i + 1, `a target after ${w}`);
    const targetCol = c.i + 1;
    c.i += 2;
    this.r.target = parseTarget(w === '-g' || w === '--goto', name, targetCol, c, this.tk, this.env, this.err);
    this.current = null;
  }

  /**
   * An option of a module the model knows but not this option (e.g. conntrack --ctorigdst, statistic
   * --mode nth): a real dump only holds options iptables-restore accepted, so the whole match is kept
   * verbatim, reported, and never matches, like an unknown module.
   */
  keepVerbatim(m: Match, why: string): void {
    const r = this.r;
    const tokens = wordsUntilSection(this.words, this.c, this.words.slice(this.currentFrom, this.c.i));
    const name = m.module;
    r.matches[r.matches.indexOf(m)] = { kind: 'unknown', module: name, tokens };
    this.env.warn(this.currentNameCol, `match -m ${name} ${why} is not modelled: rule kept, never matches`);
    r.unsupported = true;
    this.current = null;
  }

  /** The match an option belongs to: the current module, or the protocol's implicit port match; null when kept verbatim. */
  optionOwner(w: string): Match | null {
    const { r, current } = this;
    if (current !== null && moduleTakes(current, w)) return current;
    const implicit = r.protoName !== null && PORT_PROTOCOLS.has(r.protoName) && !r.protoNeg ? r.protoName : null;
    const existing = r.matches.find((x) => x.kind === 'port' && x.module === implicit) ?? null;
    if (implicit !== null && isImplicitPortOption(implicit, w)) {
      if (existing !== null) return existing;
      const m = newMatch(implicit);
      r.matches.push(m);
      this.currentFrom = this.c.i;
      this.currentNameCol = this.cols[this.c.i]!;
      return m;
    }
    if (current !== null) {
      // A "!" before the option is in the verbatim words already.
      this.keepVerbatim(current, `option ${w}`);
      this.neg = false;
      return null;
    }
    throw this.err(this.c.i, 'an option (-s -d -p -i -o -m -j -g)', JSON.stringify(w));
  }

  /** An option of the current module, or of the protocol's implicitly loaded match (-p tcp --dport 80). */
  option(w: string): void {
    const m = this.optionOwner(w);
    if (m === null) return;
    const c = this.c;
    if (m.kind === 'statistic' && w === '--mode' && this.words[c.i + 1] === 'nth') {
      // The match becomes an nth match; --every and --packet follow.
      const nth: Match = { kind: 'nth', module: 'statistic', every: 0, packet: 0, neg: false };
      this.r.matches[this.r.matches.indexOf(m)] = nth;
      this.current = nth;
      if (this.neg) nth.neg = true;
      this.neg = false;
      c.i += 2;
      return;
    }
    c.i = applyModuleOption(m, w, this.neg, c.i, this.words, this.err);
    this.neg = false;
    this.current = m;
  }
}

/** The checks iptables makes of a whole rule once its options are read; errors name column `col`. */
function checkRule(r: Rule, env: RuleEnv, col: number): void {
  const where = () => env.where(col);
  for (const m of r.matches) {
    if (m.kind === 'port' && (r.proto === null || r.protoName !== m.module || r.protoNeg)) {
      throw new InputError(where(), `-p ${m.module} with -m ${m.module}`, r.protoName ? `-p ${r.protoName}` : 'no -p');
    }
    if (m.kind === 'recent' && !recentCommandSeen(m)) {
      throw new InputError(where(), '-m recent with one of --set, --rcheck, --update, --remove', 'none');
    }
    if (m.kind === 'nth' && (m.every < 1 || m.packet > m.every - 1)) {
      throw new InputError(where(), '-m statistic --mode nth with --every N and --packet P, 0 <= P <= N - 1', m.every < 1 ? 'no --every' : `--packet ${m.packet} with --every ${m.every}`);
    }
    if (m.kind === 'statistic' && m.probability < 0) {
      throw new InputError(where(), '-m statistic --mode random with --probability', 'no --probability');
    }
    if (m.kind === 'set' && m.setName === '') {
      throw new InputError(where(), '-m set with --match-set NAME FLAGS', 'none');
    }
    if (m.kind === 'recent' && (m.command === 'set' || m.command === 'remove') && (m.seconds || m.hitcount || m.reap)) {
      throw new InputError(where(), '--seconds/--hitcount/--reap only with --rcheck or --update', '--set with them');
    }
  }
  if (NAT_TARGETS.has(natTargetName(r.target)) && env.table !== 'nat') {
    throw new InputError(where(), `${natTargetName(r.target)} only in the nat table`, `table ${env.table}`);
  }
}

/**
 * Parses the rule arguments words[from..] (after `-A CHAIN`). Throws InputError naming the word's
 * position. Unknown match modules and options are kept verbatim (rule.unsupported: never matches) and
 * reported; unknown targets likewise kept and reported (a matching packet continues past them).
 */
export function parseRuleSpec(tk: Tokens, from: number, env: RuleEnv, counters: [number, number] | null = null): Rule {
  const ps = new RuleParser(tk, from, env);
  ps.r.counters = counters;
  while (ps.c.i < tk.words.length) ps.step();
  if (ps.neg) throw ps.err(ps.negCol, 'an option after "!"', 'end of line');
  checkRule(ps.r, env, tk.cols[from] ?? 1);
  return ps.r;
}
