/**
 * Text forms of a ruleset:
 * - `renderListRuleset`: what `nft list ruleset` prints (nested blocks, tabs, nft's canonical rule
 *   spelling, standard priority names, sets/maps before chains as nft lists them).
 * - `renderDump`: the whole state as `add ...` commands, one object per line, in the form knftables'
 *   Fake.Dump() produces — the form kube-proxy's own tests compare (pkg/proxy/nftables/proxier_test.go).
 * - `renderCommands`: a transaction as the `nft -f` text knftables sends.
 */
import { formatKey } from './key.ts';
import { formatPriority } from './priority.ts';
import { renderRule, renderVerdict } from './rule.ts';
import type { Command } from './transaction.ts';
import type { BaseChainSpec, Chain, KeyType, NamedSet, Ruleset, SetElement, Table } from './types.ts';

function formatSeconds(ns: number): string {
  return `${Math.round(ns / 1e9)}s`;
}

/** nft's time format for `timeout`: 3h, 1h30m, 10s (src/datatype.c time_type print). */
export function formatNftTime(ns: number): string {
  let ms = Math.round(ns / 1e6);
  const parts: string[] = [];
  const units: [string, number][] = [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ];
  for (const [u, size] of units) {
    if (ms >= size) {
      parts.push(`${Math.floor(ms / size)}${u}`);
      ms %= size;
    }
  }
  if (ms > 0) parts.push(`${ms}ms`);
  return parts.length ? parts.join('') : '0s';
}

function elementText(s: { keyType: readonly KeyType[] }, e: SetElement, style: 'input' | 'list'): string {
  let t = formatKey(s.keyType, e.key);
  if (e.timeoutNs !== undefined) t += ` timeout ${style === 'list' ? formatNftTime(e.timeoutNs) : formatSeconds(e.timeoutNs)}`;
  if (e.comment !== undefined) t += ` comment "${e.comment}"`;
  if (e.value) t += ` : ${renderVerdict(e.value)}`;
  return t;
}

function typeText(s: NamedSet): string {
  return s.keyType.join(' . ') + (s.dataType ? ` : ${s.dataType}` : '');
}

// ------------------------------------------------------------------ nft list ruleset

export function renderListRuleset(rs: Ruleset): string {
  const out: string[] = [];
  for (const t of rs.tables.values()) out.push(renderListTable(t));
  return out.join('');
}

export function renderListTable(t: Table): string {
  const lines: string[] = [`table ${t.family} ${t.name} {`];
  if (t.comment !== undefined) lines.push(`\tcomment "${t.comment}"`);
  const blocks: string[][] = [];
  for (const s of t.sets.values()) blocks.push(renderListSet(s));
  for (const c of t.chains.values()) blocks.push(renderListChain(c));
  blocks.forEach((b, i) => {
    if (i > 0) lines.push('');
    lines.push(...b);
  });
  lines.push('}');
  return lines.join('\n') + '\n';
}

function renderListSet(s: NamedSet): string[] {
  const lines = [`\t${s.kind} ${s.name} {`, `\t\ttype ${typeText(s)}`];
  if (s.flags.length) lines.push(`\t\tflags ${s.flags.join(',')}`);
  if (s.timeoutNs) lines.push(`\t\ttimeout ${formatNftTime(s.timeoutNs)}`);
  if (s.comment !== undefined) lines.push(`\t\tcomment "${s.comment}"`);
  if (s.elements.size) {
    const els = [...s.elements.values()].map((e) => elementText(s, e, 'list'));
    // nft continues long element lists on following lines, aligned after "elements = { ".
    lines.push(`\t\telements = { ${els.join(',\n\t\t\t     ')} }`);
  }
  lines.push('\t}');
  return lines;
}

function renderListChain(c: Chain): string[] {
  const lines = [`\tchain ${c.name} {`];
  if (c.comment !== undefined) lines.push(`\t\tcomment "${c.comment}"`);
  if (c.base) lines.push(`\t\ttype ${c.base.type} hook ${c.base.hook} priority ${formatPriority(c.base.hook, c.base.priority)}; policy ${c.base.policy};`);
  for (const r of c.rules) lines.push(`\t\t${renderRule(r, 'list')}`);
  lines.push('\t}');
  return lines;
}

// ------------------------------------------------------------------ knftables-style dump

