/**
 * Base chain priorities by name (nft(8) "CHAINS", table "Standard priority names"): what the parser
 * resolves a name to and how `nft list ruleset` prints a number back.
 */
import type { Hook } from './types.ts';

/** Values for the ip family: raw -300, mangle -150, dstnat -100, filter 0, security 50, srcnat 100. */
export const PRIORITY_NAMES: Readonly<Record<string, number>> = { raw: -300, mangle: -150, dstnat: -100, filter: 0, security: 50, srcnat: 100 };

/** Which standard priority names nft uses for a hook in the ip family (nft(8) "Standard priority names"). */
const NAMES_FOR_HOOK: Readonly<Record<Hook, readonly string[]>> = {
  prerouting: ['raw', 'mangle', 'dstnat', 'filter', 'security'],
  input: ['raw', 'mangle', 'filter', 'security', 'srcnat'],
  forward: ['raw', 'mangle', 'filter', 'security'],
  output: ['raw', 'mangle', 'dstnat', 'filter', 'security'],
  postrouting: ['raw', 'mangle', 'filter', 'security', 'srcnat'],
  ingress: [],
};

/** nft prints a priority as a standard name, or name +/- offset within 10 of one, else a number. */
export function formatPriority(hook: Hook, priority: number): string {
  let best: string | undefined;
  let bestDiff = Infinity;
  for (const n of NAMES_FOR_HOOK[hook]) {
    const d = priority - PRIORITY_NAMES[n];
    if (Math.abs(d) < Math.abs(bestDiff)) {
      best = n;
      bestDiff = d;
    }
  }
  if (best === undefined || Math.abs(bestDiff) > 10) return String(priority);
  if (bestDiff === 0) return best;
  return bestDiff > 0 ? `${best} + ${bestDiff}` : `${best} - ${-bestDiff}`;
}
