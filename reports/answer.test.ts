import { test } from 'node:test';
import assert from 'node:assert/strict';
import { answerFromCharts, expectationsVerdict } from './answer.ts';
import { checkExpectations, parseExpectations } from './expectations.ts';
import type { PointSummary, SweepPoint, TimeseriesRow } from './types.ts';

function point(p: SweepPoint, metrics: Record<string, [number, number?, number?]>): PointSummary {
  const m: PointSummary['metrics'] = {};
  for (const [k, [mean, lo = mean, hi = mean]] of Object.entries(metrics)) m[k] = { n: 3, mean, stdev: 0, ci95Low: lo, ci95High: hi };
  return { point: p, runs: 3, metrics: m };
}

const sweep = { mode: ['iptables', 'nftables', 'ebpf'], services: [100, 1000, 10000] };
const points: PointSummary[] = [
  // iptables grows, nftables stays flat (within 2%), ebpf peaks in the middle.
  point({ mode: 'iptables', services: 100 }, { 'firstPacketLatency.p99': [2000] }),
  point({ mode: 'iptables', services: 1000 }, { 'firstPacketLatency.p99': [12000] }),
  point({ mode: 'iptables', services: 10000 }, { 'firstPacketLatency.p99': [100000, 90000, 110000] }),
  point({ mode: 'nftables', services: 100 }, { 'firstPacketLatency.p99': [1430] }),
  point({ mode: 'nftables', services: 1000 }, { 'firstPacketLatency.p99': [1440] }),
  point({ mode: 'nftables', services: 10000 }, { 'firstPacketLatency.p99': [1450, 1000, 2000] }),
  point({ mode: 'ebpf', services: 100 }, { 'firstPacketLatency.p99': [100] }),
  point({ mode: 'ebpf', services: 1000 }, { 'firstPacketLatency.p99': [300] }),
  point({ mode: 'ebpf', services: 10000 }, { 'firstPacketLatency.p99': [50] }),
];

test('over a sweep: each series from the first to the last x, a peak between, then the order at the last x', () => {
  const [line] = answerFromCharts([{ title: 'Latency', x: 'services', y: 'firstPacketLatency.p99', color: 'mode' }], { points, sweep });
  assert.equal(
    line,
    'Latency (firstPacketLatency.p99): From services=100 to services=10000: iptables 2µs → 100µs (×50); nftables stays at 1.43µs; ebpf 100ns → 50ns (−50%), peak 300ns at services=1000. ' +
      'At services=10000, lowest to highest: ebpf 50ns, nftables 1.45µs, iptables 100µs; the highest is 2000× the lowest.',
  );
});

test('extremes whose 95% intervals overlap are said not to be separated', () => {
  const close = [
    point({ mode: 'iptables', services: 100 }, { 'firstPacketLatency.p99': [1000, 800, 1300] }),
    point({ mode: 'nftables', services: 100 }, { 'firstPacketLatency.p99': [1200, 900, 1500] }),
  ];
  const [line] = answerFromCharts([{ title: 'L', x: 'services', y: 'firstPacketLatency.p99', color: 'mode' }], { points: close, sweep: { mode: ['iptables', 'nftables'], services: [100] } });
  assert.match(line!, /At services=100 \(the only value\), lowest to highest: iptables 1µs, nftables 1.2µs; the highest is 1.2× the lowest — but their 95% intervals overlap/);
});

test('many series: only the lowest and highest at the last x are named', () => {
  const many: PointSummary[] = [];
  const modes = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
  modes.forEach((mode, i) => many.push(point({ mode, services: 100 }, { 'x.count': [10 * (i + 1)] })));
  const [line] = answerFromCharts([{ title: 'N', x: 'services', y: 'x.count', color: 'mode' }], { points: many, sweep: { mode: modes, services: [100] } });
  assert.match(line!, /lowest a 10, highest g 70 \(of 7 series\); the highest is 7× the lowest\.$/);
});

test('over time: the peak, when, and the end; series that read the same are named together', () => {
  const timeseries: TimeseriesRow[] = [];
  for (const mode of ['iptables', 'nftables', 'ebpf']) {
    for (let t = 0; t < 4; t++) {
      const value = mode === 'ebpf' ? [0, 9, 3, 1][t]! : 10 * t;
      timeseries.push({ point: { mode, services: 100 }, replication: 0, t, series: 'conntrack.entries', value });
    }
  }
  const [line] = answerFromCharts([{ title: 'Entries', x: 'time', y: 'conntrack.entries', color: 'mode' }], {
    points: [],
    sweep: { mode: ['iptables', 'nftables', 'ebpf'], services: [100] },
    timeseries,
  });
  assert.equal(line, 'Entries (conntrack.entries over time): iptables and nftables: peak 30 at t=3s, still there at the end; ebpf: peak 9 at t=1s, 1 at the end (t=3s).');
});