function baseSpecText(b: BaseChainSpec | undefined, comment: string | undefined): string {
  const parts: string[] = [];
  if (b) parts.push(`type ${b.type} hook ${b.hook} priority ${b.priority} ;`);
  if (comment !== undefined) parts.push(`comment "${comment}" ;`);
  return parts.length ? ` { ${parts.join(' ')} }` : '';
}

function setSpecText(s: { keyType?: readonly string[]; dataType?: string; flags?: readonly string[]; timeoutNs?: number; comment?: string }): string {
  const parts: string[] = [];
  if (s.keyType) parts.push(`type ${s.keyType.join(' . ')}${s.dataType ? ` : ${s.dataType}` : ''} ;`);
  if (s.flags?.length) parts.push(`flags ${s.flags.join(',')} ;`);
  if (s.timeoutNs) parts.push(`timeout ${formatSeconds(s.timeoutNs)} ;`);
  if (s.comment !== undefined) parts.push(`comment "${s.comment}" ;`);
  return parts.length ? ` { ${parts.join(' ')} }` : '';
}

/**
 * The full state as `add` lines (table, chains, sets, maps, rules, elements), the shape of knftables
 * Fake.Dump(); rules are rendered from their expressions in kube-proxy's input spelling.
 */
export function renderDump(rs: Ruleset): string {
  const lines: string[] = [];
  for (const t of rs.tables.values()) {
    const ref = `${t.family} ${t.name}`;
    lines.push(`add table ${ref}${t.comment !== undefined ? ` { comment "${t.comment}" ; }` : ''}`);
    for (const c of t.chains.values()) lines.push(`add chain ${ref} ${c.name}${baseSpecText(c.base, c.comment)}`);
    for (const s of t.sets.values()) lines.push(`add ${s.kind} ${ref} ${s.name}${setSpecText(s)}`);
    for (const c of t.chains.values()) for (const r of c.rules) lines.push(`add rule ${ref} ${c.name} ${renderRule(r, 'input')}`);
    for (const s of t.sets.values()) for (const e of s.elements.values()) lines.push(`add element ${ref} ${s.name} { ${elementText(s, e, 'input')} }`);
  }
  return lines.join('\n') + '\n';
}

// ------------------------------------------------------------------ transactions

export function renderCommand(c: Command): string {
  const ref = `${c.family} ${c.table}`;
  switch (c.object) {
    case 'ruleset':
      return 'flush ruleset';
    case 'table':
      return `${c.verb} table ${ref}${c.verb === 'add' && c.comment !== undefined ? ` { comment "${c.comment}" ; }` : ''}`;
    case 'chain':
      return `${c.verb} chain ${ref} ${c.name}${c.verb === 'add' || c.verb === 'create' ? baseSpecText(c.base, c.comment) : ''}`;
    case 'rule':
      return `${c.verb} rule ${ref} ${c.chain} ${c.text ?? renderRule(c.rule, 'input')}`;
    case 'set':
    case 'map': {
      const spec = c.verb === 'add' || c.verb === 'create' ? setSpecText(c) : '';
      return `${c.verb} ${c.object} ${ref} ${c.name}${spec}`;
    }
    case 'element': {
      // Element keys are typed by their set, which the command does not carry: elements hold parsed
      // key parts, so the caller supplies the set's types through renderCommands.
      throw new Error('renderCommand: use renderCommands for element commands');
    }
  }
}

/**
 * Renders a transaction as `nft -f` text, one command per line. `ruleset` is consulted for element
 * key types of sets created before this transaction.
 */
export function renderCommands(commands: readonly Command[], before?: Ruleset): string {
  const types = new Map<string, { keyType: readonly KeyType[]; kind: 'set' | 'map' }>();
  const lines: string[] = [];
  for (const c of commands) {
    if (c.object === 'set' || c.object === 'map') {
      if (c.keyType) types.set(`${c.family} ${c.table} ${c.name}`, { keyType: c.keyType, kind: c.object });
    }
    if (c.object !== 'element') {
      lines.push(renderCommand(c));
      continue;
    }
    const key = `${c.family} ${c.table} ${c.set}`;
    const s = types.get(key) ?? before?.tables.get(`${c.family} ${c.table}`)?.sets.get(c.set);
    if (!s) throw new Error(`renderCommands: element of unknown set ${c.set}`);
    for (const e of c.elements) {
      const text = c.verb === 'delete' ? formatKey(s.keyType, e.key) : elementText(s, e, 'input');
      lines.push(`${c.verb} element ${c.family} ${c.table} ${c.set} { ${text} }`);
    }
  }
  return lines.join('\n') + '\n';
}
