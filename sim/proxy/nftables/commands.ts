/**
 * The commands of kube-proxy's nft transactions as its proxier builds them (knftables tx.Add,
 * tx.Flush): rules parsed from their text, chains added then flushed, set and map elements.
 */
import { parseRuleText } from '../../nftables/parse.ts';
import type { Command } from '../../nftables/transaction.ts';
import type { Rule, SetElement } from '../../nftables/types.ts';
import { KUBE_PROXY_TABLE } from './chain-names.ts';

/** Adds rules from their text; the fixed rules' parses are kept, since every full sync repeats them. */
export class RuleWriter {
  private readonly cache = new Map<string, Rule>();

  add(tx: Command[], chain: string, text: string): void {
    let r = this.cache.get(text);
    if (!r) {
      r = parseRuleText(text, `kube-proxy rule in ${chain}`);
      // Only cache rules without names in them (the fixed ones); per-service rules are unique anyway.
      if (!text.includes('/')) this.cache.set(text, r);
    }
    tx.push({ verb: 'add', object: 'rule', family: 'ip', table: KUBE_PROXY_TABLE, chain, rule: r, text });
  }
}

/**
 * Adds and flushes `chain` once per transaction (`created` remembers it). A skipped service's chains
 * are only remembered: the kernel keeps them as they are, and stale-chain cleanup must not take them.
 */
export function ensureChain(tx: Command[], chain: string, created: Set<string>, skip: boolean, comment?: string): void {
  if (created.has(chain)) return;
  created.add(chain);
  if (skip) return;
  tx.push({ verb: 'add', object: 'chain', family: 'ip', table: KUBE_PROXY_TABLE, name: chain, ...(comment ? { comment } : {}) });
  tx.push({ verb: 'flush', object: 'chain', family: 'ip', table: KUBE_PROXY_TABLE, name: chain });
}

export function elementCommand(verb: 'add' | 'delete', set: string, element: SetElement): Command {
  return { verb, object: 'element', family: 'ip', table: KUBE_PROXY_TABLE, set, elements: [element] };
}
