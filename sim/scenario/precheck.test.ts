import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InputError } from '../io/input-error.ts';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadScenario, loadScenarioText } from './load.ts';
import { precheckStudy } from './precheck.ts';
import { declaredSweep } from './report-input.ts';

/** The checks made before any run: charts and expect lines, reported where they are written. */
const STUDY = `name: where
question: Does a chart's selection name values the sweep has?
cluster: { nodes: 2, services: { count: 10, endpointsPerService: 2 } }
proxy: { mode: "\${mode}", minSyncPeriod: "\${minSyncPeriod}" }
sweep:
  mode: [iptables, nftables]
  minSyncPeriod: [1s, 10s]
charts:
  - { title: Latency, x: minSyncPeriod, y: firstPacketLatency.p99, color: mode, where: { mode: nftables } }
  - { title: Sync, x: mode, y: syncDuration.p50, where: { minSyncPeriod: [1s, 10s] } }
`;

function fails(text: string, message: string, set: string[] = []): void {
  assert.throws(
    () => precheckStudy(loadScenarioText(text, 'case.yaml', { set })),
    (e: unknown) => e instanceof InputError && e.message === message,
  );
}

test("a chart's where: names sweep parameters and values of the sweep the file writes, at their line", () => {
  precheckStudy(loadScenarioText(STUDY, 'case.yaml'));
  fails(
    STUDY.replace('where: { mode: nftables }', 'where: { mode: nftable }'),
    'case.yaml:9:96: charts[0].where.mode: expected a value of sweep.mode ("iptables", "nftables"), found "nftable" (did you mean \'nftables\'?)',
  );
  fails(STUDY.replace('[1s, 10s] }', '[1s, 5s] }'), 'case.yaml:10:79: charts[1].where.minSyncPeriod[1]: expected a value of sweep.minSyncPeriod ("1s", "10s"), found "5s" (did you mean \'1s\'?)');
  fails(STUDY.replace('where: { mode: nftables }', 'where: { node: nftables }'), 'case.yaml:9:96: charts[0].where.node: expected a sweep parameter (mode, minSyncPeriod), found "node" (did you mean mode?)');
});

test('a sweep reduced by --set may leave out values a where: names (the chart then draws nothing)', () => {
  precheckStudy(loadScenarioText(STUDY, 'case.yaml', { set: ['sweep.mode=[iptables]'] }));
});

test('expect: lines may select values of the sweep the file writes that --set left out; reports/ gets those lists', () => {
  const text = STUDY + 'expect:\n  - nftables.firstPacketLatency.p99 < 100us\n';
  const loaded = loadScenarioText(text, 'case.yaml', { set: ['sweep.mode=[iptables]'] });
  precheckStudy(loaded);
  assert.deepEqual(declaredSweep(loaded), { declaredSweep: { mode: ['iptables', 'nftables'] } });
  assert.deepEqual(declaredSweep(loadScenarioText(text, 'case.yaml')), {});
  fails(text.replace('nftables.first', 'mode=nftable:first'), 'case.yaml:12:5: expect[0], column 6 of the line: expected a value of mode (iptables, nftables), found "nftable"');
});

test('a misspelt metric in charts: or expect: is refused before any run, at its line and column, with a hint from the metric names', () => {
  fails(
    STUDY.replace('y: firstPacketLatency.p99', 'y: firstPacketLatncy.p99'),
    'case.yaml:9:44: charts[0].y: expected a metric the runs measure (a column of runs.csv), found "firstPacketLatncy.p99" (did you mean firstPacketLatency.p99?)',
  );
  const timeChart = STUDY + '  - { title: Over time, x: time, y: failedConnection, color: mode }\n';
  fails(
    timeChart,
    'case.yaml:11:37: charts[2].y: expected a series of timeseries.csv (connections, failedConnections, nodesBehind, syncs, conntrack.entries), since x is time, found "failedConnection" (did you mean failedConnections?)',
  );
  precheckStudy(loadScenarioText(timeChart.replace('failedConnection,', 'failedConnections,'), 'case.yaml'));
  const expect = STUDY + 'expect:\n  - failedConnections.rate <= 0.1%\n  - nftables.syncDuraton.p50 < 1s\n';
  fails(expect, 'case.yaml:13:5: expect[1], column 10 of the line: expected a metric the runs measure, found "syncDuraton.p50" (did you mean syncDuration.p50?)');
  fails(expect.replace('nftables.syncDuraton.p50 < 1s', 'mode=nftables:syncs.cont < 10'),
    'case.yaml:13:5: expect[1], column 15 of the line: expected a metric the runs measure, found "syncs.cont" (did you mean syncs.count?)');
  precheckStudy(loadScenarioText(expect.replace('syncDuraton', 'syncDuration'), 'case.yaml'));
});

test('control-plane metrics are known only to a study with churn', () => {
  const line = 'expect:\n  - watchDelivery.p99 < 1s\n';
  fails(STUDY + line, 'case.yaml:12:5: expect[0], column 1 of the line: expected a metric the runs measure, found "watchDelivery.p99"');
  precheckStudy(loadScenarioText(STUDY + 'churn: { kind: pod-kill, ratePerMinute: 5 }\n' + line, 'case.yaml'));
});

test('every shipped study passes the checks, full and --quick', () => {
  const dir = join(import.meta.dirname, '..', '..', 'scenarios');
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.yaml'))) {
    for (const quick of [false, true]) precheckStudy(loadScenario(join(dir, f), { quick }));
  }
});

test('answer: findings name sweep parameters and metrics the runs write, checked before any run', () => {
  const ok = STUDY + `answer:
  - { say: Which mode is fastest, rank: { y: firstPacketLatency.p99, by: mode, where: { minSyncPeriod: 1s } } }
  - { say: When does it drop, first: { x: minSyncPeriod, when: "mode=iptables:failedConnections.rate > 0" } }
`;
  precheckStudy(loadScenarioText(ok, 'case.yaml'));
  fails(ok.replace('by: mode', 'by: mod'), 'case.yaml:12:74: answer[0].rank.by: expected a sweep parameter (mode, minSyncPeriod), found "mod" (did you mean mode?)');
  fails(ok.replace('failedConnections.rate > 0', 'failedConection.rate > 0'), 'case.yaml:13:64: answer[1].first.when, column 15 of the text: expected a metric the runs measure, found "failedConection.rate" (did you mean failedConnections.rate?)');
});
