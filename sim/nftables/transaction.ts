/**
 * An nft transaction: the list of commands `nft -f` applies atomically (all or nothing, as the
 * kernel's nf_tables commit does), and applying it to a ruleset.
 *
 * Commands and their semantics follow nft(8) "TABLES", "CHAINS", "RULES", "SETS", "MAPS",
 * "ELEMENTS": `add` creates or leaves an existing object as it is (it is an error only to change a
 * base chain's type/hook or a set's type), `create` fails if the object exists, `flush` empties a
 * chain (rules) or set (elements), `delete` removes an object that must exist (and, for chains and
 * sets, must not be referenced), `add element` of an existing key is accepted (nft ignores the
 * duplicate unless `create element`).
 *
 * The result is a new immutable Ruleset value; the previous one is untouched (copy on write at the
 * level of each chain and set), so nodes that synced the same version share it.
 */
import { combineInputErrors, InputError } from '../io/input-error.ts';
import { encodeKey, numericKey } from './key.ts';
import { MAX_PROBLEMS } from './recovery.ts';
import { ruleSetRefs, ruleTargets } from './rule.ts';
import type { BaseChainSpec, Chain, KeyCode, KeyType, NamedSet, NftFamily, Rule, Ruleset, SetElement, Table } from './types.ts';
import { tableKey } from './types.ts';

export type Verb = 'add' | 'create' | 'flush' | 'delete';

export interface TableRef {
  readonly family: NftFamily;
  readonly table: string;
}

export type Command = TableRef & { readonly where?: string } & (
    | { readonly verb: Verb; readonly object: 'table'; readonly comment?: string }
    | { readonly verb: Verb; readonly object: 'chain'; readonly name: string; readonly base?: BaseChainSpec; readonly comment?: string }
    | { readonly verb: 'add' | 'create'; readonly object: 'rule'; readonly chain: string; readonly rule: Rule; readonly text?: string }
    | {
        readonly verb: Verb;
        readonly object: 'set' | 'map';
        readonly name: string;
        readonly keyType?: readonly KeyType[];
        readonly dataType?: 'verdict';
        readonly flags?: readonly string[];
        readonly timeoutNs?: number;
        readonly comment?: string;
        /** Elements given inline (`elements = { ... }` in list format). */
        readonly elements?: readonly SetElement[];
      }
    | { readonly verb: 'add' | 'create' | 'delete'; readonly object: 'element'; readonly set: string; readonly elements: readonly SetElement[] }
    | { readonly verb: 'flush'; readonly object: 'ruleset' }
  );

interface MutTable {
  family: NftFamily;
  name: string;
  comment?: string;
  chains: Map<string, Chain>;
  sets: Map<string, NamedSet>;
  ownedChains: Set<string>;
  ownedSets: Set<string>;
}

function fail(cmd: Command, expected: string, found?: string, hint?: string): never {
  throw new InputError(cmd.where ?? `nft command "${cmd.verb} ${cmd.object}"`, expected, found, hint);
}

/**
 * Applies the commands in order; on failure throws InputError and changes nothing. Every failing
 * command is reported (at most MAX_PROBLEMS), except one that names an object an earlier failure
 * was about: when `add table` failed, every later command on that table would fail only because of
 * it. References are checked only when every command applied.
 */
export function applyTransaction(base: Ruleset | undefined, commands: readonly Command[]): Ruleset {
  const tx = new Transaction(base);
  const problems: InputError[] = [];
  let failed: Set<string> | undefined;
  for (const cmd of commands) {
    try {
      applyCommand(tx, cmd);
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      failed ??= new Set();
      if (!namesFailed(tx, cmd, failed)) problems.push(e);
      markFailed(tx, cmd, failed);
      if (problems.length >= MAX_PROBLEMS) break;
    }
  }
  if (problems.length === 0) for (const m of tx.mut.values()) checkReferences(m, commands, problems);
  if (problems.length > 0) throw combineInputErrors(problems.slice(0, MAX_PROBLEMS));
  for (const [key, m] of tx.mut) {
    const table: Table = { family: m.family, name: m.name, ...(m.comment !== undefined ? { comment: m.comment } : {}), chains: m.chains, sets: m.sets };
    tx.tables.set(key, table);
  }
  return { tables: tx.tables };
}

