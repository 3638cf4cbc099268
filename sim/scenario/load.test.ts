import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputError } from '../io/input-error.ts';
import { MS, SECOND } from '../engine/time.ts';
import { loadScenario, loadScenarioText, type LoadOptions } from './load.ts';

/** Scenario loading: each user mistake is one InputError at file:line:col; sweeps expand as documented. */
const HEAD = `name: t
question: q
cluster:
  services: { count: 10, endpointsPerService: 2 }
`;

function rejects(text: string, message: string, opts: LoadOptions = {}): void {
  assert.throws(
    () => loadScenarioText(text, 'case.yaml', opts),
    (e: unknown) => {
      assert.ok(e instanceof InputError, `not an InputError: ${String(e)}`);
      assert.equal(e.exitCode, 2);
      assert.equal(e.message, message);
      return true;
    },
  );
}

test('a value of the wrong type names the field, where it is, and what was found', () => {
  rejects(HEAD + 'replications: three\n', 'case.yaml:5:15: replications: expected a number, found "three"');
});

test('an unknown key is reported where it is written, with the fields allowed and a did-you-mean hint', () => {
  rejects(
    HEAD + 'proxy:\n  mode: ipvs\n  minSyncPeriood: 1s\n',
    "case.yaml:7:3: proxy.minSyncPeriood: expected a field of proxy: mode, minSyncPeriod, syncPeriod, syncFailureProbability, iptablesBackend, ipvsScheduler, masqueradeAll, masqueradeBit, conntrack, found unknown field 'minSyncPeriood' (did you mean 'minSyncPeriod'?)",
  );
});

test('a duration without a unit, or with a word for a unit, is refused with an example', () => {
  rejects(HEAD + 'duration: 30\n', 'case.yaml:5:11: duration: expected a duration with a unit (ns, us, ms, s, m, h), such as "250ms", found 30 (add a unit, e.g. "30ms" or "30s")');
  rejects(HEAD + 'warmup: 2 seconds\n', 'case.yaml:5:9: warmup: expected a duration with a unit (ns, us, ms, s, m, h), such as "250ms", found "2 seconds"');
});

test('a proxy mode that does not exist lists the modes and suggests the nearest', () => {
  rejects(HEAD + 'proxy: { mode: iptable }\n', "case.yaml:5:16: proxy.mode: expected one of iptables, ipvs, nftables, ebpf, userspace, found \"iptable\" (did you mean 'iptables'?)");
});

test('a bad value reached through ${param} is reported at the sweep value that carries it', () => {
  rejects(
    HEAD + 'proxy: { mode: "${mode}" }\nsweep: { mode: [iptables, nftabels] }\n',
    "case.yaml:6:27: sweep.mode[1] (mode = \"nftabels\", used at proxy.mode): expected one of iptables, ipvs, nftables, ebpf, userspace, found \"nftabels\" (did you mean 'nftables'?)",
  );
});

test('a reference to a parameter the sweep does not have, and a parameter nothing references', () => {
  rejects(HEAD + 'proxy: { mode: "${mdoe}" }\nsweep: { mode: [iptables] }\n', "case.yaml:5:16: proxy.mode: expected a sweep parameter (mode), found ${mdoe} (did you mean 'mode'?)");
  rejects(
    HEAD + 'sweep: { mode: [iptables] }\n',
    'case.yaml:5:10: sweep.mode: expected a reference to ${mode} in some field, since every sweep parameter changes the scenario, found no reference (write "${mode}" where the value goes, or remove the parameter)',
  );
});

test('a file that does not exist, and text that is not YAML', () => {
  const missing = join(tmpdir(), 'svcsim-no-such-dir', 'nope.yaml');
  assert.throws(() => loadScenario(missing), (e: unknown) => e instanceof InputError && e.message === `${missing}: expected a readable file, found no such file`);
  rejects('name: [unclosed\n', 'case.yaml:2:1: expected valid YAML, found Flow sequence in block collection must be sufficiently indented and end with a ]');
});

test('a --set flag is checked against the schema and named in errors', () => {
  rejects(HEAD, "--set proxy.minSyncPerod=2s: expected a field of proxy (mode, minSyncPeriod, syncPeriod, syncFailureProbability, iptablesBackend, ipvsScheduler, masqueradeAll, masqueradeBit, conntrack), found 'minSyncPerod' (did you mean 'minSyncPeriod'?)", {
    set: ['proxy.minSyncPerod=2s'],
  });
  rejects(HEAD, '--set proxy.minSyncPeriod=2: expected a duration with a unit (ns, us, ms, s, m, h), such as "250ms", found "2" (add a unit, e.g. "2ms")', { set: ['proxy.minSyncPeriod=2'] });
  const ok = loadScenarioText(HEAD, 'case.yaml', { set: ['proxy.minSyncPeriod=250ms', 'proxy.mode=ipvs'] });
  assert.equal(ok.points[0]!.scenario.proxy.minSyncPeriod, 250 * MS);
  assert.equal(ok.points[0]!.scenario.proxy.mode, 'ipvs');
});

const SWEPT =
  HEAD.replace('count: 10', 'count: "${services}"') +
  `proxy: { mode: "\${mode}" }
replications: 2
sweep:
  mode: [iptables, nftables, userspace]
  services: [100, 1000, 50000]
`;

