import type { ReportInput, RunRow, TimeseriesRow } from '../types.ts';

/**
 * A small study for the tests of reports/: 3 proxy modes x 2 service counts x 3 replications, with
 * metrics from closed formulas (so the golden files can be checked by hand): latency grows with
 * services for iptables (a linear rule walk), stays flat for nftables and ipvs.
 */
const MODES = ['iptables', 'nftables', 'ipvs'] as const;
const SERVICES = [100, 1000] as const;
const PER_RULE_NS: Record<string, number> = { iptables: 60, nftables: 0, ipvs: 0 };
const BASE_NS: Record<string, number> = { iptables: 20_000, nftables: 25_000, ipvs: 30_000 };

export function fixtureRuns(replications = 3): RunRow[] {
  const runs: RunRow[] = [];
  // Written in reverse order, as a pool of workers might finish them.
  for (let r = replications - 1; r >= 0; r--) {
    for (const services of [...SERVICES].reverse()) {
      for (const mode of MODES) {
        const wobble = (r - (replications - 1) / 2) * 500;
        runs.push({
          point: { services, mode },
          replication: r,
          seed: 1000 + r,
          metrics: {
            'firstPacketLatency.p99': BASE_NS[mode]! + PER_RULE_NS[mode]! * services * 3 + wobble,
            'firstPacketLatency.p50': (BASE_NS[mode]! + PER_RULE_NS[mode]! * services * 3) / 2 + wobble / 2,
            'failedConnections.rate': mode === 'iptables' ? 0.002 + r * 0.0005 : 0.0005,
            'syncDuration.mean': services * (mode === 'ipvs' ? 40_000 : 100_000) + r * 1000,
            'rulesVisited.mean': mode === 'iptables' ? services * 3 : 4,
            'tailDrops.count': mode === 'ipvs' && services === 1000 ? NaN : r,
          },
        });
      }
    }
  }
  return runs;
}

export function fixtureTimeseries(replications = 3): TimeseriesRow[] {
  const rows: TimeseriesRow[] = [];
  for (let r = 0; r < replications; r++) {
    for (const mode of MODES) {
      for (const services of SERVICES) {
        for (let t = 0; t < 5; t++) {
          rows.push({ point: { mode, services }, replication: r, t, series: 'conntrack.entries', value: 100 * t + r + (mode === 'ipvs' ? 50 : 0) });
          rows.push({ point: { mode, services }, replication: r, t, series: 'failedConnections.perSecond', value: t === 2 ? 10 + r : 0 });
        }
      }
    }
  }
  return rows;
}

const SOURCE = `name: rule-scaling-mini
question: How does first-packet latency grow with the number of Services, per proxy mode?
seed: 7
replications: 3
duration: 10s
sweep:
  mode: [iptables, nftables, ipvs]
  services: [100, 1000]
`;

export function fixtureInput(overrides: { partial?: boolean; expectations?: string[] } = {}): ReportInput {
  return {
    meta: {
      name: 'rule-scaling-mini',
      question: 'How does first-packet latency grow with the number of Services, per proxy mode?',
      assumptions: ['Every Service has 10 endpoints.', 'The per-rule match cost is 60 ns (legacy iptables).'],
      scenario: { seed: 7, name: 'rule-scaling-mini', sweep: { mode: [...MODES], services: [...SERVICES] }, replications: 3, duration: '10s' },
      svcsimVersion: '0.1.0',
      seed: 7,
      replications: 3,
      sweep: { mode: [...MODES], services: [...SERVICES] },
      charts: [
        { title: 'First-packet latency p99', x: 'services', y: 'firstPacketLatency.p99', color: 'mode', xScale: 'log' },
        { title: 'Sync duration', x: 'services', y: 'syncDuration.mean', color: 'mode', kind: 'bar' },
        { title: 'Conntrack entries over time', x: 'time', y: 'conntrack.entries', color: 'mode' },
      ],
      expectations: overrides.expectations ?? [
        'nftables.firstPacketLatency.p99 < 100us',
        'iptables.failedConnections.rate <= 0.1%',
        'mode=ipvs,services=1000:syncDuration.mean < 50ms',
        'firstPacketLatency.p99 < 2ms',
      ],
      partial: overrides.partial ?? false,
      source: SOURCE,
    },
    runs: fixtureRuns(),
    timeseries: fixtureTimeseries(),
  };
}
