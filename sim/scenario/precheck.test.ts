import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InputError } from '../engine/input-error.ts';
import { loadScenarioText } from './load.ts';
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
