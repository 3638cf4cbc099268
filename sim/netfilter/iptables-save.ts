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
import { InputError } from '../io/input-error.ts';
import { compileRuleset } from './compile.ts';
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
}

export interface RestoreOptions {
  /** iptables-restore --noflush: keep what is not mentioned (kube-proxy always uses it). */
  noflush?: boolean;
  /** Name used in error messages. */
  file?: string;
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

/** Applies iptables-restore input to `base`, returning a new version that shares untouched chains. */
export function applyIptablesRestore(base: Ruleset, text: string, opts: RestoreOptions = {}): LoadResult {
  const file = opts.file ?? 'rules';
  const noflush = opts.noflush ?? false;
  const tables = new Map(base.tables);
  const unmodelled = new Map(base.unmodelledTables ?? []);
  /** The lines of an unmodelled table being read (verbatim until its COMMIT), or null. */
  let verbatim: { name: string; lines: string[] } | null = null;
  const warnings: LoadWarning[] = [];
  let ruleLines = 0;
  let table: TableName | null = null;
  let tableLine = 0;
  let work: Map<string, WorkChain> | null = null;
  const lines = text.split('\n');
  let lineNo = 0;
  const at = (col: number) => `${file}:${lineNo}:${col}`;

  const env: RuleEnv = {
    table: 'filter',
    isChain: (name) => {
      const c = work!.get(name);
      return c !== undefined && !c.builtin;
    },
    where: at,
    warn: (col, message) => warnings.push({ where: at(col), message }),
  };

  const openTable = (name: TableName): Map<string, WorkChain> => {
    const m = new Map<string, WorkChain>();
    const src: Table = noflush ? (tables.get(name) ?? emptyTable(name)) : emptyTable(name);
    for (const c of src.chains.values()) {
      m.set(c.name, { name: c.name, builtin: c.builtin, policy: c.policy, policyCounters: c.policyCounters, rules: c.rules, owned: false, source: c });
    }
    return m;
  };

  const chainArg = (tk: Tokens, k: number, cmd: string): WorkChain => {
    const name = tk.words[k];
    if (name === undefined) throw new InputError(at((tk.cols[k - 1] ?? 1) + cmd.length), `a chain name after ${cmd}`, 'end of line');
    const c = work!.get(name);
    if (!c) throw new InputError(at(tk.cols[k]!), `a chain declared in table ${table}`, JSON.stringify(name));
    return c;
  };

  for (let li = 0; li < lines.length; li++) {
    lineNo = li + 1;
    const raw = lines[li]!;
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    let first = 0;
    while (first < line.length && (line[first] === ' ' || line[first] === '\t')) first++;
    if (first === line.length || line[first] === '#') continue;
    const ch = line[first];
    if (verbatim !== null && ch !== '*') {
      if (line.slice(first).trimEnd() === 'COMMIT') {
        unmodelled.set(verbatim.name, verbatim.lines);
        verbatim = null;
        table = null;
      } else {
        verbatim.lines.push(line);
      }
      continue;
    }

    if (ch === '*') {
      const open = table ?? verbatim?.name ?? null;
      if (open !== null) throw new InputError(at(first + 1), `COMMIT before a new table (table ${open} opened on line ${tableLine})`, JSON.stringify(line.trim()));
      const name = line.slice(first + 1).trim();
      if (UNMODELLED_TABLE_NAMES.includes(name)) {
        warnings.push({ where: at(first + 2), message: `table ${name} is not modelled: kept verbatim, not evaluated` });
        verbatim = { name, lines: [] };
        tableLine = lineNo;
        continue;
      }
      if (!isTableName(name)) throw new InputError(at(first + 2), `a table name (${TABLE_NAMES.join(', ')})`, JSON.stringify(name));
      table = name;
      tableLine = lineNo;
      env.table = name;
      work = openTable(name);
      continue;
    }
    if (table === null || work === null) {
      throw new InputError(at(first + 1), 'a table line like *filter before rules', JSON.stringify(line.trim()));
    }
    if (line.slice(first).trimEnd() === 'COMMIT') {
      const chains = new Map<string, Chain>();
      for (const c of work.values()) {
        const unchanged =
          !c.owned && c.source !== null && c.source.policy === c.policy && c.source.policyCounters === c.policyCounters && c.source.rules === c.rules;
        chains.set(
          c.name,
          unchanged ? c.source! : { name: c.name, builtin: c.builtin, policy: c.policy, policyCounters: c.policyCounters, rules: c.rules },
        );
      }
      tables.set(table, { name: table, chains });
      table = null;
      work = null;
      continue;
    }
    if (ch === ':') {
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
      } else {
        if (policy !== '-') throw new InputError(at(tk.cols[1]!), `"-" as the policy of user chain ${name} (only built-in chains have policies)`, JSON.stringify(policy));
        const existing = work.get(name);
        if (existing) {
          // iptables-restore --noflush flushes a user chain named on a ':' line.
          existing.rules = [];
          existing.owned = true;
        } else {
          work.set(name, { name, builtin: false, policy: null, policyCounters: null, rules: [], owned: true, source: null });
        }
      }
      continue;
    }

    // A command line, optionally preceded by [pkts:bytes].
    const tk = tokenize(line, at);
    let k = 0;
    let counters: [number, number] | null = null;
    const cm = COUNTERS_RE.exec(tk.words[0]!);
    if (cm) {
      counters = [Number(cm[1]), Number(cm[2])];
      k = 1;
    }
    const cmd = tk.words[k];
    if (cmd === undefined) throw new InputError(at(line.length + 1), 'a command (-A, -I, ...) after the counters', 'end of line');
    switch (cmd) {
      case '-A':
      case '--append': {
        const c = chainArg(tk, k + 1, cmd);
        ownRules(c).push(parseRuleSpec(tk, k + 2, env, counters));
        ruleLines++;
        break;
      }
      case '-I':
      case '--insert':
      case '-R':
      case '--replace': {
        const c = chainArg(tk, k + 1, cmd);
        const isInsert = cmd === '-I' || cmd === '--insert';
        let from = k + 2;
        let pos = 1;
        const num = tk.words[from];
        if (num !== undefined && /^[0-9]+$/.test(num)) {
          pos = Number(num);
          from++;
        } else if (!isInsert) throw new InputError(at(tk.cols[from] ?? line.length + 1), `a rule number after ${cmd} ${c.name}`, num ?? 'end of line');
        const max = isInsert ? c.rules.length + 1 : c.rules.length;
        if (pos < 1 || pos > max) throw new InputError(at(tk.cols[from - 1]!), `a rule number 1..${max} in chain ${c.name}`, String(pos));
        const rule = parseRuleSpec(tk, from, env, counters);
        if (isInsert) ownRules(c).splice(pos - 1, 0, rule);
        else ownRules(c)[pos - 1] = rule;
        ruleLines++;
        break;
      }
      case '-D':
      case '--delete': {
        const c = chainArg(tk, k + 1, cmd);
        const num = tk.words[k + 2];
        if (num !== undefined && /^[0-9]+$/.test(num) && tk.words.length === k + 3) {
          const pos = Number(num);
          if (pos < 1 || pos > c.rules.length) throw new InputError(at(tk.cols[k + 2]!), `a rule number 1..${c.rules.length} in chain ${c.name}`, num);
          ownRules(c).splice(pos - 1, 1);
        } else {
          const spec = renderRuleSpec(parseRuleSpec(tk, k + 2, env));
          const idx = c.rules.findIndex((r) => renderRuleSpec(r) === spec);
          if (idx < 0) throw new InputError(at(tk.cols[k + 2] ?? 1), `a rule that exists in chain ${c.name} (iptables: "Bad rule")`, JSON.stringify(spec));
          ownRules(c).splice(idx, 1);
        }
        break;
      }
      case '-N':
      case '--new-chain': {
        const name = tk.words[k + 1];
        if (name === undefined) throw new InputError(at(line.length + 1), 'a chain name after -N', 'end of line');
        if (work.has(name)) throw new InputError(at(tk.cols[k + 1]!), 'a chain name not already in use', JSON.stringify(name));
        work.set(name, { name, builtin: false, policy: null, policyCounters: null, rules: [], owned: true, source: null });
        break;
      }
      case '-X':
      case '--delete-chain': {
        const names = tk.words[k + 1] !== undefined ? [chainArg(tk, k + 1, cmd).name] : [...work.values()].filter((c) => !c.builtin).map((c) => c.name);
        for (const name of names) {
          const c = work.get(name)!;
          if (c.builtin) throw new InputError(at(tk.cols[k + 1]!), 'a user-defined chain to delete', `built-in chain ${name}`);
          if (c.rules.length > 0) throw new InputError(at(tk.cols[k + 1] ?? 1), `an empty chain to delete (kernel: "Directory not empty")`, `${name} with ${c.rules.length} rules`);
          work.delete(name);
        }
        break;
      }
      case '-F':
      case '--flush': {
        const targets = tk.words[k + 1] !== undefined ? [chainArg(tk, k + 1, cmd)] : [...work.values()];
        for (const c of targets) {
          c.rules = [];
          c.owned = true;
        }
        break;
      }
      case '-P':
      case '--policy': {
        const c = chainArg(tk, k + 1, cmd);
        const p = tk.words[k + 2];
        if (!c.builtin) throw new InputError(at(tk.cols[k + 1]!), 'a built-in chain (only they have policies)', JSON.stringify(c.name));
        if (p !== 'ACCEPT' && p !== 'DROP') throw new InputError(at(tk.cols[k + 2] ?? line.length + 1), 'ACCEPT or DROP', JSON.stringify(p ?? ''));
        c.policy = p;
        break;
      }
      default:
        throw new InputError(at(tk.cols[k]!), 'a command: -A, -I, -R, -D, -N, -X, -F, -P, a :CHAIN line or COMMIT', JSON.stringify(cmd));
    }
  }
  if (table !== null || verbatim !== null) {
    throw new InputError(`${file}:${lines.length}:1`, `COMMIT to close table ${table ?? verbatim!.name} (opened on line ${tableLine})`, 'end of input');
  }
  const ruleset: Ruleset = unmodelled.size > 0 ? { tables, unmodelledTables: unmodelled } : { tables };
  try {
    // Chains deleted while still referenced, or loops, are refused as the kernel refuses them.
    compileRuleset(ruleset);
  } catch (e) {
    if (e instanceof InputError) throw new InputError(`${file}: ${e.where}`, e.expected, e.found, e.hint);
    throw e;
  }
  return { ruleset, warnings, ruleLines, lines: lines.length };
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
