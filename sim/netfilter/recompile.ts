/**
 * Compiling a rule set that differs from one already compiled in a few chains: the common case of a
 * node whose kube-proxy restored a partial sync (a new KUBE-SERVICES and the changed Services'
 * chains) over the rules it had. The new set shares every other Chain object with the old
 * (ruleset.ts), and a compiled chain depends only on its Chain and on the compiled chains it jumps to,
 * so those are reused whole and only the changed chains, and the chains that jump to them, are
 * compiled again. The answer is the one compileRuleset gives; any rule set this walk cannot vouch for
 * (a missing target, a jump to a built-in chain, a loop) is handed to compileRuleset, which reports it.
 */
import { buildChainIndex, compileRuleset, type CompileOptions, type CompiledChain, type CompiledRuleset, type CompiledTable } from './compile.ts';
import { BUILTIN_CHAINS, TABLE_NAMES, type Chain, type Hook, type Ruleset, type Table, type TableName } from './ruleset.ts';
import { OverlayMap } from './overlay-map.ts';

/** Thrown inside, caught below: the table needs compileRuleset's own checks and messages. */
class NotReusable extends Error {}

export function recompileRuleset(prev: CompiledRuleset | null, rs: Ruleset, opts: CompileOptions = {}): CompiledRuleset {
  const index = opts.index ?? true;
  if (prev === null || prev.indexed !== index) return compileRuleset(rs, opts);
  const tables: Partial<Record<TableName, CompiledTable>> = {};
  try {
    for (const name of TABLE_NAMES) {
      const t = rs.tables.get(name);
      if (t) tables[name] = recompileTable(prev.tables[name], t, index);
    }
  } catch (e) {
    if (e instanceof NotReusable) return compileRuleset(rs, opts);
    throw e;
  }
  return { source: rs, tables, indexed: index };
}

function recompileTable(prev: CompiledTable | undefined, t: Table, index: boolean): CompiledTable {
  // Every name first, so the map keeps the table's declaration order (as compileRuleset's does) while
  // chains are resolved targets first.
  const chains = new Map<string, CompiledChain | null>();
  for (const name of t.chains.keys()) chains.set(name, null);
  /** Chains being resolved (a jump back to one of them is a loop). */
  const open = new Set<string>();
  const resolve = (name: string): CompiledChain => {
    const done = chains.get(name);
    if (done) return done;
    const chain = t.chains.get(name);
    if (!chain || open.has(name)) throw new NotReusable();
    open.add(name);
    const compiled = reused(prev?.chains.get(name), chain, resolve) ?? fresh(chain, index, resolve);
    open.delete(name);
    chains.set(name, compiled);
    return compiled;
  };
  for (const name of t.chains.keys()) resolve(name);
  const hooks: Partial<Record<Hook, CompiledChain>> = {};
  for (const h of BUILTIN_CHAINS[t.name]) {
    const c = chains.get(h);
    if (c) hooks[h] = c;
  }
  return { name: t.name, chains: chains as Map<string, CompiledChain>, hooks };
}

/** The old compiled chain when its Chain is the same object and every chain it jumps to was reused too. */
function reused(old: CompiledChain | undefined, chain: Chain, resolve: (name: string) => CompiledChain): CompiledChain | null {
  if (old === undefined || old.chain !== chain) return null;
  const targets = old.index.targets;
  for (let i = 0; i < targets.length; i++) if (resolve(targets[i]!) !== old.jumpTargets[i]) return null;
  return old;
}

/** A chain compiled anew: its index (cached per Chain object) and its targets, none of them a built-in chain. */
function fresh(chain: Chain, index: boolean, resolve: (name: string) => CompiledChain): CompiledChain {
  const ci = buildChainIndex(chain, index);
  const jumpTargets = ci.targets.map((target) => {
    const c = resolve(target);
    if (c.chain.builtin) throw new NotReusable();
    return c;
  });
  return { chain, index: ci, jumpTargets };
}

/** A chain to put in place of the chain of the same name in `table`. */
export interface ChainReplacement {
  table: TableName;
  chain: Chain;
}

