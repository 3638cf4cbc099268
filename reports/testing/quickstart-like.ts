import type { ReportInput, RunRow } from '../types.ts';
import { fixtureInput } from './fixture.ts';

/**
 * A study shaped like scenarios/quickstart.yaml's (5 proxy modes x 100 and 1000 Services x 3
 * replications, many metrics, some of them measured by no mode of the study) with closed-formula
 * values, for compare's tests: `conntrackInsertNs` is the one cost two runs differ in. It adds to
 * every new connection's first-packet latency and CPU (the figures a conntrack insert is part of)
 * and to nothing else; the other metrics, sync times and kernel objects among them, stay put.
 */
const MODES = ['iptables', 'nftables', 'ipvs', 'ebpf', 'userspace'] as const;
const SERVICES = [100, 1000] as const;
const FIRST_PACKET_NS: Record<string, number> = { iptables: 8_000, nftables: 1_600, ipvs: 3_000, ebpf: 900, userspace: 60_000 };
const STATS = ['mean', 'p50', 'p99', 'max'] as const;

export function quickstartLikeInput(conntrackInsertNs = 619): ReportInput {
  const input = fixtureInput();
  const runs: RunRow[] = [];
  for (const mode of MODES) {
    for (const services of SERVICES) {
      for (let r = 0; r < 3; r++) {
        const wobble = (r - 1) * 20;
        const walk = mode === 'iptables' ? services * 30 : 0;
        const metrics: Record<string, number> = {};
        STATS.forEach((stat, i) => {
          metrics[`firstPacketLatency.${stat}`] = FIRST_PACKET_NS[mode]! + walk + conntrackInsertNs + i * 100 + wobble;
          metrics[`cpuPerConnection.${stat}`] = 10_000 + walk + conntrackInsertNs + i * 50 + wobble;
          metrics[`syncDuration.${stat}`] = services * 20_000 + i * 1000 + wobble;
          metrics[`requestLatency.${stat}`] = 200_000 + i * 5_000 + wobble;
        });
        Object.assign(metrics, {
          'failedConnections.rate': 0,
          'kernel.rules': mode === 'iptables' ? services * 12 : mode === 'nftables' ? services * 4 : services,
          'connections.total': 4000 + r,
          'sim.events': 1e6 + r * 10,
          // Measured by no point of this study: no Service has session affinity, nothing is dropped.
          'affinity.hits': NaN,
          'tailDrops.count': NaN,
        });
        for (let k = 0; k < 40; k++) metrics[`kernel.objects.k${String(k).padStart(2, '0')}`] = 100 * k + services;
        runs.push({ point: { mode, services }, replication: r, seed: 1 + r, metrics });
      }
    }
  }
  return { ...input, meta: { ...input.meta, name: 'quickstart-like', sweep: { mode: [...MODES], services: [...SERVICES] } }, runs, timeseries: [] };
}
