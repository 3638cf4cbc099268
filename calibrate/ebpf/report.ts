/**
 * The calibration report's ebpf section: what the calibration's own BPF programs cost on this
 * kernel at each map size, beside what the ebpf mode charges (sim/proxy/cost/ebpf.ts) with the
 * default and with the calibrated CostModel.
 */
import type { CostModel } from '../../sim/cost/cost-model.ts';
import { EBPF_CONNECT_LOOKUPS } from '../../sim/proxy/cost/ebpf.ts';
import { median } from '../fit.ts';
import type { EbpfFigures } from './fit.ts';
import type { EbpfPoints } from './probe.ts';

const ns = (v: number) => (Math.abs(v) >= 1e3 ? `${(v / 1e3).toPrecision(3)} us` : `${v.toPrecision(3)} ns`);
const row = (cells: string[]) => `| ${cells.join(' | ')} |`;
const err = (sim: number, kernel: number) => (kernel > 0 ? `${sim >= kernel ? '+' : ''}${(((sim - kernel) / kernel) * 100).toFixed(0)}%` : '');

export function ebpfReportSection(points: EbpfPoints | undefined, figures: EbpfFigures | undefined, defaults: CostModel, calibrated: CostModel): string[] {
  if (!points) return [];
  const lines = [
    '## ebpf (the calibration\'s own BPF programs)',
    '',
    `Built with clang at calibration time and loaded with bpftool (${points.tools}): calibrate/bpf/svc_connect4.c, a cgroup/connect4 program translating a ClusterIP through a service map and a backend map ` +
      `(${EBPF_CONNECT_LOOKUPS} lookups, as Cilium's bpf/bpf_sock.c does), and calibrate/bpf/ct_tc.c, a tc program looking up (and on a miss inserting) every packet in a CT hash map (Cilium's bpf/lib/conntrack.h ct_lookup4 / ct_create4). ` +
      'The program run time is the kernel\'s own statistic (kernel.bpf_stats_enabled); connect latency is the lower decile, to random ClusterIPs with the program and to the backend directly without it.',
    '',
    row(['services', 'program run time', 'per lookup', 'connect p10 with', 'without', 'difference', 'sim connect4 (defaults)', 'error', 'sim (calibrated)', 'error']),
    row(Array(10).fill('---')),
  ];
  for (const p of points.connect) {
    const simDef = EBPF_CONNECT_LOOKUPS * defaults.ebpfLookupNs;
    const simCal = EBPF_CONNECT_LOOKUPS * calibrated.ebpfLookupNs;
    lines.push(row([String(p.services), ns(p.programNs), ns(p.programNs / EBPF_CONNECT_LOOKUPS), ns(p.withNs), ns(p.withoutNs), ns(p.withNs - p.withoutNs), ns(simDef), err(simDef, p.programNs), ns(simCal), err(simCal, p.programNs)]));
  }
  lines.push('');
  if (figures?.flat === false) lines.push('The lookups are not flat in the map size: with few services the maps stay in the CPU caches between connects (see the warning below); ebpfLookupNs is the median from 1,000 services up, where they are flat.', '');
  if (figures?.flat === true) lines.push('The lookups are flat in the map size (every size within 25% of ebpfLookupNs).', '');
  const pk = points.packet;
  if (pk && pk.sameFlowNs.length) {
    const d = (a: number[], b: number[]) => median(a) - median(b);
    lines.push(
      row(['packet', 'CPU per packet with the CT program', 'without', 'difference', 'program run time', 'sim (defaults)', 'sim (calibrated)']),
      row(Array(7).fill('---')),
      row(['one flow (CT hit)', ns(median(pk.sameFlowNs)), ns(median(pk.withoutNs)), ns(d(pk.sameFlowNs, pk.withoutNs)), ns(median(pk.programSameFlowNs)), `ebpfDatapathNs ${ns(defaults.ebpfDatapathNs)}`, ns(calibrated.ebpfDatapathNs)]),
      row(['a new flow each (miss, insert)', ns(median(pk.newFlowNs)), ns(median(pk.withoutNewFlowNs)), ns(d(pk.newFlowNs, pk.withoutNewFlowNs)), ns(median(pk.programNewFlowNs)), `ebpfCtCreateNs ${ns(defaults.ebpfCtCreateNs)}`, ns(calibrated.ebpfCtCreateNs)]),
      '',
      `UDP bursts of ${pk.packets} datagrams on loopback in a namespace without netfilter, the CT program on lo's tc egress (a fresh map each burst) or no clsact qdisc at all.`,
      '',
    );
  }
  return lines;
}