function applyCommand(tx: Transaction, cmd: Command): void {
  switch (cmd.object) {
    case 'ruleset':
      tx.tables.clear();
      tx.mut.clear();
      return;
    case 'table':
      return applyTable(tx, cmd);
    case 'chain':
      return applyChain(tx, cmd);
    case 'rule':
      return applyRule(tx, cmd);
    case 'set':
    case 'map':
      return applySet(tx, cmd);
    case 'element':
      return applyElement(tx, cmd);
  }
}

/**
 * Records what a failed command was about: its table when that is missing, and the chain or set it
 * names, in any table (a misspelt table name leaves the chain it meant to add missing from the
 * right one).
 */
function markFailed(tx: Transaction, cmd: Command, failed: Set<string>): void {
  if (cmd.object === 'ruleset' || cmd.object === 'table' || !tx.getTable(cmd, false)) failed.add(tableKey(cmd.family, cmd.table));
  if (cmd.object !== 'ruleset' && cmd.object !== 'table') failed.add(objectName(cmd));
}

/** Whether `cmd` failed only because of an earlier failure: its missing table, or the object it names. */
function namesFailed(tx: Transaction, cmd: Command, failed: ReadonlySet<string>): boolean {
  if (failed.has(tableKey(cmd.family, cmd.table))) return true;
  if (cmd.object === 'ruleset' || cmd.object === 'table' || !tx.getTable(cmd, false)) return false;
  return failed.has(objectName(cmd));
}

function objectName(cmd: Exclude<Command, { object: 'ruleset' | 'table' }>): string {
  switch (cmd.object) {
    case 'chain':
      return `chain ${cmd.name}`;
    case 'rule':
      return `chain ${cmd.chain}`;
    case 'set':
    case 'map':
      return `set ${cmd.name}`;
    case 'element':
      return `set ${cmd.set}`;
  }
}

type CommandOf<O extends Command['object']> = Extract<Command, { object: O }>;
type MutChain = { -readonly [K in keyof Chain]: Chain[K] } & { rules: Rule[] };
type MutSet = NamedSet & { elements: Map<KeyCode, SetElement> };

/**
 * The tables a transaction has touched so far, copied on first write: a table when a command
 * names it, a chain or set when a command changes it.
 */
class Transaction {
  readonly tables: Map<string, Table>;
  readonly mut = new Map<string, MutTable>();

  constructor(base: Ruleset | undefined) {
    this.tables = new Map<string, Table>(base?.tables ?? []);
  }

  getTable(cmd: Command, create: boolean): MutTable | undefined {
    const key = tableKey(cmd.family, cmd.table);
    let m = this.mut.get(key);
    if (m) return m;
    const t = this.tables.get(key);
    if (!t) {
      if (!create) return undefined;
      m = { family: cmd.family, name: cmd.table, chains: new Map(), sets: new Map(), ownedChains: new Set(), ownedSets: new Set() };
    } else {
      m = {
        family: t.family,
        name: t.name,
        comment: t.comment,
        chains: new Map(t.chains),
        sets: new Map(t.sets),
        ownedChains: new Set(),
        ownedSets: new Set(),
      };
    }
    this.mut.set(key, m);
    return m;
  }

  needTable(cmd: Command): MutTable {
    const t = this.getTable(cmd, false);
    if (!t) fail(cmd, `an existing table ${cmd.family} ${cmd.table}`, 'no such table', 'add the table first');
    return t;
  }

  deleteTable(cmd: Command): void {
    const key = tableKey(cmd.family, cmd.table);
    this.mut.delete(key);
    this.tables.delete(key);
  }
}

function ownChain(t: MutTable, name: string): MutChain {
  const c = t.chains.get(name)!;
  if (t.ownedChains.has(name)) return c as MutChain;
  const copy = { ...c, rules: [...c.rules] };
  t.chains.set(name, copy);
  t.ownedChains.add(name);
  return copy;
}

function ownSet(t: MutTable, name: string): MutSet {
  const s = t.sets.get(name)!;
  if (t.ownedSets.has(name)) return s as MutSet;
  const copy = { ...s, elements: new Map(s.elements) };
  t.sets.set(name, copy);
  t.ownedSets.add(name);
  return copy;
}

