/**
 * What `svcsim render --mode nftables` prints for one node: the ruleset as `nft list ruleset` shows
 * it after kube-proxy's first (full) sync, and the `nft -f` transaction kube-proxy sent to get there,
 * with its line count (the sync cost scales with it: CostModel.nftNsPerLine).
 */
import { renderListRuleset } from '../../nftables/render.ts';
import type { ProxyState } from '../proxy-state.ts';
import { NftablesProxier, transactionText, type NftablesProxierOptions } from './proxier.ts';

export interface NftablesRender {
  /** `nft list ruleset` text. */
  ruleset: string;
  /** `nft -f` input of the full sync. */
  transaction: string;
  transactionLines: number;
}

export function renderNftablesMode(state: ProxyState, options: NftablesProxierOptions): NftablesRender {
  const r = new NftablesProxier(options).sync({ state, full: true });
  return { ruleset: renderListRuleset(r.ruleset), transaction: transactionText(r), transactionLines: r.lines };
}
