/**
 * From the ebpf probe's points (probe.ts) to CostModel fields. Pure, tested with synthetic points.
 *
 * - ebpfLookupNs: the connect4 program's run time (the kernel's own statistics) over its map
 *   lookups (EBPF_CONNECT_LOOKUPS: service, slot, backend, as bpf/bpf_sock.c does), the median over
 *   the map sizes from 1,000 services up: below that the whole map stays in the CPU caches between
 *   connects and a lookup costs less (the report shows every size). The run time leaves out the
 *   cgroup hook's own entry and carries the statistics' clock reads; the connect latency with and
 *   without the program, shown beside it, holds both.
 * - ebpfDatapathNs: CPU time per packet with the CT program on tc egress minus without it, one flow
 *   (a CT hit each packet): the tc hook's entry, the program and its lookup.
 * - ebpfCtCreateNs: the same on a packet whose lookup misses and inserts: ebpfDatapathNs plus what
 *   the program's run time adds on a new flow (the bursts of new flows vary more than the program
 *   does: each makes a socket per destination's route and neighbour lookups in the sender).
 */
import type { CostModel, DeepPartial } from '../../sim/cost/cost-model.ts';
import { EBPF_CONNECT_LOOKUPS } from '../../sim/proxy/cost/ebpf.ts';
import { fitLine, median } from '../fit.ts';
import type { EbpfPoints } from './probe.ts';

/** The CostModel fields this fit gives, and from what (the report's field table). */
export const EBPF_FIELDS_FROM: Record<string, string> = {
  ebpfLookupNs: 'ebpf connect4 program run time / 3 lookups',
  ebpfDatapathNs: 'ebpf CT program bursts (CPU time)',
  ebpfCtCreateNs: 'ebpf CT program bursts and run time',
};

/** The sizes whose lookups give ebpfLookupNs: from here up, the maps no longer fit the caches. */
export const LOOKUP_FROM_SERVICES = 1000;
/** A lookup at one size this far from the fitted figure (relative) means the map's cost is not flat. */
const FLAT_TOLERANCE = 0.25;

export interface EbpfFigures {
  /** Per map size: the program's run time per lookup, and connect latency p10 with minus without, ns. */
  bySize: { services: number; lookupNs: number; connectDeltaNs: number }[];
  lookupNs?: number;
  datapathNs?: number;
  ctCreateNs?: number;
  /** Whether every size's lookup is within 25% of lookupNs. */
  flat?: boolean;
}

export interface EbpfFit {
  costs: DeepPartial<CostModel>;
  figures: EbpfFigures;
  /** The run time per lookup against services (a flat map has slope ~0). */
  line?: { intercept: number; slope: number; r2: number; n: number };
  warnings: string[];
}

const sig3 = (v: number) => Number(v.toPrecision(3));

export function fitEbpf(points: EbpfPoints | undefined): EbpfFit {
  const out: EbpfFit = { costs: {}, figures: { bySize: [] }, warnings: [] };
  if (!points) return out;
  const bySize = points.connect.map((p) => ({ services: p.services, lookupNs: p.programNs / EBPF_CONNECT_LOOKUPS, connectDeltaNs: p.withNs - p.withoutNs }));
  out.figures.bySize = bySize;
  const usable = bySize.filter((p) => p.lookupNs > 0);
  const large = usable.filter((p) => p.services >= LOOKUP_FROM_SERVICES);
  const basis = large.length ? large : usable;
  if (basis.length) {
    const lookupNs = sig3(median(basis.map((p) => p.lookupNs)));
    out.costs.ebpfLookupNs = lookupNs;
    out.figures.lookupNs = lookupNs;
    const off = usable.filter((p) => Math.abs(p.lookupNs / lookupNs - 1) > FLAT_TOLERANCE);
    out.figures.flat = off.length === 0;
    if (off.length) {
      out.warnings.push(`ebpfLookupNs: not flat in the map size: ${off.map((p) => `${p.services} services ${p.lookupNs.toFixed(0)} ns`).join(', ')} against ${lookupNs} ns (the median from ${LOOKUP_FROM_SERVICES} services up)`);
    }
    if (new Set(usable.map((p) => p.services)).size >= 2) {
      const f = fitLine(usable.map((p) => p.services), usable.map((p) => p.lookupNs));
      out.line = { intercept: f.intercept, slope: f.slope, r2: f.r2, n: f.n };
    }
  } else if (points.connect.length) {
    out.warnings.push('ebpfLookupNs: the connect4 program never ran (no run-time statistics): not written, the default stays');
  }
  const pk = points.packet;
  if (pk && pk.sameFlowNs.length && pk.withoutNs.length) {
    const datapath = median(pk.sameFlowNs) - median(pk.withoutNs);
    if (datapath > 0) {
      out.costs.ebpfDatapathNs = sig3(datapath);
      out.figures.datapathNs = out.costs.ebpfDatapathNs;
      const extra = median(pk.programNewFlowNs) - median(pk.programSameFlowNs);
      out.costs.ebpfCtCreateNs = sig3(datapath + Math.max(0, extra));
      out.figures.ctCreateNs = out.costs.ebpfCtCreateNs;
      if (extra < 0) out.warnings.push(`ebpfCtCreateNs: the program ran ${(-extra).toFixed(0)} ns faster on new flows than on one flow (noise): taken as ebpfDatapathNs`);
    } else {
      out.warnings.push(`ebpfDatapathNs fitted ${datapath.toPrecision(3)} <= 0 (noise larger than the effect): not written, the default stays`);
    }
  }
  return out;
}