/** add/create table (comment), flush table (every chain's rules, every set's elements), delete table. */
function applyTable(tx: Transaction, cmd: CommandOf<'table'>): void {
  if (cmd.verb === 'add' || cmd.verb === 'create') {
    const existed = !!tx.getTable(cmd, false);
    if (existed && cmd.verb === 'create') fail(cmd, `no table ${cmd.family} ${cmd.table} yet`, 'it exists');
    const t = tx.getTable(cmd, true)!;
    if (cmd.comment !== undefined) t.comment = cmd.comment;
  } else if (cmd.verb === 'flush') {
    const t = tx.needTable(cmd);
    for (const name of t.chains.keys()) ownChain(t, name).rules.length = 0;
    for (const name of t.sets.keys()) ownSet(t, name).elements.clear();
  } else {
    tx.needTable(cmd);
    tx.deleteTable(cmd);
  }
}

/** add/create chain (a base chain's definition must not change), flush chain, delete chain. */
function applyChain(tx: Transaction, cmd: CommandOf<'chain'>): void {
  const t = tx.needTable(cmd);
  const existing = t.chains.get(cmd.name);
  if (cmd.verb === 'add' || cmd.verb === 'create') {
    if (existing) {
      if (cmd.verb === 'create') fail(cmd, `no chain ${cmd.name} yet`, 'it exists');
      if (cmd.base && !sameBase(existing.base, cmd.base))
        fail(cmd, `the same type, hook and priority as the existing chain ${cmd.name}`, 'a different definition', 'delete the chain first');
      if (cmd.comment !== undefined && cmd.comment !== existing.comment) ownChain(t, cmd.name).comment = cmd.comment;
    } else {
      const c: Chain & { rules: Rule[] } = { name: cmd.name, rules: [] };
      if (cmd.base) (c as any).base = cmd.base;
      if (cmd.comment !== undefined) (c as any).comment = cmd.comment;
      t.chains.set(cmd.name, c);
      t.ownedChains.add(cmd.name);
    }
  } else if (cmd.verb === 'flush') {
    if (!existing) fail(cmd, `an existing chain ${cmd.name}`, 'no such chain');
    ownChain(t, cmd.name).rules.length = 0;
  } else {
    if (!existing) fail(cmd, `an existing chain ${cmd.name}`, 'no such chain');
    t.chains.delete(cmd.name);
    t.ownedChains.delete(cmd.name);
  }
}

/** add/create rule: appended to its chain. */
function applyRule(tx: Transaction, cmd: CommandOf<'rule'>): void {
  const t = tx.needTable(cmd);
  if (!t.chains.has(cmd.chain)) fail(cmd, `an existing chain ${cmd.chain}`, 'no such chain', 'add the chain before its rules');
  ownChain(t, cmd.chain).rules.push(cmd.rule);
}

/** add/create set or map (its kind and type must not change; inline elements added), flush, delete. */
function applySet(tx: Transaction, cmd: CommandOf<'set' | 'map'>): void {
  const t = tx.needTable(cmd);
  const existing = t.sets.get(cmd.name);
  if (cmd.verb === 'add' || cmd.verb === 'create') {
    if (existing) {
      if (cmd.verb === 'create') fail(cmd, `no ${cmd.object} ${cmd.name} yet`, 'it exists');
      if (existing.kind !== cmd.object) fail(cmd, `a ${existing.kind} (the existing ${cmd.name} is one)`, `a ${cmd.object}`);
      if (cmd.keyType && cmd.keyType.join(' . ') !== existing.keyType.join(' . '))
        fail(cmd, `type ${existing.keyType.join(' . ')} as the existing ${cmd.name} has`, cmd.keyType.join(' . '));
    } else {
      if (!cmd.keyType || cmd.keyType.length === 0) fail(cmd, `a type for the new ${cmd.object} ${cmd.name}`, 'none');
      if (cmd.object === 'map' && !cmd.dataType) fail(cmd, `a data type (": verdict") for map ${cmd.name}`, 'none');
      const s: NamedSet = {
        name: cmd.name,
        kind: cmd.object,
        keyType: cmd.keyType,
        ...(cmd.dataType ? { dataType: cmd.dataType } : {}),
        flags: cmd.flags ?? [],
        timeoutNs: cmd.timeoutNs ?? 0,
        ...(cmd.comment !== undefined ? { comment: cmd.comment } : {}),
        elements: new Map(),
      };
      t.sets.set(cmd.name, s);
      t.ownedSets.add(cmd.name);
    }
    if (cmd.elements?.length) addElements(cmd, ownSet(t, cmd.name), cmd.elements, false);
  } else if (cmd.verb === 'flush') {
    if (!existing || existing.kind !== cmd.object) fail(cmd, `an existing ${cmd.object} ${cmd.name}`, `no such ${cmd.object}`);
    ownSet(t, cmd.name).elements.clear();
  } else {
    if (!existing || existing.kind !== cmd.object) fail(cmd, `an existing ${cmd.object} ${cmd.name}`, `no such ${cmd.object}`);
    t.sets.delete(cmd.name);
    t.ownedSets.delete(cmd.name);
  }
}

