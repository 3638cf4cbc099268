/** Human-readable durations and the results table the harness prints. */
import type { BenchResults } from './results.ts';

export function formatNs(ns: number): string {
  if (!Number.isFinite(ns)) return String(ns);
  const a = Math.abs(ns);
  if (a < 1e3) return `${ns.toPrecision(3)} ns`;
  if (a < 1e6) return `${(ns / 1e3).toPrecision(3)} us`;
  if (a < 1e9) return `${(ns / 1e6).toPrecision(3)} ms`;
  return `${(ns / 1e9).toPrecision(3)} s`;
}

function pad(cells: string[][]): string {
  const widths = cells[0]!.map((_, c) => Math.max(...cells.map((row) => row[c]!.length)));
  return cells.map((row) => row.map((cell, c) => (c === 0 || c === row.length - 1 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ').trimEnd()).join('\n');
}

export function formatFigures(figures: Record<string, number> | undefined): string {
  if (!figures) return '';
  return Object.entries(figures)
    .map(([k, v]) => `${k}=${Number.isInteger(v) ? v : v.toPrecision(4)}`)
    .join(' ');
}

export function resultsTable(r: BenchResults): string {
  const rows = [['task', 'median', '±95%', 'mean', 'p99', 'per unit', 'x ref', 'figures']];
  for (const t of r.tasks) {
    rows.push([
      t.name,
      formatNs(t.medianNs),
      `±${t.medianRme.toFixed(1)}%`,
      formatNs(t.meanNs),
      formatNs(t.p99Ns),
      t.per && t.perUnitNs !== undefined ? `${formatNs(t.perUnitNs)}/${t.per.unit}` : '',
      `${t.ratio.toPrecision(4)} ±${t.ratioRme.toFixed(1)}%`,
      formatFigures(t.figures),
    ]);
  }
  const refs = r.reference.measurements.map((m) => `${formatNs(m.medianNs)} (${m.at})`).join(', ');
  const lines = [
    pad(rows),
    '',
    `times are ${r.clock === 'process-cpu' ? "the process's CPU time (bench/measure.ts)" : `${r.clock} time`}, per call; per unit and x ref are of the median; load average at the end ${r.host.loadavg.join(' ')} on ${r.host.cpus} cores (${r.host.cpuModel}, node ${r.host.node})`,
    `reference ${r.reference.name}: ${refs}`,
    `reference drift over the run: ${r.reference.driftPct.toFixed(1)}%${r.reference.driftPct > 10 ? '  (the machine is busy: ratios are less certain)' : ''}`,
  ];
  for (const e of r.errors) lines.push(`ERROR ${e.name}: ${e.message}`);
  return lines.join('\n');
}
