/**
 * iptables-save text in and out.
 *
 * In: what `iptables-save [-c]` prints from either backend (legacy, or nf_tables as
 * iptables-nft-save prints it) and what kube-proxy feeds to `iptables-restore --noflush`. The
 * grammar is iptables-restore's (iptables/iptables-restore.c): `#` comments, `*table`, chain lines
 * `:NAME POLICY [pkts:bytes]` (`-` for user chains), optional `[pkts:bytes]` before a rule,
 * commands -A/-I/-D/-R/-N/-X/-F/-P, and `COMMIT` closing each table. Without --noflush a table is
 * flushed when it opens; with it, only user chains named on a `:` line are flushed (created if new).
 * A table's changes take effect at COMMIT, all or nothing; any error leaves the base rules as they
 * were and names the file, line and column.
 *
 * Out: iptables-save's format; rules in its normal form (see rule-render.ts), chain lines with
 * counters, rule counters with `counters: true` (iptables-save -c).
 */
import { combineInputErrors, InputError } from '../io/input-error.ts';
import { quoteInput } from '../io/excerpt.ts';
import { compileRuleset, type CompiledRuleset } from './compile.ts';
import { recompileRuleset } from './recompile.ts';
import type { Rule } from './rule.ts';
import type { RuleEnv } from './rule-args.ts';
import { parseRuleSpec } from './rule-parse.ts';
import { renderRule, renderRuleSpec } from './rule-render.ts';
import { tokenize, type Tokens } from './rule-tokens.ts';
import {
  BUILTIN_CHAINS,
  EMPTY_RULESET,
  emptyTable,
  isBuiltinChain,
  isTableName,
  TABLE_NAMES,
  UNMODELLED_TABLE_NAMES,
  type Chain,
  type Policy,
  type Ruleset,
  type Table,
  type TableName,
} from './ruleset.ts';

export interface LoadWarning {
  where: string;
  message: string;
}

export interface LoadResult {
  ruleset: Ruleset;
  /** Things kept but not modelled (unknown match modules and targets), with their positions. */
  warnings: LoadWarning[];
  /** Rule lines (-A/-I/-R) read. */
  ruleLines: number;
  /** All input lines, for restore cost (CostModel.restoreNsPerLine). */
  lines: number;
  /** The rule set compiled by the final check (with RestoreOptions.compiledBase: recompiled from it). */
  compiled?: CompiledRuleset;
}

export interface RestoreOptions {
  /** iptables-restore --noflush: keep what is not mentioned (kube-proxy always uses it). */
  noflush?: boolean;
  /** Name used in error messages. */
  file?: string;
  /**
   * The compiled form of the base rule set: the final check then compiles only the chains the input
   * changed, and their parents (recompile.ts), and the result carries it (LoadResult.compiled).
   */
  compiledBase?: CompiledRuleset;
}

/** A chain being edited: its rules are copied only when first changed (copy on write). */
interface WorkChain {
  name: string;
  builtin: boolean;
  policy: Policy | null;
  policyCounters: [number, number] | null;
  rules: Rule[] | readonly Rule[];
  owned: boolean;
  source: Chain | null;
}

function ownRules(c: WorkChain): Rule[] {
  if (!c.owned) {
    c.rules = c.rules.slice();
    c.owned = true;
  }
  return c.rules as Rule[];
}

const COUNTERS_RE = /^\[(\d+):(\d+)\]$/;

/** Parses an iptables-save dump into a fresh Ruleset. */
export function parseIptablesSave(text: string, file = 'rules'): LoadResult {
  return applyIptablesRestore(EMPTY_RULESET, text, { noflush: false, file });
}

/**
 * Applies iptables-restore input to `base`, returning a new version that shares untouched chains.
 *
 * Every independent mistake is reported, in line order, in one InputError (combineInputErrors): a
 * line with an error is skipped and reading goes on, because the lines after it are still checked
 * against the same tables and chains. Where going on would only report consequences of the first
 * mistake, it does not: after a bad table header the lines up to that table's COMMIT are skipped
 * (their chains are unknown), after a line outside any table everything up to the next table header
 * is skipped, a chain whose `:` line or first use was wrong is taken as declared from then on, a
 * missing COMMIT is not reported for a table whose header was bad, and the whole-ruleset checks
 * (loops, references to deleted chains) run only on input without other errors.
 */
