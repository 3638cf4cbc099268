import { parseIPv4 } from '../../net/ipv4.ts';
import type { FirstPacketInput, FirstPacketVerdict } from '../cost/mode-model.ts';
import type { FirstPacketAt } from './first-packet-plane.ts';

/** What the walk ended in, in kernel terms. */
export interface WalkOutcome {
  disposition: 'accept' | 'drop' | 'reject';
  /** The DNAT target, or null when none was set up. */
  dnatAddr: number | null;
  dnatPort: number;
  masquerade: boolean;
}

/**
 * The walk's verdict in the formula's terms, checked against what the run decided from the node's
 * endpoint list: DNAT to the chosen endpoint, DROP for internalTrafficPolicy Local without a local
 * endpoint, REJECT for a port without endpoints. A disagreement is a bug in one of the tiers, not a
 * user's mistake, so it throws.
 */
export function walkVerdict(mode: string, w: WalkOutcome, input: FirstPacketInput, at: FirstPacketAt): FirstPacketVerdict {
  const expected = input.endpoints > 0 ? 'accept' : input.noLocalEndpoints ? 'drop' : 'reject';
  const where = `${mode} walk on node ${at.node}, service port ${at.service}, version ${at.version}`;
  if (w.disposition !== expected) throw new Error(`dataPlane rules: ${where} ended in ${w.disposition}, the run expects ${expected}`);
  if (w.disposition === 'drop') return { kind: 'drop', reason: 'no-local-endpoints' };
  if (w.disposition === 'reject') return { kind: 'reject' };
  const ep = at.endpoint!;
  if (w.dnatAddr !== parseIPv4(ep.ip) || w.dnatPort !== ep.port) throw new Error(`dataPlane rules: ${where} sent the packet elsewhere than to ${ep.endpoint}, the run's choice ${input.chosen}`);
  return { kind: 'dnat', endpoint: input.chosen, masquerade: w.masquerade, replyLost: false };
}
