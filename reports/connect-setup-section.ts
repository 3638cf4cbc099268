import type { Align, Block } from './report-doc.ts';
import { formatValue } from './units.ts';
import type { PointSummary } from './types.ts';

/** The percentiles of connectSetupLatency the runs write, each with its rule walk's part (`connectSetupLatency.ruleWalk.pNN`). */
const PERCENTILES = ['p50', 'p90', 'p99'] as const;

function share(part: number, whole: number): string {
  if (!Number.isFinite(part) || !Number.isFinite(whole) || whole <= 0) return '';
  const pct = (100 * part) / whole;
  return pct >= 1 ? `${pct.toFixed(1)}%` : pct >= 0.01 ? `${pct.toFixed(2)}%` : '<0.01%';
}

/**
 * The report's section on connection setup as users measure it: per point, each percentile of
 * connectSetupLatency and which part of it is the rule walk (the mean first-packet cost of the
 * connections at that percentile), so a reader sees whether the rules or the rest of the path
 * (the kernel's connect, the network) set the figure. Nothing when the runs did not write it.
 */
export function connectSetupBlocks(points: readonly PointSummary[], names: readonly string[]): Block[] {
  const measured = points.filter((p) => Number.isFinite(p.metrics['connectSetupLatency.p50']?.mean));
  if (measured.length === 0) return [];
  const header = [...(names.length ? names : ['point']), ...PERCENTILES.flatMap((q) => [`setup ${q}`, `rule walk at ${q}`])];
  const rows = measured.map((p) => {
    const cells = names.length ? names.map((n) => String(p.point[n] ?? '')) : ['(single point)'];
    for (const q of PERCENTILES) {
      const whole = p.metrics[`connectSetupLatency.${q}`]?.mean ?? NaN;
      const walk = p.metrics[`connectSetupLatency.ruleWalk.${q}`]?.mean ?? NaN;
      cells.push(formatValue(whole, 'ns'), Number.isFinite(walk) ? `${formatValue(walk, 'ns')} (${share(walk, whole)})` : 'n/a');
    }
    return cells;
  });
  return [
    { kind: 'heading', level: 2, text: 'Connection setup and the rule walk' },
    {
      kind: 'paragraph',
      text: 'connectSetupLatency is a TCP connection\'s setup as a client measures it: the kernel\'s connect on this project\'s host (drawn from its measured distribution), the rule walk, and the round trip beyond the node by where the endpoint runs. Beside each percentile, the rule walk: the mean first-packet cost (firstPacketLatency) of the connections at that percentile, and its share of it.',
    },
    { kind: 'table', header, rows, align: header.map((_, i): Align => (i < (names.length || 1) ? 'left' : 'right')) },
  ];
}
