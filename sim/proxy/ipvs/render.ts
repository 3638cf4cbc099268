/**
 * What `svcsim render --mode ipvs` prints for one node after kube-proxy's first sync: the IPVS
 * table as `ipvsadm -Ln` lists it, the ipsets as `ipset save` writes them, and the netfilter rules
 * as `iptables-save` prints them (the jumps kube-proxy adds with EnsureRule, then its restore input
 * applied with --noflush).
 */
import { renderIpvsadmList } from '../../ipvs/ipvsadm.ts';
import { applyIptablesRestore, renderIptablesSave } from '../../netfilter/iptables-save.ts';
import { EMPTY_RULESET, type Ruleset } from '../../netfilter/ruleset.ts';
import type { ProxyState } from '../proxy-state.ts';
import { ipvsBaseRulesRestoreText } from './iptables-rules.ts';
import { ipsetSave } from './ipsets.ts';
import { IpvsProxier, type IpvsProxierOptions, type IpvsSyncResult } from './proxier.ts';

export interface IpvsRender {
  /** `ipvsadm -Ln`. */
  ipvsadm: string;
  /** `ipset save`. */
  ipsets: string;
  /** `iptables-save` of the nat and filter tables. */
  iptablesSave: string;
  /** The iptables-restore input of the sync. */
  restore: string;
  /** Addresses on kube-ipvs0. */
  dummyAddresses: string[];
  sync: IpvsSyncResult;
}

/** The node's netfilter rule set after a sync's restore (kube-proxy: --noflush). */
export function ipvsNodeRuleset(sync: IpvsSyncResult): Ruleset {
  const base = applyIptablesRestore(EMPTY_RULESET, ipvsBaseRulesRestoreText(), { file: 'kube-proxy ipvs base rules' }).ruleset;
  return applyIptablesRestore(base, sync.restoreLines.join('\n') + '\n', { noflush: true, file: 'kube-proxy iptables-restore input' }).ruleset;
}

export function renderIpvsMode(state: ProxyState, options: IpvsProxierOptions): IpvsRender {
  const proxier = new IpvsProxier(options);
  const sync = proxier.sync(state);
  return {
    ipvsadm: renderIpvsadmList(proxier.table),
    ipsets: ipsetSave(proxier.ipsets),
    iptablesSave: renderIptablesSave(ipvsNodeRuleset(sync)),
    restore: sync.restoreLines.join('\n') + '\n',
    dummyAddresses: proxier.dummyAddresses,
    sync,
  };
}