test('a chart with nothing measured says nothing', () => {
  assert.deepEqual(answerFromCharts([{ title: 'None', x: 'services', y: 'absent.p99', color: 'mode' }], { points, sweep }), []);
});

test('the expectations verdict counts checks, lines, failures and what was not measured', () => {
  const parsed = parseExpectations(['firstPacketLatency.p99 < 50us', 'ebpf.firstPacketLatency.p99 < 1us', 'missing.count == 0'], sweep);
  const results = checkExpectations(parsed, points, ['mode', 'services']);
  assert.equal(expectationsVerdict(results), 'Expectations: 11 of 21 checks (3 expect: lines over the points each selects) held, 1 failed, 9 not measured.');
  assert.equal(expectationsVerdict([]), undefined);
  assert.equal(expectationsVerdict([], 1), 'Expectations: 1 expect: line not checked (only sweep values --quick or --set left out).');
  assert.match(expectationsVerdict(results, 2)!, /9 not measured; 2 expect: lines not checked \(only sweep values --quick or --set left out\)\.$/);
});

test('a chart of a selection reads only its points and says which', () => {
  const [line] = answerFromCharts([{ title: 'L', x: 'services', y: 'firstPacketLatency.p99', where: { mode: 'nftables' } }], { points, sweep });
  assert.equal(line, 'L (firstPacketLatency.p99; mode=nftables): From services=100 to services=10000: the mean stays at 1.43µs.');
});

test('series labels keep their parameters in parentheses; equal neighbours share a value; all equal is said once', () => {
  const sw = { mode: ['iptables', 'ipvs'], graceful: ['true', 'false'], rate: [0.05] };
  const pts = [
    point({ mode: 'iptables', graceful: 'true', rate: 0.05 }, { 'failedConnections.rate': [0] }),
    point({ mode: 'iptables', graceful: 'false', rate: 0.05 }, { 'failedConnections.rate': [0.0005] }),
    point({ mode: 'ipvs', graceful: 'true', rate: 0.05 }, { 'failedConnections.rate': [0] }),
    point({ mode: 'ipvs', graceful: 'false', rate: 0.05 }, { 'failedConnections.rate': [0.0004] }),
  ];
  const [line] = answerFromCharts([{ title: 'F', x: 'rate', y: 'failedConnections.rate', color: 'mode' }], { points: pts, sweep: sw });
  assert.equal(line, 'F (failedConnections.rate): At rate=0.05 (the only value), lowest to highest: iptables (graceful=true), ipvs (graceful=true) 0%, ipvs (graceful=false) 0.04%, iptables (graceful=false) 0.05%.');
  const [zero] = answerFromCharts([{ title: 'Z', x: 'rate', y: 'failedConnections.rate', color: 'mode', where: { graceful: 'true' } }], { points: pts, sweep: sw });
  assert.equal(zero, 'Z (failedConnections.rate; graceful=true): At rate=0.05 (the only value), all 2 series are at 0%.');
});

test('a numeric color value is named by its parameter; a series that never changes over time stays', () => {
  const timeseries: TimeseriesRow[] = [];
  for (const rate of [120, 480]) {
    for (let t = 0; t < 3; t++) timeseries.push({ point: { rate }, replication: 0, t: 5 * t, series: 'failedConnections', value: rate === 120 ? 0 : [0, 7, 3][t]! });
  }
  const [line] = answerFromCharts([{ title: 'F', x: 'time', y: 'failedConnections', color: 'rate' }], { points: [], sweep: { rate: [120, 480] }, timeseries });
  assert.equal(line, 'F (failedConnections over time): rate=120: stays at 0; rate=480: peak 7 at t=5s, 3 at the end (t=10s).');
});

test('a series that covers part of the x range (an exclude:) says which part', () => {
  const part = points.filter((p) => !(p.point.mode === 'ebpf' && p.point.services === 10000));
  const [line] = answerFromCharts([{ title: 'L', x: 'services', y: 'firstPacketLatency.p99', color: 'mode' }], { points: part, sweep });
  assert.match(line!, /ebpf 100ns → 300ns \(×3\) \(services=100 to 1000 only\)\. At services=10000, lowest to highest: nftables 1\.45µs, iptables 100µs;/);
});

test('equal ends with a dip between them: the ends, then the low', () => {
  const dip = [
    point({ mode: 'nftables', services: 100 }, { 'firstPacketLatency.p99': [5000] }),
    point({ mode: 'nftables', services: 1000 }, { 'firstPacketLatency.p99': [2000] }),
    point({ mode: 'nftables', services: 10000 }, { 'firstPacketLatency.p99': [5010] }),
  ];
  const [line] = answerFromCharts([{ title: 'D', x: 'services', y: 'firstPacketLatency.p99' }], { points: dip, sweep: { mode: ['nftables'], services: [100, 1000, 10000] } });
  assert.equal(line, 'D (firstPacketLatency.p99): From services=100 to services=10000: the mean 5µs at both ends, low 2µs at services=1000.');
});
