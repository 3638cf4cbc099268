/**
 * A node's netfilter rule set as kube-proxy leaves it: the base jumps and canaries, then a full sync
 * restored with --noflush. The result is the netfilter model's immutable Ruleset (for evaluation)
 * and can be printed as `iptables-save` prints it.
 */
import { applyIptablesRestore, renderIptablesSave } from '../../netfilter/iptables-save.ts';
import { EMPTY_RULESET, type Ruleset } from '../../netfilter/ruleset.ts';
import type { ProxyState } from '../proxy-state.ts';
import { baseRulesRestoreText } from './base-rules.ts';
import type { IptablesProxierOptions } from './options.ts';
import { IptablesProxier, restoreText, type IptablesSyncResult } from './proxier.ts';

let baseRuleset: Ruleset | undefined;

/** The rule set after kube-proxy's EnsureChain/EnsureRule round and before any restore. */
export function kubeProxyBaseRuleset(): Ruleset {
  baseRuleset ??= applyIptablesRestore(EMPTY_RULESET, baseRulesRestoreText(), { file: 'kube-proxy base rules' }).ruleset;
  return baseRuleset;
}

export interface NodeRuleset {
  ruleset: Ruleset;
  sync: IptablesSyncResult;
}

/** One full sync of `state` on a node, loaded into the netfilter model. */
export function nodeRuleset(state: ProxyState, options: IptablesProxierOptions): NodeRuleset {
  const sync = new IptablesProxier(options).sync({ state, full: true });
  const loaded = applyIptablesRestore(kubeProxyBaseRuleset(), restoreText(sync), {
    noflush: true,
    file: 'kube-proxy iptables-restore input',
  });
  return { ruleset: loaded.ruleset, sync };
}

/** What `iptables-save` prints on that node (no date in the header, for reproducible output). */
export function nodeIptablesSave(state: ProxyState, options: IptablesProxierOptions): string {
  return renderIptablesSave(nodeRuleset(state, options).ruleset);
}