export function applyIptablesRestore(base: Ruleset, text: string, opts: RestoreOptions = {}): LoadResult {
  const run = new Restore(base, opts.file ?? 'rules', opts.noflush ?? false);
  const lines = text.split('\n');
  for (let li = 0; li < lines.length; li++) run.line(li + 1, lines[li]!);
  return run.finish(lines.length, opts.compiledBase ?? null);
}

/** What the reader does with lines until something resets it (see applyIptablesRestore). */
const enum Skip {
  None,
  /** A bad table header: skip to that table's COMMIT. */
  ToCommit,
  /** A line outside any table: skip to the next table header. */
  ToHeader,
}

/** One iptables-restore run: the tables as they become after each line, and the problems found. */
class Restore {
  readonly tables: Map<TableName, Table>;
  readonly unmodelled: Map<string, readonly string[]>;
  /** The lines of an unmodelled table being read (verbatim until its COMMIT), or null. */
  verbatim: { name: string; lines: string[] } | null = null;
  readonly warnings: LoadWarning[] = [];
  readonly problems: InputError[] = [];
  ruleLines = 0;
  table: TableName | null = null;
  tableLine = 0;
  work: Map<string, WorkChain> | null = null;
  skip = Skip.None;
  lineNo = 0;
  readonly env: RuleEnv;
  readonly at = (col: number): string => `${this.file}:${this.lineNo}:${col}`;

  constructor(
    base: Ruleset,
    readonly file: string,
    readonly noflush: boolean,
  ) {
    this.tables = new Map(base.tables);
    this.unmodelled = new Map(base.unmodelledTables ?? []);
    this.env = {
      table: 'filter',
      isChain: (name) => {
        const c = this.work!.get(name);
        return c !== undefined && !c.builtin;
      },
      where: this.at,
      warn: (col, message) => this.warnings.push({ where: this.at(col), message }),
    };
  }

  /** Reads one line; an InputError from it is recorded and the line skipped. */
  line(lineNo: number, raw: string): void {
    this.lineNo = lineNo;
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    let first = 0;
    while (first < line.length && (line[first] === ' ' || line[first] === '\t')) first++;
    if (first === line.length || line[first] === '#') return;
    try {
      this.read(line, first);
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      this.problems.push(e);
    }
  }

  private read(line: string, first: number): void {
    const ch = line[first];
    const isCommit = line.slice(first).trimEnd() === 'COMMIT';
    if (this.skip === Skip.ToCommit && ch !== '*') {
      if (isCommit) this.skip = Skip.None;
      return;
    }
    if (this.skip === Skip.ToHeader && ch !== '*') return;
    if (this.verbatim !== null && ch !== '*') {
      if (isCommit) {
        this.unmodelled.set(this.verbatim.name, this.verbatim.lines);
        this.verbatim = null;
        this.table = null;
      } else {
        this.verbatim.lines.push(line);
      }
      return;
    }
    if (ch === '*') return this.tableHeader(line, first);
    if (this.table === null || this.work === null) {
      this.skip = Skip.ToHeader;
      throw new InputError(this.at(first + 1), 'a table line like *filter before rules', quoteInput(line.trim()));
    }
    if (isCommit) return this.commit(this.table, this.work);
    if (ch === ':') return this.chainLine(line, first, this.table, this.work);
    this.command(line, this.work);
  }

  /** `*TABLE`: opens a table (flushed unless --noflush), or starts keeping an unmodelled one verbatim. */
  private tableHeader(line: string, first: number): void {
    const open = this.table ?? this.verbatim?.name ?? null;
    this.skip = Skip.None;
    // After a missing COMMIT the new table is read on its own: the open one is dropped.
    this.table = null;
    this.verbatim = null;
    this.work = null;
    const name = line.slice(first + 1).trim();
    const tableLine = this.tableLine;
    this.tableLine = this.lineNo;
    const problem =
      open !== null ? new InputError(this.at(first + 1), `COMMIT before a new table (table ${open} opened on line ${tableLine})`, quoteInput(line.trim())) : null;
    if (UNMODELLED_TABLE_NAMES.includes(name)) {
      this.warnings.push({ where: this.at(first + 2), message: `table ${name} is not modelled: kept verbatim, not evaluated` });
      this.verbatim = { name, lines: [] };
    } else if (isTableName(name)) {
      this.table = name;
      this.env.table = name;
      this.work = this.openTable(name);
    } else {
      if (problem !== null) this.problems.push(problem);
      this.skip = Skip.ToCommit;
      throw new InputError(this.at(first + 2), `a table name (${TABLE_NAMES.join(', ')})`, JSON.stringify(name));
    }
    if (problem !== null) throw problem;
  }

