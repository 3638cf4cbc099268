import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InputError, InputErrorList } from '../io/input-error.ts';
import { loadScenario, loadScenarioText, type LoadOptions } from './load.ts';
import { precheckStudy } from './precheck.ts';

/**
 * A study with several independent mistakes reports every one, one line each, most likely cause first;
 * a step whose result the next one needs stops there, so no line is a consequence of another.
 */
const HEAD = `name: t
question: q
cluster:
  services: { count: 10, endpointsPerService: 2 }
`;

function lines(text: string, opts: LoadOptions = {}, check?: (l: ReturnType<typeof loadScenarioText>) => void): string[] {
  try {
    const l = loadScenarioText(text, 'case.yaml', opts);
    check?.(l);
  } catch (e) {
    assert.ok(e instanceof InputError, `not an InputError: ${String(e)}`);
    assert.equal(e.exitCode, 2);
    if (e.message.includes('\n')) assert.ok(e instanceof InputErrorList);
    return e.message.split('\n');
  }
  assert.fail('no InputError');
}

export const QUICKSTART_WITH_THREE_MISTAKES = readFileSync(fileURLToPath(new URL('../../scenarios/quickstart.yaml', import.meta.url)), 'utf8')
  .replace('\nduration: 20s\n', '\nduration: 30 parsecs\n')
  .replace('\nreplications: 3\n', '\nreplications: -1\n')
  .replace('\n  minSyncPeriod: 1s\n', '\n  minSyncPerod: 1s\n');

test('the quickstart with three mistakes reports all three, in file order, with line, column and hint', () => {
  const dir = mkdtempSync(join(tmpdir(), 'svcsim-problems-'));
  const file = join(dir, 'quickstart.yaml');
  writeFileSync(file, QUICKSTART_WITH_THREE_MISTAKES);
  assert.throws(
    () => loadScenario(file),
    (e: unknown) => {
      assert.ok(e instanceof InputErrorList);
      assert.deepEqual(e.message.split('\n'), [
        `${file}:13:15: replications: expected a number above 0, found -1`,
        `${file}:14:11: duration: expected a duration with a unit (ns, us, ms, s, m, h), such as "250ms", found "30 parsecs"`,
        `${file}:21:3: proxy.minSyncPerod: expected a field of proxy: mode, minSyncPeriod, syncPeriod, syncFailureProbability, iptablesBackend, ipvsScheduler, masqueradeAll, masqueradeBit, conntrack, found unknown field 'minSyncPerod' (did you mean 'minSyncPeriod'?)`,
      ]);
      assert.equal(e.problems.length, 3);
      return true;
    },
  );
});

test('problems of single fields come before a check across fields, even one written earlier', () => {
  assert.deepEqual(lines(HEAD + 'traffic: { halfClosedFraction: 0.7, leftOpenFraction: 0.7 }\nreplications: 0\n'), [
    'case.yaml:6:15: replications: expected a number above 0, found 0',
    'case.yaml:5:55: traffic.leftOpenFraction: expected halfClosedFraction + leftOpenFraction at most 1 (the rest close cleanly), found 0.7',
  ]);
});

test('YAML syntax errors are all reported, and the schema is not checked on a file that did not parse', () => {
  assert.deepEqual(lines(HEAD + 'replications: 0\nseed: 1\nseed: 2\nproxy:\n  mode: ipvs\n  mode: nftables\n'), [
    'case.yaml:7:1: expected valid YAML, found Map keys must be unique',
    'case.yaml:10:3: expected valid YAML, found Map keys must be unique',
  ]);
});

test('a bad value in several sweep points: each sweep value is reported once, at the value', () => {
  assert.deepEqual(lines(HEAD.replace('count: 10', 'count: "${services}"') + 'proxy: { mode: "${mode}" }\nsweep:\n  mode: [iptables, ipvz, nftabels]\n  services: [10, 20]\nreplications: 0\n'), [
    `case.yaml:7:20: sweep.mode[1] (mode = "ipvz", used at proxy.mode): expected one of iptables, ipvs, nftables, ebpf, userspace, found "ipvz" (did you mean 'ipvs'?)`,
    `case.yaml:7:26: sweep.mode[2] (mode = "nftabels", used at proxy.mode): expected one of iptables, ipvs, nftables, ebpf, userspace, found "nftabels" (did you mean 'nftables'?)`,
    'case.yaml:9:15: replications: expected a number above 0, found 0',
  ]);
});

