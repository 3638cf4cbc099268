/** The ebpf points of several calibration runs as one (calibrate --from A --from B): each size's figures the median of the runs that measured it, bursts pooled. */
import { median } from '../fit.ts';
import type { EbpfConnectPoint, EbpfPacketPoints, EbpfPoints } from './probe.ts';

const MEASURED: (keyof EbpfConnectPoint)[] = ['withNs', 'withoutNs', 'withP50Ns', 'withoutP50Ns', 'withCpuNs', 'withoutCpuNs', 'programNs'];

export function mergeEbpfPoints(runs: (EbpfPoints | undefined)[]): EbpfPoints | undefined {
  const present = runs.filter((r): r is EbpfPoints => r !== undefined);
  if (present.length <= 1) return present[0];
  const bySize = new Map<number, EbpfConnectPoint[]>();
  for (const r of present) for (const p of r.connect) bySize.set(p.services, [...(bySize.get(p.services) ?? []), p]);
  const connect = [...bySize.values()].map((g) => {
    const out: EbpfConnectPoint = { ...g[0]!, connects: g.reduce((s, p) => s + p.connects, 0) };
    for (const f of MEASURED) (out[f] as number) = median(g.map((p) => p[f] as number));
    return out;
  });
  connect.sort((a, b) => a.services - b.services);
  const packets = present.map((r) => r.packet).filter((p): p is EbpfPacketPoints => p !== undefined);
  const pool = (f: keyof Omit<EbpfPacketPoints, 'packets'>) => packets.flatMap((p) => p[f]);
  const packet: EbpfPacketPoints | undefined = packets.length
    ? { packets: packets[0]!.packets, sameFlowNs: pool('sameFlowNs'), newFlowNs: pool('newFlowNs'), withoutNs: pool('withoutNs'), withoutNewFlowNs: pool('withoutNewFlowNs'), programSameFlowNs: pool('programSameFlowNs'), programNewFlowNs: pool('programNewFlowNs') }
    : undefined;
  return { connect, ...(packet ? { packet } : {}), tools: present[0]!.tools };
}
