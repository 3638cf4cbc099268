/**
 * The figures of sim/proxy/cost/kernel-memory.ts, fitted from a kernel-memory.json that
 * calibrate/kernel-memory.ts measured. kernel-memory.test.ts checks that the module's
 * constants are this fit of the committed calibrate/measured/kernel-memory.json, so the
 * model cannot drift from the measurement unnoticed; after a new measurement, print the fit with
 * `npx tsx calibrate/kernel-memory.ts --from FILE` and copy the figures into the module.
 */
import { endpointComments, iptablesKernelBytes, kvmallocBytes, legacyNatBytes, nftablesKernelBytes, type KernelTableCounts } from '../sim/proxy/cost/kernel-memory.ts';
import { fitLinearModel, relativeWeights } from './fit.ts';
import type { KernelMemoryFile, KernelMemoryPoint, MemoryBackend } from './kernel-memory.ts';

export interface KernelMemoryFit {
  legacy: {
    /** kube-proxy's fixed tables' blobs, bytes per table, as the kernel reported them. */
    fixedBlobs: Record<string, number>;
    /** What the kernel charged beyond the kvmalloc'd blobs, worst over every legacy point. */
    worstBeyondBlobsBytes: number;
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

/** What a measured point loaded, as the model counts it: ClusterIP ports, each with its endpoints, no affinity. */
export function pointCounts(p: KernelMemoryPoint): KernelTableCounts {
  return { ports: p.services, without: 0, endpoints: p.services * p.endpointsPerService, affinity: false };
}

export function fitKernelMemory(file: KernelMemoryFile): KernelMemoryFit {
  const lf = fixedPoint(file, 'legacy');
  if (!lf.tables) throw new Error('kernel-memory: the legacy fixed point has no table sizes');
  const fixedBlobs = Object.fromEntries(Object.entries(lf.tables).map(([n, t]) => [n, t.blobBytes]));
  const beyond = file.points
    .filter((p) => p.backend === 'legacy')
    .map((p) => Math.abs(p.bytes - Object.values(p.tables!).reduce((s, t) => s + kvmallocBytes(t.blobBytes), 0)));

  // The nf_tables backends, above their fixed point, relative error weighted (sizes span 100x). The
  // grid's iptables-nft loads carry the generator's small nat table rather than kube-proxy's fixed
  // ones; that difference is small against the tables and inside the fit's residuals.
  const fitAbove = (backend: MemoryBackend, columns: (p: KernelMemoryPoint) => number[]) => {
    const fixed = fixedPoint(file, backend).bytes;
    const pts = grid(file, backend);
    const ys = pts.map((p) => p.bytes - fixed);
    return { fixed, fit: fitLinearModel(pts.map(columns), ys, relativeWeights(ys), true) };
  };
  const nft = fitAbove('nft', (p) => {
    const c = pointCounts(p);
    return [c.ports, c.endpoints, endpointComments(c) ? c.endpoints : 0];
  });
  const nftables = fitAbove('nftables', (p) => [p.services, p.services * p.endpointsPerService]);
  return {
    legacy: { fixedBlobs, worstBeyondBlobsBytes: Math.max(...beyond) },
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
export function modelBytes(p: KernelMemoryPoint): number {
  const c = pointCounts(p);
  if (p.backend === 'nftables') return nftablesKernelBytes(c);
  if (p.services === 0 || p.backend === 'nft') return iptablesKernelBytes(p.backend, c);
  return kvmallocBytes(GENERATOR_NAT_BLOB + legacyNatBytes(c));
}

/** The calibrate generator's nat table with no Service (calibrate/rulesets.ts iptablesRestoreInput): 2 chains, 2 rules. */
export const GENERATOR_NAT_BLOB = 2032;