/** Per compiled table: the names of the chains that jump or go to each chain. */
const parentsCache = new WeakMap<CompiledTable, Map<string, string[]>>();

function parentsOf(t: CompiledTable): Map<string, string[]> {
  let parents = parentsCache.get(t);
  if (parents) return parents;
  parents = new Map();
  for (const [name, c] of t.chains) {
    for (const target of c.index.targets) {
      const l = parents.get(target);
      if (l) l.push(name);
      else parents.set(target, [name]);
    }
  }
  parentsCache.set(t, parents);
  return parents;
}

/**
 * `base` with some chains replaced by others of the same name that jump to no chain the old ones did
 * not (a reordering of a chain's rules, say), compiled without touching the rest: the replaced
 * chains and the chains above them are compiled again, the others are shared, and the tables' chain
 * maps are overlays of the base's (OverlayMap). Such a replacement can add no loop and no missing
 * target; any other is compiled in full (recompileRuleset).
 */
export function replaceChains(base: CompiledRuleset, replacements: readonly ChainReplacement[]): CompiledRuleset {
  const tables: Partial<Record<TableName, CompiledTable>> = { ...base.tables };
  const sourceTables = new Map(base.source.tables);
  for (const name of TABLE_NAMES) {
    const own = replacements.filter((r) => r.table === name);
    if (own.length === 0) continue;
    const bt = base.tables[name];
    const st = base.source.tables.get(name);
    if (!bt || !st || !own.every((r) => keepsTargets(bt, r.chain, base.indexed))) return recompileRuleset(base, replaced(base.source, replacements));
    tables[name] = replaceInTable(bt, own, base.indexed);
    sourceTables.set(name, { ...st, chains: new OverlayMap(st.chains, new Map(own.map((r) => [r.chain.name, r.chain]))) });
  }
  return { source: { ...base.source, tables: sourceTables }, tables, indexed: base.indexed };
}

function keepsTargets(t: CompiledTable, chain: Chain, index: boolean): boolean {
  const old = t.chains.get(chain.name);
  if (!old || old.chain.builtin !== chain.builtin) return false;
  const before = new Set(old.index.targets);
  return buildChainIndex(chain, index).targets.every((target) => before.has(target));
}

function replaceInTable(bt: CompiledTable, own: readonly ChainReplacement[], index: boolean): CompiledTable {
  const parents = parentsOf(bt);
  const byName = new Map(own.map((r) => [r.chain.name, r.chain]));
  // The replaced chains and every chain above them.
  const affected = new Set<string>();
  const stack = [...byName.keys()];
  while (stack.length > 0) {
    const n = stack.pop()!;
    if (affected.has(n)) continue;
    affected.add(n);
    for (const p of parents.get(n) ?? []) stack.push(p);
  }
  const over = new Map<string, CompiledChain>();
  const resolve = (n: string): CompiledChain => {
    if (!affected.has(n)) return bt.chains.get(n)!;
    const done = over.get(n);
    if (done) return done;
    const chain = byName.get(n) ?? bt.chains.get(n)!.chain;
    const ci = buildChainIndex(chain, index);
    const compiled = { chain, index: ci, jumpTargets: ci.targets.map(resolve) };
    over.set(n, compiled);
    return compiled;
  };
  for (const n of affected) resolve(n);
  const hooks: Partial<Record<Hook, CompiledChain>> = {};
  for (const h of BUILTIN_CHAINS[bt.name]) {
    const c = over.get(h) ?? bt.hooks[h];
    if (c) hooks[h] = c;
  }
  return { name: bt.name, chains: new OverlayMap(bt.chains, over), hooks };
}

/** `rs` with the replacements in place (copying the tables they touch). */
function replaced(rs: Ruleset, replacements: readonly ChainReplacement[]): Ruleset {
  const tables = new Map(rs.tables);
  for (const r of replacements) {
    const t = tables.get(r.table);
    if (!t) continue;
    tables.set(r.table, { ...t, chains: new Map(t.chains).set(r.chain.name, r.chain) });
  }
  return { ...rs, tables };
}