test('every bad sweep parameter is reported; the schema waits for a sweep that expands', () => {
  assert.deepEqual(lines(HEAD + 'replications: 0\nproxy: { mode: "${mode}", minSyncPeriod: "${period}" }\nsweep:\n  mode: []\n  period: [1s, 2s, 1s]\n'), [
    'case.yaml:8:9: sweep.mode: expected a non-empty list of values, such as [iptables, ipvs], found an empty list',
    'case.yaml:9:20: sweep.period[2]: expected distinct values, found "1s" twice',
  ]);
});

test('every unknown ${...} reference is reported; a parameter left unreferenced only once the references are good', () => {
  assert.deepEqual(lines(HEAD + 'proxy: { mode: "${mdoe}", minSyncPeriod: "${perod}" }\nsweep: { mode: [iptables], period: [1s] }\n'), [
    "case.yaml:5:16: proxy.mode: expected a sweep parameter (mode, period), found ${mdoe} (did you mean 'mode'?)",
    "case.yaml:5:42: proxy.minSyncPeriod: expected a sweep parameter (mode, period), found ${perod} (did you mean 'period'?)",
  ]);
  assert.deepEqual(lines(HEAD + 'sweep: { mode: [iptables], period: [1s] }\n').length, 2);
});

test('every bad --set is reported, before and without the file it would have changed', () => {
  assert.deepEqual(lines(HEAD + 'replications: 0\n', { set: ['proxy.minSyncPerod=2s', 'replications=two', 'seed'] }), [
    "--set proxy.minSyncPerod=2s: expected a field of proxy (mode, minSyncPeriod, syncPeriod, syncFailureProbability, iptablesBackend, ipvsScheduler, masqueradeAll, masqueradeBit, conntrack), found 'minSyncPerod' (did you mean 'minSyncPeriod'?)",
    '--set replications=two: expected a number, found "two"',
    '--set seed: expected path=value, such as proxy.mode=ipvs, found "seed"',
  ]);
});

test('every bad exclude: entry is reported', () => {
  const swept = HEAD + 'proxy: { mode: "${mode}" }\nsweep: { mode: [iptables, nftables] }\n';
  assert.deepEqual(lines(swept + 'exclude: [{ mdoe: iptables }, { mode: nftable }, 3]\n'), [
    "case.yaml:7:13: exclude[0].mdoe: expected a sweep parameter (mode), found 'mdoe' (did you mean 'mode'?)",
    `case.yaml:7:39: exclude[1].mode: expected a value of sweep.mode ("iptables", "nftables"), found "nftable" (did you mean 'nftables'?)`,
    'case.yaml:7:50: exclude[2]: expected a mapping of sweep parameters to values, such as { mode: userspace }, found 3',
  ]);
});

test('a missing manifests file and a missing calibration file are both reported', () => {
  const dir = mkdtempSync(join(tmpdir(), 'svcsim-problems-'));
  const file = join(dir, 's.yaml');
  writeFileSync(file, 'name: t\nquestion: q\ncluster: { manifests: cluster.yaml }\ncosts: { calibration: host.json }\n');
  assert.throws(
    () => loadScenario(file),
    (e: unknown) =>
      e instanceof InputErrorList &&
      e.message ===
        `${file}:3:23: cluster.manifests: expected a path to Kubernetes manifests (relative to the scenario file), found "cluster.yaml": no such file\n` +
          `${file}:4:23: costs.calibration: expected a path to a calibration file (relative to the scenario file), found "host.json": no such file`,
  );
});

test('charts, expect lines and answers: every mistake, in file order', () => {
  const study =
    HEAD.replace('count: 10', 'count: "${services}"') +
    `sweep: { services: [10, 20] }
expect:
  - firstPaketLatency.p99 < 1ms
charts:
  - { title: A, x: services, y: firstPacketLatency.p99 }
  - { title: B, x: servics, y: firstPacketLatency.p99 }
answer:
  - { say: S, rank: { y: syncDuraton.p50, by: services } }
`;
  const got = lines(study, {}, precheckStudy);
  assert.equal(got.length, 3);
  assert.match(got[0]!, /^case\.yaml:7:5: expect\[0\], column 1 of the line: .*"firstPaketLatency\.p99"/);
  assert.match(got[1]!, /^case\.yaml:10:20: charts\[1\]\.x: expected a sweep parameter \(services, time\), found "servics"/);
  assert.match(got[2]!, /^case\.yaml:12:\d+: answer\[0\]\.rank\.y: expected a metric the runs measure/);
});