/** add/create element (see addElements), delete element (each must exist). */
function applyElement(tx: Transaction, cmd: CommandOf<'element'>): void {
  const t = tx.needTable(cmd);
  if (!t.sets.has(cmd.set)) fail(cmd, `an existing set or map ${cmd.set}`, 'no such set');
  const s = ownSet(t, cmd.set);
  if (cmd.verb === 'delete') {
    const numeric = numericKey(s.keyType);
    for (const e of cmd.elements) {
      const code = encodeKey(s.keyType, e.key, numeric);
      if (!s.elements.delete(code)) fail(cmd, `an element of ${cmd.set} to delete`, 'no such element');
    }
  } else addElements(cmd, s, cmd.elements, cmd.verb === 'create');
}

function sameBase(a: BaseChainSpec | undefined, b: BaseChainSpec): boolean {
  return !!a && a.type === b.type && a.hook === b.hook && a.priority === b.priority;
}

function addElements(cmd: Command, s: MutSet, elements: readonly SetElement[], create: boolean): void {
  const numeric = numericKey(s.keyType);
  for (const e of elements) {
    if (e.key.length !== s.keyType.length)
      fail(cmd, `a key of ${s.keyType.length} part(s) (${s.keyType.join(' . ')}) for ${s.name}`, `${e.key.length} part(s)`);
    if (s.kind === 'map' && !e.value) fail(cmd, `": VERDICT" after the key of a map element of ${s.name}`, 'none');
    if (s.kind === 'set' && e.value) fail(cmd, `no data for an element of set ${s.name}`, 'a ": VALUE"');
    const code = encodeKey(s.keyType, e.key, numeric);
    if (s.elements.has(code)) {
      if (create) fail(cmd, `a new element of ${s.name}`, 'an existing one');
      continue; // nft: adding an existing element is not an error and does not change it.
    }
    s.elements.set(code, e);
  }
}

/**
 * The kernel refuses a transaction whose rules or verdict-map elements jump to a chain that does not
 * exist, or name a set that does not exist (nf_tables_newrule / nft_data_init: ENOENT), and refuses
 * to delete a chain still referenced (EBUSY). Only tables touched by this transaction are checked.
 */
function checkReferences(t: MutTable, commands: readonly Command[], problems: InputError[]): void {
  const where = (name: string): string =>
    commands.find((c) => c.object === 'rule' && c.chain === name)?.where ?? `table ${t.family} ${t.name}, chain ${name}`;
  // One problem per missing or wrong target: a name misspelt where it is defined is one mistake,
  // however many rules use it.
  const reported = new Set<string>();
  const report = (key: string, make: () => InputError): void => {
    if (reported.has(key)) return;
    reported.add(key);
    problems.push(make());
  };
  for (const c of t.chains.values()) {
    for (const r of c.rules) {
      for (const target of ruleTargets(r)) {
        const tc = t.chains.get(target);
        if (!tc) report(`chain ${target}`, () => new InputError(where(c.name), `an existing chain "${target}" to jump to`, 'no such chain'));
        else if (tc.base) report(`chain ${target}`, () => new InputError(where(c.name), `a regular chain to jump to`, `base chain "${target}"`));
      }
      for (const s of ruleSetRefs(r)) {
        if (!t.sets.has(s)) report(`set ${s}`, () => new InputError(where(c.name), `an existing set or map "${s}"`, 'no such set'));
      }
    }
  }
  for (const s of t.sets.values()) {
    if (s.dataType !== 'verdict') continue;
    for (const e of s.elements.values()) {
      const v = e.value;
      if (v && (v.code === 'jump' || v.code === 'goto') && !t.chains.has(v.chain))
        report(`chain ${v.chain}`, () => new InputError(`table ${t.family} ${t.name}, map ${s.name}`, `an existing chain "${v.chain}" for an element's verdict`, 'no such chain'));
    }
  }
}
