import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadScenarioText } from './load.ts';
import { precheckStudy } from './precheck.ts';
import { reportReferences } from './reference-input.ts';

const CLI = fileURLToPath(new URL('../cli.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'svcsim-reference-'));
writeFileSync(join(dir, 'measured.json'), '{}\n');

const study = (points: string, x = 'services') => `name: refs
question: Do references load?
duration: 2s
cluster: { nodes: 1, services: { count: "\${services}", endpointsPerService: 2 } }
proxy: { mode: "\${mode}" }
sweep: { mode: [iptables, nftables], services: [100, 1000] }
reference:
  x: ${x}
  points:
${points}
`;

const GOOD = `    - { x: 1000, series: { mode: iptables }, metric: connectSetupLatency, percentile: p50, value: 120us, source: "https://kubernetes.io/blog/2025/02/28/nftables-kube-proxy/" }
    - { x: 100, metric: connectSetupLatency.p99, value: 2ms, source: measured.json, note: this host }`;

const load = (text: string) => {
  const loaded = loadScenarioText(text, join(dir, 'refs.yaml'));
  precheckStudy(loaded);
  return loaded;
};

test('a study with references loads; values become base units, the source may be a URL or a file beside the study', () => {
  const loaded = load(study(GOOD));
  const refs = reportReferences(loaded.points[0]!.scenario.reference!);
  assert.equal(refs.x, 'services');
  assert.equal(refs.factor, 2);
  assert.deepEqual(refs.points.map((p) => [p.x, p.series, p.metric, p.percentile, p.value]), [
    [1000, { mode: 'iptables' }, 'connectSetupLatency', 'p50', 120_000],
    [100, {}, 'connectSetupLatency.p99', undefined, 2_000_000],
  ]);
});

test('each wrong reference is named at its line: unknown metric, missing file, unknown sweep parameter', () => {
  const bad = `    - { x: 1000, series: { mode: iptables }, metric: connectSetupLatncy, percentile: p50, value: 120us, source: "https://example.org/a" }
    - { x: 100, series: { mod: iptables }, metric: firstPacketLatency, percentile: p99, value: 2us, source: calibrate/nowhere.json }`;
  assert.throws(
    () => load(study(bad)),
    (e: Error) => {
      assert.match(e.message, /refs\.yaml:10:\d+: reference\.points\[0\]\.metric: expected a metric the runs write, with its percentile \(a column of runs\.csv\), found "connectSetupLatncy\.p50" \(did you mean connectSetupLatency\.p50\?\)/);
      assert.match(e.message, /refs\.yaml:11:\d+: reference\.points\[1\]\.series\.mod: expected a sweep parameter \(mode, services\), found "mod" \(did you mean mode\?\)/);
      assert.match(e.message, /refs\.yaml:11:\d+: reference\.points\[1\]\.source: expected an http\(s\) URL, or a file of this repository relative to the scenario file, found "calibrate\/nowhere\.json": neither a URL nor an existing file/);
      return true;
    },
  );
  assert.throws(() => load(study(GOOD, 'nodes')), /reference\.x: expected a sweep parameter \(mode, services\), found "nodes"/);
});

test('the command exits 2 for a reference without a source and for one with an unknown metric', () => {
  const run = (name: string, points: string) => {
    const file = join(dir, name);
    writeFileSync(file, study(points));
    return spawnSync(process.execPath, ['--import', 'tsx', CLI, 'scenario', file, '--out', join(dir, 'out')], { encoding: 'utf8', env: { ...process.env, CI: 'true' } });
  };
  const noSource = run('no-source.yaml', '    - { x: 1000, metric: connectSetupLatency, percentile: p50, value: 120us }');
  assert.equal(noSource.status, 2, noSource.stderr);
  assert.match(noSource.stderr, /no-source\.yaml:10:\d+: reference\.points\[0\]\.source: expected/);
  const unknown = run('unknown.yaml', '    - { x: 1000, metric: setupLatency, percentile: p50, value: 120us, source: "https://example.org/" }');
  assert.equal(unknown.status, 2, unknown.stderr);
  assert.match(unknown.stderr, /unknown\.yaml:10:\d+: reference\.points\[0\]\.metric: expected a metric the runs write/);
});
