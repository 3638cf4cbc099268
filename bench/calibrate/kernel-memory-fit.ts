/**
 * The figures of sim/proxy/modes/kernel-memory.ts, fitted from a kernel-memory.json that
 * bench/calibrate/kernel-memory.ts measured. kernel-memory.test.ts checks that the module's
 * constants are this fit of the committed bench/calibrate/measured/kernel-memory.json, so the
 * model cannot drift from the measurement unnoticed; after a new measurement, print the fit with
 * `npx tsx bench/calibrate/kernel-memory.ts --from FILE` and copy the figures into the module.
 */
import { LARGE_CLUSTER_ENDPOINTS_THRESHOLD } from '../../sim/proxy/iptables/proxier.ts';
import { iptablesKernelBytes, kvmallocBytes, legacyEntries, legacyNatBytes, legacyTablesBytes, nftablesKernelBytes } from '../../sim/proxy/modes/kernel-memory.ts';
import { fitLinearModel, relativeWeights } from './fit.ts';
import type { KernelMemoryFile, KernelMemoryPoint, MemoryBackend } from './kernel-memory.ts';

export interface KernelMemoryFit {
  legacy: {
    /** Fixed point: kernel memory of kube-proxy's three tables beyond their blobs (table set-up in the namespace). */
    fixedOverheadBytes: number;
    /** Beyond the kvmalloc'd blob, per table entry (fitted over the grid: x_tables's per-entry bookkeeping). */
    perEntryBytes: number;
    /** The same fit's intercept: the set-up of the grid's lone nat table (its points only). */
    gridSetupBytes: number;
    /** The fixed point's blobs, bytes per table, as the kernel reported them. */
    fixedBlobs: Record<string, number>;
    fixedEntries: number;
    r2: number;
  };
  nft: { fixedBytes: number; perPortBytes: number; perEndpointBytes: number; perEndpointCommentBytes: number; r2: number };
  nftables: { fixedBytes: number; perPortBytes: number; perEndpointBytes: number; r2: number };
}

function fixedPoint(file: KernelMemoryFile, backend: MemoryBackend): KernelMemoryPoint {
  const p = file.points.find((q) => q.backend === backend && q.services === 0);
  if (!p) throw new Error(`kernel-memory: no fixed point (services 0) for ${backend}`);
  return p;
}

const grid = (file: KernelMemoryFile, backend: MemoryBackend) => file.points.filter((p) => p.backend === backend && p.services > 0);

/** Endpoint rules keep their comments up to kube-proxy's large-cluster threshold (pkg/proxy/iptables/proxier.go largeClusterMode). */
const commented = (p: KernelMemoryPoint) => p.services * p.endpointsPerService <= LARGE_CLUSTER_ENDPOINTS_THRESHOLD;

export function fitKernelMemory(file: KernelMemoryFile): KernelMemoryFit {
  const lf = fixedPoint(file, 'legacy');
  if (!lf.tables) throw new Error('kernel-memory: the legacy fixed point has no table sizes');
  const fixedBlobs = Object.fromEntries(Object.entries(lf.tables).map(([n, t]) => [n, t.blobBytes]));
  const fixedEntries = Object.values(lf.tables).reduce((s, t) => s + t.entries, 0);
  const fixedOverheadBytes = lf.bytes - Object.values(fixedBlobs).reduce((s, b) => s + kvmallocBytes(b), 0);
  // The grid loads the nat table alone: what it takes beyond its blob, against its entries.
  const lg = grid(file, 'legacy');
  const lx = lg.map((p) => [p.tables!.nat!.entries]);
  const ly = lg.map((p) => p.bytes - kvmallocBytes(p.tables!.nat!.blobBytes));
  const legacyFit = fitLinearModel(lx, ly);
  // The grid's nat tables differ from one another by what legacyEntries counts (their fixed part is the generator's).
  const counts = (p: KernelMemoryPoint) => ({ ports: p.services, without: 0, endpoints: p.services * p.endpointsPerService, affinity: false });
  const offsets = new Set(lg.map((p) => p.tables!.nat!.entries - legacyEntries(counts(p))));
  if (offsets.size > 1) throw new Error(`kernel-memory: the legacy grid's entries are not legacyEntries' count plus one fixed part (offsets ${[...offsets].join(', ')})`);

  // The nf_tables backends, above their fixed point, relative error weighted (sizes span 100x).
  const fitAbove = (backend: MemoryBackend, columns: (p: KernelMemoryPoint) => number[]) => {
    const fixed = fixedPoint(file, backend).bytes;
    const pts = grid(file, backend);
    const ys = pts.map((p) => p.bytes - fixed);
    return { fixed, fit: fitLinearModel(pts.map(columns), ys, relativeWeights(ys), true) };
  };
  const nft = fitAbove('nft', (p) => [p.services, p.services * p.endpointsPerService, commented(p) ? p.services * p.endpointsPerService : 0]);
  const nftables = fitAbove('nftables', (p) => [p.services, p.services * p.endpointsPerService]);
  return {
    legacy: { fixedOverheadBytes, perEntryBytes: legacyFit.coefficients[0]!, gridSetupBytes: legacyFit.intercept, fixedBlobs, fixedEntries, r2: legacyFit.r2 },
    nft: {
      fixedBytes: nft.fixed,
      perPortBytes: nft.fit.coefficients[0]!,
      perEndpointBytes: nft.fit.coefficients[1]!,
      perEndpointCommentBytes: nft.fit.coefficients[2]!,
      r2: nft.fit.r2,
    },
    nftables: { fixedBytes: nftables.fixed, perPortBytes: nftables.fit.coefficients[0]!, perEndpointBytes: nftables.fit.coefficients[1]!, r2: nftables.fit.r2 },
  };
}

/**
 * The model's figure for a measured point, for the rules the point loaded: kube-proxy's whole tables
 * at the fixed point; at a grid point, the generator's nat table alone (its own small fixed part,
 * taken from the kernel's entry count) plus what the Services add.
 */
export function modelBytes(p: KernelMemoryPoint, fit: KernelMemoryFit): number {
  const c = { ports: p.services, without: 0, endpoints: p.services * p.endpointsPerService, affinity: false };
  if (p.backend === 'nftables') return nftablesKernelBytes(c);
  if (p.services === 0 || p.backend === 'nft') return iptablesKernelBytes(p.backend, c);
  const nat = p.tables!.nat!;
  const fixedEntries = nat.entries - legacyEntries(c);
  return legacyTablesBytes([GENERATOR_NAT_BLOB + legacyNatBytes(c)], fit.legacy.gridSetupBytes, fixedEntries + legacyEntries(c));
}

/** The calibrate generator's nat table with no Service (bench/calibrate/rulesets.ts iptablesRestoreInput): 2 chains, 2 rules. */
export const GENERATOR_NAT_BLOB = 2032;
