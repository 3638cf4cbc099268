/**
 * The nftables object model, as far as kube-proxy uses it: one table of family `ip` holding base
 * chains (type/hook/priority), regular chains, named sets, maps and verdict maps. Names and the
 * meaning of every field follow nft(8) ("CHAINS", "SETS", "MAPS", "STATEMENTS") and the kernel's
 * nf_tables objects; the rule grammar is the subset kube-proxy writes in
 * kubernetes/kubernetes pkg/proxy/nftables/proxier.go.
 *
 * A rule is a list of expressions evaluated left to right (nft's "rule = expressions, then a
 * verdict"): a match that fails ends the rule, a statement has an effect, a verdict ends the walk of
 * the chain. The structures are plain records: a parsed ruleset is an immutable value that many
 * simulated nodes can share, while per-node state (dynamic set elements written by `update`) lives
 * apart, in DynamicSets.
 */

export type NftFamily = 'ip' | 'ip6' | 'inet' | 'arp' | 'bridge' | 'netdev';
export type ChainType = 'filter' | 'nat' | 'route';
export type Hook = 'prerouting' | 'input' | 'forward' | 'output' | 'postrouting' | 'ingress';

/** A verdict (nft(8) "VERDICT STATEMENT"). */
export type Verdict =
  | { readonly code: 'accept' | 'drop' | 'reject' | 'return' | 'continue' }
  | { readonly code: 'jump' | 'goto'; readonly chain: string };

/** The packet fields kube-proxy's rules read (nft(8) "PAYLOAD EXPRESSION", "META", "CT", "FIB", "NUMGEN"). */
export type Field =
  | 'ip saddr'
  | 'ip daddr'
  | 'ip protocol'
  | 'meta l4proto'
  | 'th sport'
  | 'th dport'
  | 'tcp dport'
  | 'udp dport'
  | 'sctp dport'
  | 'tcp sport'
  | 'udp sport'
  | 'sctp sport'
  | 'meta mark'
  | 'ct state'
  | 'fib saddr type'
  | 'fib daddr type';

/** The data type of one part of a set key (nft(8) "DATA TYPES"). */
export type KeyType = 'ipv4_addr' | 'inet_proto' | 'inet_service' | 'mark' | 'ct_state';

/** A literal value of one key part, already parsed: addresses and numbers as integers. */
export type Scalar = number;

/** An IPv4 prefix as it appears in an anonymous set or a comparison (`10.0.0.0/8`). */
export interface Prefix {
  readonly addr: number;
  readonly mask: number;
  readonly prefix: number;
}

/** One literal element of an anonymous set `{ a, b/c }`: a single value or a prefix. */
export type AnonElement = { readonly kind: 'value'; readonly value: Scalar } | { readonly kind: 'prefix'; readonly prefix: Prefix };

export type Expr =
  /** `FIELD [!=] VALUE` (VALUE a single literal or prefix; for ct state a bit set). */
  | { readonly kind: 'cmp'; readonly field: Field; readonly negate: boolean; readonly value: AnonElement; readonly text: string }
  /** `FIELD [!=] { a, b, c/d }`: an anonymous set. */
  | { readonly kind: 'anon-set'; readonly field: Field; readonly negate: boolean; readonly elements: readonly AnonElement[]; readonly texts: readonly string[] }
  /** `meta mark & MASK ==|!= VALUE` (kube-proxy writes `mark and 0x4000 == 0`). */
  | { readonly kind: 'mark-cmp'; readonly mask: number; readonly negate: boolean; readonly value: number }
  /** `FIELD . FIELD ... [!=] @set`: named set membership. */
  | { readonly kind: 'lookup'; readonly fields: readonly Field[]; readonly set: string; readonly negate: boolean }
  /** `FIELD . FIELD ... vmap @map`: the verdict of the matching element, or no-op when none matches. */
  | { readonly kind: 'vmap'; readonly fields: readonly Field[]; readonly map: string }
  /** `numgen random mod N vmap { 0 : goto a, 1 : goto b }` (offset 0 as kube-proxy writes it). */
  | { readonly kind: 'numgen-vmap'; readonly mod: number; readonly entries: ReadonlyMap<number, Verdict> }
  /** `meta mark set meta mark OP VALUE` (kube-proxy: `mark set mark or 0x4000`). */
  | { readonly kind: 'mark-set'; readonly op: 'or' | 'xor' | 'and' | 'set'; readonly value: number }
  | { readonly kind: 'counter'; readonly packets: number; readonly bytes: number }
  | { readonly kind: 'masquerade'; readonly fullyRandom: boolean }
  | { readonly kind: 'dnat'; readonly addr: number; readonly port: number }
  /** `update @set { FIELD . FIELD }`: adds the key, or refreshes its timeout (nft(8) "SET STATEMENT"). */
  | { readonly kind: 'update'; readonly set: string; readonly fields: readonly Field[] }
  | { readonly kind: 'verdict'; readonly verdict: Verdict };

export interface Rule {
  readonly exprs: readonly Expr[];
  readonly comment?: string;
}

export interface BaseChainSpec {
  readonly type: ChainType;
  readonly hook: Hook;
  /** Numeric priority (nft accepts names like `dstnat - 10`; they are resolved to numbers). */
  readonly priority: number;
  readonly policy: 'accept' | 'drop';
}

export interface Chain {
  readonly name: string;
  readonly base?: BaseChainSpec;
  readonly comment?: string;
  readonly rules: readonly Rule[];
}

export interface SetElement {
  /** The key parts, parsed (a prefix only in interval sets; kube-proxy's named sets hold plain values). */
  readonly key: readonly Scalar[];
  /** Map data: a verdict for verdict maps. */
  readonly value?: Verdict;
  readonly comment?: string;
  /** Per-element timeout in ns, when given. */
  readonly timeoutNs?: number;
}

export interface NamedSet {
  readonly name: string;
  readonly kind: 'set' | 'map';
  readonly keyType: readonly KeyType[];
  /** Map data type; kube-proxy only uses verdict maps. */
  readonly dataType?: 'verdict';
  readonly flags: readonly string[];
  /** Default element timeout in ns (`timeout 10800s`), 0 for none. */
  readonly timeoutNs: number;
  readonly comment?: string;
  /** Elements by encoded key (see key.ts), in insertion order. */
  readonly elements: ReadonlyMap<KeyCode, SetElement>;
}

/** An encoded set key: a number when the key fits in 53 bits, else a string. */
export type KeyCode = number | string;

export interface Table {
  readonly family: NftFamily;
  readonly name: string;
  readonly comment?: string;
  /** In creation order (nft lists objects in the order they were added). */
  readonly chains: ReadonlyMap<string, Chain>;
  readonly sets: ReadonlyMap<string, NamedSet>;
}

export interface Ruleset {
  /** Keyed by `${family} ${name}`. */
  readonly tables: ReadonlyMap<string, Table>;
}

export function tableKey(family: string, name: string): string {
  return `${family} ${name}`;
}