test('the grid is the product of the parameters, the first declared varying slowest', () => {
  const l = loadScenarioText(SWEPT, 'case.yaml');
  assert.deepEqual(
    l.points.map((p) => `${p.params.mode}/${p.params.services}`),
    ['iptables/100', 'iptables/1000', 'iptables/50000', 'nftables/100', 'nftables/1000', 'nftables/50000', 'userspace/100', 'userspace/1000', 'userspace/50000'],
  );
  // The whole-field reference keeps the value's type: the count is a number.
  assert.equal(l.points[4]!.scenario.cluster.services!.count, 1000);
  assert.equal(l.points[4]!.scenario.proxy.mode, 'nftables');
  assert.equal(l.replications, 2);
  assert.equal(l.excluded, 0);
});

test('exclude: drops the grid points matching every parameter of an entry', () => {
  const l = loadScenarioText(SWEPT + 'exclude:\n  - { mode: userspace, services: [1000, 50000] }\n', 'case.yaml');
  assert.equal(l.excluded, 2);
  assert.deepEqual(
    l.points.map((p) => `${p.params.mode}/${p.params.services}`),
    ['iptables/100', 'iptables/1000', 'iptables/50000', 'nftables/100', 'nftables/1000', 'nftables/50000', 'userspace/100'],
  );
  assert.deepEqual(
    l.points.map((p) => p.index),
    [0, 1, 2, 3, 4, 5, 6],
  );
});

test('exclude: entries must name sweep parameters and their values', () => {
  rejects(SWEPT + 'exclude: [{ mdoe: userspace }]\n', "case.yaml:10:13: exclude[0].mdoe: expected a sweep parameter (mode, services), found 'mdoe' (did you mean 'mode'?)");
  rejects(
    SWEPT + 'exclude: [{ mode: userspce }]\n',
    "case.yaml:10:19: exclude[0].mode: expected a value of sweep.mode (\"iptables\", \"nftables\", \"userspace\"), found \"userspce\" (did you mean 'userspace'?)",
  );
  rejects(SWEPT + 'exclude: [{ mode: [iptables, nftables, userspace] }]\n', 'case.yaml:10:10: exclude: expected exclusions that leave some sweep point to run, found all 9 excluded');
});

test('a sweep reduced by --set may leave out values an exclusion names', () => {
  const l = loadScenarioText(SWEPT + 'exclude: [{ mode: userspace, services: [1000, 50000] }]\n', 'case.yaml', { set: ['sweep.services=[100,1000]'] });
  assert.deepEqual(
    l.points.map((p) => `${p.params.mode}/${p.params.services}`),
    ['iptables/100', 'iptables/1000', 'nftables/100', 'nftables/1000', 'userspace/100'],
  );
});

test('--quick applies the quick: block; --seed and --replications override the file', () => {
  const text =
    SWEPT +
    `duration: 2m
quick:
  replications: 1
  duration: 5s
  sweep: { services: [100] }
  set: { proxy.minSyncPeriod: 100ms }
exclude: [{ mode: userspace, services: 50000 }]
`;
  const full = loadScenarioText(text, 'case.yaml');
  assert.equal(full.points.length, 8);
  assert.equal(full.points[0]!.scenario.duration, 120 * SECOND);
  const quick = loadScenarioText(text, 'case.yaml', { quick: true, seed: 7, replications: 4 });
  assert.equal(quick.quick, true);
  assert.deepEqual(
    quick.points.map((p) => `${p.params.mode}/${p.params.services}`),
    ['iptables/100', 'nftables/100', 'userspace/100'],
  );
  assert.equal(quick.points[0]!.scenario.duration, 5 * SECOND);
  assert.equal(quick.points[0]!.scenario.proxy.minSyncPeriod, 100 * MS);
  assert.equal(quick.replications, 4, '--replications wins over quick.replications');
  assert.equal(quick.seed, 7);
});

test('paths in a scenario are relative to its file, and a missing one is an error at the field', () => {
  const dir = mkdtempSync(join(tmpdir(), 'svcsim-load-'));
  const file = join(dir, 's.yaml');
  writeFileSync(file, 'name: t\nquestion: q\ncluster: { manifests: cluster.yaml }\n');
  assert.throws(() => loadScenario(file), (e: unknown) => e instanceof InputError && e.message === `${file}:3:23: cluster.manifests: expected a path to Kubernetes manifests (relative to the scenario file), found "cluster.yaml": no such file`);
  writeFileSync(join(dir, 'cluster.yaml'), 'apiVersion: v1\nkind: List\nitems: []\n');
  assert.equal(loadScenario(file).points[0]!.scenario.cluster.manifests, join(dir, 'cluster.yaml'));
});

test('placeOf names where a field is written, for mistakes found after loading', () => {
  const l = loadScenarioText(HEAD + 'expect:\n  - iptables.firstPacketLatency.p99 < 1ms\n', 'case.yaml');
  assert.equal(l.placeOf(['expect', 0]), 'case.yaml:6:5: expect[0]');
});

test('a container-crash churn entry needs a rate: without one it would never fire', () => {
  rejects(HEAD + 'churn:\n  - { kind: container-crash }\n', 'case.yaml:6:5: churn[0].ratePerMinute: expected ratePerMinute or fraction for container-crash (crashes per minute)');
  assert.doesNotThrow(() => loadScenarioText(HEAD + 'churn:\n  - { kind: container-crash, ratePerMinute: 5 }\n', 'case.yaml', {}));
});
