import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadScenarioText } from './load.ts';
import { toReportInput } from './report-input.ts';
import { runStudy } from './runner.ts';
import { runCounts } from '../../reports/report-doc.ts';
import { summarizePoints } from '../../reports/summarize.ts';
import { buildSummaryDoc } from '../../reports/summary-json.ts';

const MODEL = new URL('./testing/deterministic-model.ts', import.meta.url).href;

const STUDY = `
name: report-input-test
question: Do the report rows carry what the runs measured?
replications: 3
duration: 3s
cluster: { nodes: 2, services: { count: "\${services}", endpointsPerService: 2 } }
proxy: { mode: "\${mode}" }
sweep:
  mode: [iptables, nftables]
  services: [10, 100, 1000]
`;

test('the report rows carry the point, replication, seed and time series in seconds', async () => {
  const loaded = loadScenarioText(STUDY, 'report-input-test.yaml');
  const input = toReportInput(loaded, await runStudy(loaded, { jobs: 2, modelUrl: MODEL }));
  assert.deepEqual(input.meta.sweep, { mode: ['iptables', 'nftables'], services: [10, 100, 1000] });
  assert.equal(input.meta.partial, false);
  assert.equal(input.meta.replications, 3);
  assert.deepEqual(input.runs[4]!.point, { mode: 'iptables', services: 100 });
  assert.equal(input.runs[4]!.replication, 1);
  assert.equal(input.runs[4]!.metrics['rulesVisited.mean'], 100);
  assert.deepEqual(
    input.timeseries!.filter((r) => r.replication === 0 && r.point.services === 10 && r.point.mode === 'iptables').map((r) => r.t),
    [0, 1, 2],
  );
});

test('an interrupted study is marked partial in the report input', async () => {
  const loaded = loadScenarioText(STUDY, 'report-input-test.yaml');
  const input = toReportInput(loaded, await runStudy(loaded, { jobs: 1, modelUrl: MODEL, signal: AbortSignal.abort() }));
  assert.equal(input.meta.partial, true);
  assert.deepEqual(input.runs, []);
  assert.equal(input.meta.name, 'report-input-test');
});

test('points skipped by exclude: are not counted as runs that did not finish', async () => {
  const loaded = loadScenarioText(STUDY + 'exclude:\n  - { mode: nftables, services: [100, 1000] }\n', 'report-input-test.yaml');
  const input = toReportInput(loaded, await runStudy(loaded, { jobs: 2, modelUrl: MODEL }));
  assert.equal(input.meta.excluded, 2);
  const { points } = summarizePoints(input.runs, input.meta.sweep);
  const model = { meta: input.meta, points } as unknown as Parameters<typeof runCounts>[0];
  assert.deepEqual(runCounts(model), { expected: 12, finished: 12 });
  assert.deepEqual(buildSummaryDoc(input.meta, points, [], []).runs, { expected: 12, finished: 12 });
});

test('the report states the assumptions of the comparison modes a study runs, after the study\'s own', async () => {
  const withModes = (modes: string) => loadScenarioText(STUDY.replace('[iptables, nftables]', modes).replace('count: "${services}"', 'count: 10').replace('  services: [10, 100, 1000]\n', '') + 'assumptions: [Two nodes.]\n', 'report-input-test.yaml');
  const oneMode = toReportInput(withModes('[iptables]'), { runs: [], partial: false } as never);
  assert.deepEqual(oneMode.meta.assumptions, ['Two nodes.']);
  // Modes compared: how each one's CPU is counted, the parts they share and their own, in mode order.
  const kubeProxyOnly = toReportInput(withModes('[nftables, iptables]'), { runs: [], partial: false } as never).meta.assumptions;
  assert.equal(kubeProxyOnly.length, 2);
  assert.match(kubeProxyOnly[1]!, /^CPU per new connection .*every mode pays, and what the mode adds: iptables its rule walk .*; nftables its rules and map lookups/);
  const a = toReportInput(withModes('[userspace, iptables, ebpf]'), { runs: [], partial: false } as never).meta.assumptions;
  assert.equal(a.length, 4);
  assert.equal(a[0], 'Two nodes.');
  assert.match(a[1]!, /iptables its rule walk.*; ebpf three BPF map lookups.*ebpfDatapathNs.*; userspace .*userspaceHopNs/);
  assert.match(a[2]!, /^ebpf is a Cilium-like comparison mode.*no minSyncPeriod/);
  assert.match(a[3]!, /^userspace .*in-memory balancer.*singleUpdateBaseNs/);
});
