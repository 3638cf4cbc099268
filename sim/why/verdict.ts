import type { PathState, WhyStep, WhyVerdict } from './types.ts';

/**
 * The one line `svcsim why` ends with: the first break and what to change, else reachable, naming
 * the hops. A name answered outside the cluster is not a Service path: kube-proxy leaves it alone and
 * svcsim cannot see past the node, which the verdict says instead of claiming it reachable.
 */
export function verdictOf(steps: readonly WhyStep[], state: PathState, from: string, to: string): WhyVerdict {
  const broken = steps.find((s) => s.status === 'break');
  if (broken) return { reachable: false, step: broken.step, message: `${broken.step}: ${broken.summary}`, fix: broken.fix };
  const outside = steps.find((s) => s.step === 'service' && s.data.outside === true);
  if (outside) return { reachable: true, step: null, message: `${to} is outside the cluster (${state.address}): no Service rule applies, the path leaves ${from}'s node unchanged`, fix: null };
  const warned = steps.filter((s) => s.status === 'warning').map((s) => s.step);
  const hops = [to, state.address, state.dnat].filter((x, i, a) => x !== null && a.indexOf(x) === i).join(' -> ');
  return { reachable: true, step: null, message: `reachable: ${from} -> ${hops}${warned.length ? ` (warnings: ${warned.join(', ')})` : ''}`, fix: null };
}
