/**
 * Compiling a Ruleset for evaluation. Two things happen:
 *
 * 1. Jump and goto targets are checked (every target exists, no loops — the kernel refuses both:
 *    net/ipv4/netfilter/ip_tables.c mark_source_chains) so the walk never has to.
 *
 * 2. Destination runs are indexed. A run is a stretch of consecutive rules that each carry a
 *    non-negated `-d ADDR/32` (kube-proxy's KUBE-SERVICES is one long run: one rule per ClusterIP,
 *    external IP and load-balancer IP). A rule whose -d differs from the packet's destination fails
 *    in ip_packet_match, before any extension match, so visiting it costs exactly one rule and zero
 *    matches and has no effect. The walk therefore jumps straight to the next rule of the run whose
 *    address equals the packet's (a hash lookup plus a binary search) and adds the rules it skipped
 *    to `rulesVisited`: the verdict, the rules visited and the matches evaluated are exactly those
 *    of a linear walk, while the simulator's own time no longer grows with the run's length.
 *
 * The index of a chain depends only on its rules, so it is cached per Chain object: rule-set
 * versions that share a chain share its index, and recompiling after a partial sync costs only the
 * changed chains.
 */
import { InputError } from '../engine/input-error.ts';
import type { Chain, Hook, Ruleset, Table, TableName } from './ruleset.ts';
import { BUILTIN_CHAINS, TABLE_NAMES } from './ruleset.ts';
import type { Rule } from './rule.ts';

/** Runs shorter than this are walked rule by rule (an index would not pay for itself). */
export const MIN_INDEXED_RUN = 8;

export interface DstRun {
  /** Rule positions [start, end) in the chain. */
  start: number;
  end: number;
  /**
   * Destination address -> the position of the only rule of the run with that -d (>= 0), or
   * -(k + 1) for an address several rules share, whose ascending positions are `lists[k]`. One
   * rule per address is kube-proxy's normal case, so the common lookup touches no second object.
   */
  byDst: Map<number, number>;
  lists: Int32Array[];
}

export interface ChainIndex {
  /** Run id of each rule position, -1 outside runs; null when the chain has no runs. */
  runOf: Int32Array | null;
  runs: DstRun[];
  /** Names of the chains this chain jumps or goes to (for loop checks). */
  targets: string[];
  /**
   * Per rule position: for a jump, the index in `targets` of the chain; for a goto, -(index + 2);
   * -1 for every other target. The walk jumps without reading the rule's target object.
   */
  targetOf: Int32Array;
}

export interface CompiledChain {
  readonly chain: Chain;
  readonly index: ChainIndex;
  /**
   * The compiled chain of each of `index.targets`, resolved when the table is compiled, so a jump
   * costs an array read rather than a lookup by chain name (whose rule-owned name string is cold
   * memory in a 100k-rule chain).
   */
  readonly jumpTargets: CompiledChain[];
}

export interface CompiledTable {
  readonly name: TableName;
  readonly chains: ReadonlyMap<string, CompiledChain>;
  /** The built-in chain at each hook this table sits on. */
  readonly hooks: Partial<Record<Hook, CompiledChain>>;
}

export interface CompiledRuleset {
  readonly source: Ruleset;
  readonly tables: Partial<Record<TableName, CompiledTable>>;
  /** Whether destination runs are indexed (false gives the plain linear walk, for tests). */
  readonly indexed: boolean;
}

export interface CompileOptions {
  /** Index destination runs (default true). */
  index?: boolean;
}

const indexCache = new WeakMap<Chain, ChainIndex>();
const linearCache = new WeakMap<Chain, ChainIndex>();

function isIndexable(r: Rule): boolean {
  return r.dst !== null && !r.dstNeg && r.dst.prefix === 32;
}

export function buildChainIndex(chain: Chain, index: boolean): ChainIndex {
  const cache = index ? indexCache : linearCache;
  const hit = cache.get(chain);
  if (hit) return hit;
  const rules = chain.rules;
  const targets = new Map<string, number>();
  const targetOf = new Int32Array(rules.length).fill(-1);
  for (let k = 0; k < rules.length; k++) {
    const tg = rules[k]!.target;
    if (tg.kind !== 'jump' && tg.kind !== 'goto') continue;
    let slot = targets.get(tg.chain);
    if (slot === undefined) targets.set(tg.chain, (slot = targets.size));
    targetOf[k] = tg.kind === 'jump' ? slot : -(slot + 2);
  }
  const runs: DstRun[] = [];
  let runOf: Int32Array | null = null;
  if (index) {
    let i = 0;
    while (i < rules.length) {
      if (!isIndexable(rules[i]!)) {
        i++;
        continue;
      }
      let j = i;
      while (j < rules.length && isIndexable(rules[j]!)) j++;
      if (j - i >= MIN_INDEXED_RUN) {
        const lists = new Map<number, number[]>();
        for (let k = i; k < j; k++) {
          const a = rules[k]!.dst!.addr;
          const l = lists.get(a);
          if (l) l.push(k);
          else lists.set(a, [k]);
        }
        const byDst = new Map<number, number>();
        const shared: Int32Array[] = [];
        for (const [a, l] of lists) {
          if (l.length === 1) byDst.set(a, l[0]!);
          else {
            byDst.set(a, -(shared.length + 1));
            shared.push(Int32Array.from(l));
          }
        }
        runOf ??= new Int32Array(rules.length).fill(-1);
        runOf.fill(runs.length, i, j);
        runs.push({ start: i, end: j, byDst, lists: shared });
      }
      i = j;
    }
  }
  const ci: ChainIndex = { runOf, runs, targets: [...targets.keys()], targetOf };
  cache.set(chain, ci);
  return ci;
}

function compileTable(t: Table, index: boolean): CompiledTable {
  const chains = new Map<string, CompiledChain>();
  for (const [name, chain] of t.chains) chains.set(name, { chain, index: buildChainIndex(chain, index), jumpTargets: [] });
  // Targets must exist and the jump graph must be acyclic.
  for (const [name, c] of chains) {
    for (const target of c.index.targets) {
      const tc = chains.get(target);
      if (!tc) throw new InputError(`table ${t.name}, chain ${name}`, `a jump to an existing chain`, JSON.stringify(target));
      if (tc.chain.builtin) throw new InputError(`table ${t.name}, chain ${name}`, 'a jump to a user-defined chain', `built-in chain ${target}`);
      c.jumpTargets.push(tc);
    }
  }
  const state = new Map<string, 1 | 2>();
  const visit = (name: string, path: string[]): void => {
    const s = state.get(name);
    if (s === 2) return;
    if (s === 1) throw new InputError(`table ${t.name}`, 'no loops between chains', `${[...path, name].join(' -> ')}`);
    state.set(name, 1);
    for (const target of chains.get(name)!.index.targets) visit(target, [...path, name]);
    state.set(name, 2);
  };
  for (const name of chains.keys()) visit(name, []);
  const hooks: Partial<Record<Hook, CompiledChain>> = {};
  for (const h of BUILTIN_CHAINS[t.name]) {
    const c = chains.get(h);
    if (c) hooks[h] = c;
  }
  return { name: t.name, chains, hooks };
}

export function compileRuleset(rs: Ruleset, opts: CompileOptions = {}): CompiledRuleset {
  const index = opts.index ?? true;
  const tables: Partial<Record<TableName, CompiledTable>> = {};
  for (const name of TABLE_NAMES) {
    const t = rs.tables.get(name);
    if (t) tables[name] = compileTable(t, index);
  }
  return { source: rs, tables, indexed: index };
}