  private openTable(name: TableName): Map<string, WorkChain> {
    const m = new Map<string, WorkChain>();
    const src: Table = this.noflush ? (this.tables.get(name) ?? emptyTable(name)) : emptyTable(name);
    for (const c of src.chains.values()) {
      m.set(c.name, { name: c.name, builtin: c.builtin, policy: c.policy, policyCounters: c.policyCounters, rules: c.rules, owned: false, source: c });
    }
    return m;
  }

  /** COMMIT: the table's chains, sharing those nothing changed. */
  private commit(table: TableName, work: Map<string, WorkChain>): void {
    const chains = new Map<string, Chain>();
    for (const c of work.values()) {
      const unchanged =
        !c.owned && c.source !== null && c.source.policy === c.policy && c.source.policyCounters === c.policyCounters && c.source.rules === c.rules;
      chains.set(
        c.name,
        unchanged ? c.source! : { name: c.name, builtin: c.builtin, policy: c.policy, policyCounters: c.policyCounters, rules: c.rules },
      );
    }
    this.tables.set(table, { name: table, chains });
    this.table = null;
    this.work = null;
  }

  /**
   * `:NAME POLICY [pkts:bytes]`: a built-in chain's policy, or a user chain declared (and, with
   * --noflush, flushed). A user chain whose line has an error is declared anyway, so that the
   * rules of the chain are still checked.
   */
  private chainLine(line: string, first: number, table: TableName, work: Map<string, WorkChain>): void {
    const at = this.at;
    const meant = /^[^\s"]+/.exec(line.slice(first + 1))?.[0] ?? '';
    try {
      const tk = tokenize(line, at);
      const name = tk.words[0]!.slice(1);
      const policy = tk.words[1];
      if (name === '') throw new InputError(at(first + 2), 'a chain name after ":"', 'nothing');
      if (policy === undefined) throw new InputError(at(line.length + 1), `a policy (ACCEPT, DROP, or - for a user chain) after :${name}`, 'end of line');
      let counters: [number, number] | null = null;
      if (tk.words[2] !== undefined) {
        const m = COUNTERS_RE.exec(tk.words[2]);
        if (!m) throw new InputError(at(tk.cols[2]!), 'counters like [0:0]', JSON.stringify(tk.words[2]));
        counters = [Number(m[1]), Number(m[2])];
      }
      if (isBuiltinChain(table, name)) {
        if (policy !== 'ACCEPT' && policy !== 'DROP') throw new InputError(at(tk.cols[1]!), `ACCEPT or DROP as the policy of built-in chain ${name}`, JSON.stringify(policy));
        const c = work.get(name)!;
        c.policy = policy;
        c.policyCounters = counters;
        return;
      }
      if (policy !== '-') throw new InputError(at(tk.cols[1]!), `"-" as the policy of user chain ${name} (only built-in chains have policies)`, JSON.stringify(policy));
      const existing = work.get(name);
      if (existing) {
        // iptables-restore --noflush flushes a user chain named on a ':' line.
        existing.rules = [];
        existing.owned = true;
      } else {
        work.set(name, newUserChain(name));
      }
    } catch (e) {
      if (meant !== '' && !isBuiltinChain(table, meant) && !work.has(meant)) work.set(meant, newUserChain(meant));
      throw e;
    }
  }

  /** The chain named by words[k] (after command `cmd`); an undeclared one is reported once and then taken as declared. */
  private chainArg(tk: Tokens, k: number, cmd: string): WorkChain {
    const work = this.work!;
    const name = tk.words[k];
    if (name === undefined) throw new InputError(this.at((tk.cols[k - 1] ?? 1) + cmd.length), `a chain name after ${cmd}`, 'end of line');
    const c = work.get(name);
    if (!c) {
      work.set(name, newUserChain(name));
      throw new InputError(this.at(tk.cols[k]!), `a chain declared in table ${this.table}`, JSON.stringify(name));
    }
    return c;
  }

  /** A command line, optionally preceded by [pkts:bytes]. */
  private command(line: string, work: Map<string, WorkChain>): void {
    const tk = tokenize(line, this.at);
    let k = 0;
    let counters: [number, number] | null = null;
    const cm = COUNTERS_RE.exec(tk.words[0]!);
    if (cm) {
      counters = [Number(cm[1]), Number(cm[2])];
      k = 1;
    }
    const cmd = tk.words[k];
    if (cmd === undefined) throw new InputError(this.at(line.length + 1), 'a command (-A, -I, ...) after the counters', 'end of line');
    const c: CommandLine = { tk, k, cmd, counters, lineLength: line.length, work };
    switch (cmd) {
      case '-A':
      case '--append':
        return this.append(c);
      case '-I':
      case '--insert':
      case '-R':
      case '--replace':
        return this.insertOrReplace(c, cmd === '-I' || cmd === '--insert');
      case '-D':
      case '--delete':
        return this.deleteRule(c);
      case '-N':
      case '--new-chain':
        return this.newChain(c);
      case '-X':
      case '--delete-chain':
        return this.deleteChain(c);
      case '-F':
      case '--flush':
        return this.flush(c);
      case '-P':
      case '--policy':
        return this.policy(c);
      default:
        throw new InputError(this.at(tk.cols[k]!), 'a command: -A, -I, -R, -D, -N, -X, -F, -P, a :CHAIN line or COMMIT', JSON.stringify(cmd));
    }
  }

  private append({ tk, k, cmd, counters }: CommandLine): void {
    const c = this.chainArg(tk, k + 1, cmd);
    ownRules(c).push(parseRuleSpec(tk, k + 2, this.env, counters));
    this.ruleLines++;
  }

  private insertOrReplace({ tk, k, cmd, counters, lineLength }: CommandLine, isInsert: boolean): void {
    const at = this.at;
    const c = this.chainArg(tk, k + 1, cmd);
    let from = k + 2;
    let pos = 1;
    const num = tk.words[from];
    if (num !== undefined && /^[0-9]+$/.test(num)) {
      pos = Number(num);
      from++;
    } else if (!isInsert) throw new InputError(at(tk.cols[from] ?? lineLength + 1), `a rule number after ${cmd} ${c.name}`, num ?? 'end of line');
    const max = isInsert ? c.rules.length + 1 : c.rules.length;
    if (pos < 1 || pos > max) throw new InputError(at(tk.cols[from - 1]!), `a rule number 1..${max} in chain ${c.name}`, String(pos));
    const rule = parseRuleSpec(tk, from, this.env, counters);
    if (isInsert) ownRules(c).splice(pos - 1, 0, rule);
    else ownRules(c)[pos - 1] = rule;
    this.ruleLines++;
  }

  private deleteRule({ tk, k, cmd }: CommandLine): void {
    const at = this.at;
    const c = this.chainArg(tk, k + 1, cmd);
    const num = tk.words[k + 2];
    if (num !== undefined && /^[0-9]+$/.test(num) && tk.words.length === k + 3) {
      const pos = Number(num);
      if (pos < 1 || pos > c.rules.length) throw new InputError(at(tk.cols[k + 2]!), `a rule number 1..${c.rules.length} in chain ${c.name}`, num);
      ownRules(c).splice(pos - 1, 1);
      return;
    }
    const spec = renderRuleSpec(parseRuleSpec(tk, k + 2, this.env));
    const idx = c.rules.findIndex((r) => renderRuleSpec(r) === spec);
    if (idx < 0) throw new InputError(at(tk.cols[k + 2] ?? 1), `a rule that exists in chain ${c.name} (iptables: "Bad rule")`, JSON.stringify(spec));
    ownRules(c).splice(idx, 1);
  }

  private newChain({ tk, k, lineLength, work }: CommandLine): void {
    const name = tk.words[k + 1];
    if (name === undefined) throw new InputError(this.at(lineLength + 1), 'a chain name after -N', 'end of line');
    if (work.has(name)) throw new InputError(this.at(tk.cols[k + 1]!), 'a chain name not already in use', JSON.stringify(name));
    work.set(name, newUserChain(name));
  }

  private deleteChain({ tk, k, cmd, work }: CommandLine): void {
    const names = tk.words[k + 1] !== undefined ? [this.chainArg(tk, k + 1, cmd).name] : [...work.values()].filter((c) => !c.builtin).map((c) => c.name);
    for (const name of names) {
      const c = work.get(name)!;
      if (c.builtin) throw new InputError(this.at(tk.cols[k + 1]!), 'a user-defined chain to delete', `built-in chain ${name}`);
      if (c.rules.length > 0) throw new InputError(this.at(tk.cols[k + 1] ?? 1), `an empty chain to delete (kernel: "Directory not empty")`, `${name} with ${c.rules.length} rules`);
      work.delete(name);
    }
  }

  private flush({ tk, k, cmd, work }: CommandLine): void {
    const targets = tk.words[k + 1] !== undefined ? [this.chainArg(tk, k + 1, cmd)] : [...work.values()];
    for (const c of targets) {
      c.rules = [];
      c.owned = true;
    }
  }

  private policy({ tk, k, cmd, lineLength }: CommandLine): void {
    const c = this.chainArg(tk, k + 1, cmd);
    const p = tk.words[k + 2];
    if (!c.builtin) throw new InputError(this.at(tk.cols[k + 1]!), 'a built-in chain (only they have policies)', JSON.stringify(c.name));
    if (p !== 'ACCEPT' && p !== 'DROP') throw new InputError(this.at(tk.cols[k + 2] ?? lineLength + 1), 'ACCEPT or DROP', JSON.stringify(p ?? ''));
    c.policy = p;
  }

  /** After the last line: a table left open, then the checks of the whole ruleset; throws every problem found. */
  finish(lineCount: number, compiledBase: CompiledRuleset | null = null): LoadResult {
    const open = this.table ?? this.verbatim?.name ?? null;
    if (open !== null) {
      this.problems.push(new InputError(`${this.file}:${lineCount}:1`, `COMMIT to close table ${open} (opened on line ${this.tableLine})`, 'end of input'));
    }
    if (this.problems.length > 0) throw combineInputErrors(this.problems);
    const ruleset: Ruleset = this.unmodelled.size > 0 ? { tables: this.tables, unmodelledTables: this.unmodelled } : { tables: this.tables };
    let compiled: CompiledRuleset;
    try {
      // Chains deleted while still referenced, or loops, are refused as the kernel refuses them.
      compiled = compiledBase ? recompileRuleset(compiledBase, ruleset) : compileRuleset(ruleset);
    } catch (e) {
      if (e instanceof InputError) throw new InputError(`${this.file}: ${e.where}`, e.expected, e.found, e.hint);
      throw e;
    }
    return { ruleset, warnings: this.warnings, ruleLines: this.ruleLines, lines: lineCount, ...(compiledBase ? { compiled } : {}) };
  }
}

/** One command line, split: its words, where the command is, and the counters before it. */
interface CommandLine {
  tk: Tokens;
  /** Index of the command word (1 after [pkts:bytes]). */
  k: number;
  cmd: string;
  counters: [number, number] | null;
  lineLength: number;
  work: Map<string, WorkChain>;
}

function newUserChain(name: string): WorkChain {
  return { name, builtin: false, policy: null, policyCounters: null, rules: [], owned: true, source: null };
}

export interface RenderOptions {
  /** Print `[pkts:bytes]` before each rule, as iptables-save -c does. */
  counters?: boolean;
  /** Header comment text (default "svcsim"); no date, so output is deterministic. */
  generatedBy?: string;
}

/** Renders a Ruleset in iptables-save format. */
export function renderIptablesSave(rs: Ruleset, opts: RenderOptions = {}): string {
  const out: string[] = [];
  const by = opts.generatedBy ?? 'svcsim';
  for (const t of rs.tables.values()) {
    out.push(`# Generated by ${by}`);
    out.push(`*${t.name}`);
    const chains = saveOrder(t);
    for (const c of chains) {
      const [p, b] = c.policyCounters ?? [0, 0];
      out.push(`:${c.name} ${c.builtin ? c.policy : '-'} [${p}:${b}]`);
    }
    for (const c of chains) {
      for (const r of c.rules) {
        const line = renderRule(c.name, r);
        out.push(opts.counters ? `[${r.counters?.[0] ?? 0}:${r.counters?.[1] ?? 0}] ${line}` : line);
      }
    }
    out.push('COMMIT');
    out.push(`# Completed by ${by}`);
  }
  for (const [name, lines] of rs.unmodelledTables ?? []) {
    out.push(`# Generated by ${by}`, `*${name}`, ...lines, 'COMMIT', `# Completed by ${by}`);
  }
  return out.join('\n') + (out.length ? '\n' : '');
}

/**
 * Chains in the order iptables-save prints them: built-in chains in hook order, then user chains
 * sorted by name (libiptc keeps user chains sorted; iptables-nft sorts them too since 1.8.5).
 */
export function saveOrder(t: Table): Chain[] {
  const builtins = BUILTIN_CHAINS[t.name].map((h) => t.chains.get(h)).filter((c): c is Chain => c !== undefined);
  const users = [...t.chains.values()].filter((c) => !c.builtin).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return [...builtins, ...users];
}
