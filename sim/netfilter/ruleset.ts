/**
 * Tables, chains and rule sets. A Ruleset is an immutable version: loading new rules builds a new
 * Ruleset that shares every untouched chain (and its rule array) with the old one, so thousands of
 * nodes pointing at a handful of versions cost memory per version, not per node (docs/design.md).
 *
 * Built-in chains per table and the hook each sits on are the kernel's
 * (net/ipv4/netfilter/iptable_{raw,mangle,nat,filter}.c, valid_hooks of each table).
 */
import type { Rule } from './rule.ts';

export type TableName = 'raw' | 'mangle' | 'nat' | 'filter';
export type Hook = 'PREROUTING' | 'INPUT' | 'FORWARD' | 'OUTPUT' | 'POSTROUTING';
export type Policy = 'ACCEPT' | 'DROP';

export const TABLE_NAMES: readonly TableName[] = ['raw', 'mangle', 'nat', 'filter'];
export const HOOKS: readonly Hook[] = ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'];

export const BUILTIN_CHAINS: Readonly<Record<TableName, readonly Hook[]>> = {
  raw: ['PREROUTING', 'OUTPUT'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
};

/**
 * What runs at each hook, in priority order (include/uapi/linux/netfilter_ipv4.h, enum
 * nf_ip_hook_priorities: RAW -300, CONNTRACK -200, MANGLE -150, NAT_DST -100, FILTER 0, NAT_SRC 100).
 * 'conntrack' marks where connection tracking looks the packet up (and where a new entry is made),
 * which is why raw rules see no conntrack state and can mark packets NOTRACK.
 */
export type HookStep = TableName | 'conntrack';
export const HOOK_ORDER: Readonly<Record<Hook, readonly HookStep[]>> = {
  PREROUTING: ['raw', 'conntrack', 'mangle', 'nat'],
  INPUT: ['mangle', 'filter', 'nat'],
  FORWARD: ['mangle', 'filter'],
  OUTPUT: ['raw', 'conntrack', 'mangle', 'nat', 'filter'],
  POSTROUTING: ['mangle', 'nat'],
};

export function isTableName(s: string): s is TableName {
  return (TABLE_NAMES as readonly string[]).includes(s);
}

export function isBuiltinChain(table: TableName, chain: string): boolean {
  return (BUILTIN_CHAINS[table] as readonly string[]).includes(chain);
}

export interface Chain {
  readonly name: string;
  readonly builtin: boolean;
  /** Built-in chains only (user chains print '-' in iptables-save). */
  readonly policy: Policy | null;
  readonly policyCounters: [number, number] | null;
  readonly rules: readonly Rule[];
}

export interface Table {
  readonly name: TableName;
  /** In declaration order, which iptables-save keeps (built-ins first). */
  readonly chains: ReadonlyMap<string, Chain>;
}

export interface Ruleset {
  readonly tables: ReadonlyMap<TableName, Table>;
  /**
   * Kernel tables the model does not evaluate (security: SELinux labels, after filter), by name:
   * their lines between `*name` and COMMIT as the dump had them, so rendering gives them back.
   */
  readonly unmodelledTables?: ReadonlyMap<string, readonly string[]>;
}

/**
 * Tables a real iptables-save may print that the model keeps verbatim without evaluating them
 * (net/ipv4/netfilter/iptable_security.c: SECMARK/CONNSECMARK labelling for SELinux).
 */
export const UNMODELLED_TABLE_NAMES: readonly string[] = ['security'];

/** A table with only its built-in chains, policy ACCEPT, as the kernel creates it on first use. */
export function emptyTable(name: TableName): Table {
  const chains = new Map<string, Chain>();
  for (const hook of BUILTIN_CHAINS[name]) {
    chains.set(hook, { name: hook, builtin: true, policy: 'ACCEPT', policyCounters: null, rules: [] });
  }
  return { name, chains };
}

export const EMPTY_RULESET: Ruleset = { tables: new Map() };

export function ruleCount(rs: Ruleset): number {
  let n = 0;
  for (const t of rs.tables.values()) for (const c of t.chains.values()) n += c.rules.length;
  return n;
}
