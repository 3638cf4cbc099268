import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { InputError } from '../io/input-error.ts';
import { runScenarioCommand, type ScenarioFlags, type ScenarioIo } from './scenario.ts';

/**
 * `svcsim scenario` end to end with the real model, on a study small enough for a unit test: the run
 * folder is complete, byte-identical whatever --jobs is, marked partial when interrupted; failing
 * expectations exit 1; bad input exits 2 and writes nothing.
 */
const CLI = fileURLToPath(new URL('../cli.ts', import.meta.url));

const TINY = `name: tiny
question: Does the front door write a complete run folder?
replications: 2
duration: 2s
warmup: 500ms
cluster:
  nodes: 2
  services: { count: "\${services}", endpointsPerService: 3 }
proxy: { mode: "\${mode}" }
traffic: { connectionsPerSecond: 50 }
sweep:
  mode: [iptables, nftables]
  services: [10, 30]
charts:
  - { title: First-packet latency p99, x: services, y: firstPacketLatency.p99, color: mode, xScale: log }
expect:
  - failedConnections.rate <= 1%
`;

function scratch(): string {
  return mkdtempSync(join(tmpdir(), 'svcsim-scenario-'));
}

function scenarioFile(dir: string, text: string, name = 'tiny.yaml'): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

function flags(f: Partial<ScenarioFlags>): ScenarioFlags {
  return { set: [], ...f };
}

/** Every file under dir, relative, sorted. */
function listFiles(dir: string): string[] {
  return (readdirSync(dir, { recursive: true, withFileTypes: true }) as import('node:fs').Dirent[])
    .filter((d) => d.isFile())
    .map((d) => join(d.parentPath, d.name).slice(dir.length + 1))
    .sort();
}

/** Streams that collect what the command prints (the test runner owns the real stdout). */
function capture(signal?: AbortSignal): ScenarioIo & { text: () => { out: string; err: string } } {
  let out = '';
  let err = '';
  const sink = (add: (s: string) => void) =>
    new Writable({
      write(chunk: Buffer | string, _enc, done) {
        add(String(chunk));
        done();
      },
    });
  return {
    out: sink((s) => (out += s)),
    err: sink((s) => (err += s)),
    ...(signal ? { signal } : {}),
    text: () => ({ out, err }),
  };
}

test('a run writes the whole run folder, byte-identical with --jobs 1 and --jobs 2', async () => {
  const dir = scratch();
  const file = scenarioFile(dir, TINY);
  const one = join(dir, 'one');
  const two = join(dir, 'two');
  assert.equal(await runScenarioCommand([file], flags({ out: one, jobs: '1', junit: join(dir, 'junit.xml') }), capture()), 0);
  assert.equal(await runScenarioCommand([file], flags({ out: two, jobs: '2' }), capture()), 0);
  const files = listFiles(one);
  const records = files.filter((f) => f.startsWith('records/'));
  assert.deepEqual(records.length, 1 + 2 * 2 * 2, 'records/study.json and a record per run');
  assert.deepEqual(files.filter((f) => !f.startsWith('records/')), [
    'charts/first-packet-latency-p99.png',
    'charts/first-packet-latency-p99.svg',
    'report.html',
    'report.md',
    'runs.csv',
    'summary.csv',
    'summary.json',
    'timeseries.csv',
  ]);
  assert.deepEqual(listFiles(two), files);
  for (const f of files) assert.ok(readFileSync(join(one, f)).equals(readFileSync(join(two, f))), `${f} differs between --jobs 1 and --jobs 2`);
  const runs = readFileSync(join(one, 'runs.csv'), 'utf8').trim().split('\n');
  assert.equal(runs.length, 1 + 2 * 2 * 2);
  assert.match(runs[0]!, /^mode,services,replication,seed,/);
  const summary = JSON.parse(readFileSync(join(one, 'summary.json'), 'utf8')) as { partial: boolean; seed: number };
  assert.equal(summary.partial, false);
  assert.match(readFileSync(join(dir, 'junit.xml'), 'utf8'), /<testsuite[^>]*failures="0"/);
});

test('an interrupted run still writes its folder, marked partial, and exits 130', async () => {
  const dir = scratch();
  const out = join(dir, 'out');
  const io = capture(AbortSignal.abort());
  const status = await runScenarioCommand([scenarioFile(dir, TINY)], flags({ out, jobs: '2' }), io);
  assert.match(io.text().out, /PARTIAL: interrupted after 0 of 8 runs/);
  assert.equal(status, 130);
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as { partial: boolean; runs: { finished: number } };
  assert.equal(summary.partial, true);
  assert.equal(summary.runs.finished, 0);
  assert.match(readFileSync(join(out, 'report.md'), 'utf8'), /interrupted/);
});

test('an expectation that does not hold exits 1', async () => {
  const dir = scratch();
  const file = scenarioFile(dir, TINY.replace('failedConnections.rate <= 1%', 'iptables.firstPacketLatency.p99 < 1ns'));
  const io = capture();
  assert.equal(await runScenarioCommand([file], flags({ out: join(dir, 'out'), jobs: '2', replications: '1' }), io), 1);
  assert.match(io.text().out, /expectations: 0 of 2 held\n  expect\[0\] iptables\.firstPacketLatency\.p99 < 1ns at mode=iptables services=10: FAILED, mean /);
  assert.doesNotMatch(io.text().out, /FAILED.*FAILED/, 'each failure says FAILED once');
});

test('mistakes in charts and expect lines are found before any run, at their line in the file', async () => {
  const dir = scratch();
  const out = join(dir, 'out');
  const badChart = scenarioFile(dir, TINY.replace('x: services, y: first', 'x: service, y: first'), 'chart.yaml');
  await assert.rejects(runScenarioCommand([badChart], flags({ out }), capture()), (e: unknown) => {
    assert.ok(e instanceof InputError);
    assert.match(e.message, /chart\.yaml:15:43: charts\[0\]\.x: expected a sweep parameter \(mode, services, time\), found "service"/);
    return true;
  });
  const badExpect = scenarioFile(dir, TINY.replace('failedConnections.rate <= 1%', 'failedConnections.rate ~ 1%'), 'expect.yaml');
  await assert.rejects(runScenarioCommand([badExpect], flags({ out }), capture()), (e: unknown) => e instanceof InputError && e.message.startsWith(`${badExpect}:17:5: expect[0], column 1 of the line: `));
  assert.equal(existsSync(out), false);
});

test("the model's refusal of a setting stops the study as an InputError, with nothing written", async () => {
  const dir = scratch();
  const out = join(dir, 'out');
  // The stand-in model refuses the points whose `fail` parameter is `input`.
  const text = TINY.replace('sweep:\n', 'sweep:\n  fail: [none, input]\n') + 'assumptions: "\${fail}"\n';
  const file = scenarioFile(dir, text, 'refused.yaml');
  const io = { ...capture(), modelUrl: new URL('../scenario/testing/deterministic-model.ts', import.meta.url).href };
  await assert.rejects(runScenarioCommand([file], flags({ out, jobs: '2' }), io), (e: unknown) => {
    assert.ok(e instanceof InputError);
    assert.equal(e.exitCode, 2);
    assert.equal(e.message, 'proxy.mode: expected a mode this model simulates, found "iptables" (on purpose)');
    return true;
  });
  assert.equal(existsSync(out), false);
});

test('several files with --out get a folder each, named after the study', async () => {
  const dir = scratch();
  const small = TINY.replace('services: [10, 30]', 'services: [10]');
  const a = scenarioFile(dir, small, 'a.yaml');
  const b = scenarioFile(dir, small.replace('name: tiny', 'name: tiny-two'), 'b.yaml');
  const io = capture();
  assert.equal(await runScenarioCommand([a, b], flags({ out: join(dir, 'out'), replications: '1', jobs: '2' }), io), 0);
  assert.ok(existsSync(join(dir, 'out', 'tiny', 'report.html')));
  assert.ok(existsSync(join(dir, 'out', 'tiny-two', 'report.html')));
  assert.match(io.text().out, /tiny: [^]*tiny-two: /);
});

test('bad flags are InputErrors naming the flag', async () => {
  const dir = scratch();
  const file = scenarioFile(dir, TINY);
  await assert.rejects(runScenarioCommand([file], flags({ jobs: '0' })), { message: '--jobs: expected a whole number, at least 1, found "0"' });
  await assert.rejects(runScenarioCommand([file], flags({ seed: '-3' })), { message: '--seed: expected a whole number (0 or more), found "-3"' });
  await assert.rejects(runScenarioCommand([file, file], flags({ junit: 'j.xml' })), { message: '--junit: expected one scenario file (the JUnit file holds one study), found 2 files' });
  await assert.rejects(runScenarioCommand([file, file], flags({})), /expected scenarios with distinct names/);
});

test('the command: bad input exits 2 with one message and nothing written; a good run prints the report path', () => {
  const dir = scratch();
  const out = join(dir, 'out');
  const run = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', CLI, 'scenario', ...args], { encoding: 'utf8', env: { ...process.env, CI: 'true' } });

  const bad = run(scenarioFile(dir, TINY.replace('duration: 2s', 'duration: 2'), 'bad.yaml'), '--out', out);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^svcsim: .*bad\.yaml:4:11: duration: expected a duration with a unit/);
  assert.doesNotMatch(bad.stderr, /\n\s+at /, 'no stack trace for a user mistake');
  // A misspelt metric is found before the first run: exit 2, no run started, nothing written.
  const metric = run(scenarioFile(dir, TINY.replace('y: firstPacketLatency.p99', 'y: firstPaketLatency.p99'), 'metric.yaml'), '--out', out);
  assert.equal(metric.status, 2);
  assert.match(metric.stderr, /^svcsim: .*metric\.yaml:15:56: charts\[0\]\.y: expected a metric the runs measure \(a column of runs\.csv\), found "firstPaketLatency\.p99" \(did you mean firstPacketLatency\.p99\?\)\n$/);
  assert.doesNotMatch(metric.stderr, /run \d+\/\d+/);
  const missing = run(join(dir, 'missing.yaml'), '--out', out);
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /missing\.yaml: expected a readable file, found no such file/);
  assert.equal(existsSync(out), false);

  const good = run(scenarioFile(dir, TINY), '--out', out, '--replications', '1', '--jobs', '2');
  assert.equal(good.status, 0, good.stderr);
  assert.match(good.stderr, /tiny: run 4\/4 done/);
  assert.match(good.stdout, /report: .*report\.html/);
  assert.match(good.stdout, /mode=nftables services=30/);
  assert.ok(existsSync(join(out, 'report.html')));
});

test('svcsim schema prints the JSON Schema of scenario files', () => {
  const res = spawnSync(process.execPath, ['--import', 'tsx', CLI, 'schema'], { encoding: 'utf8' });
  assert.equal(res.status, 0, res.stderr);
  const schema = JSON.parse(res.stdout) as { $schema: string; properties: Record<string, unknown>; required: string[]; additionalProperties: boolean };
  assert.match(schema.$schema, /json-schema\.org/);
  assert.ok(['name', 'question', 'cluster', 'sweep', 'exclude', 'charts', 'expect'].every((k) => k in schema.properties));
  assert.deepEqual(schema.required.sort(), ['cluster', 'name', 'question']);
  assert.equal(schema.additionalProperties, false);
});

test('the command: several mistakes, in one file or in several, are all on stderr; exit 2 and nothing written', () => {
  const dir = scratch();
  const out = join(dir, 'out');
  const run = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', CLI, 'scenario', ...args], { encoding: 'utf8', env: { ...process.env, CI: 'true' } });
  const quickstart = readFileSync(fileURLToPath(new URL('../../scenarios/quickstart.yaml', import.meta.url)), 'utf8');
  const three = scenarioFile(
    dir,
    quickstart.replace('\nduration: 20s\n', '\nduration: 30 parsecs\n').replace('\nreplications: 3\n', '\nreplications: -1\n').replace('\n  minSyncPeriod: 1s\n', '\n  minSyncPerod: 1s\n'),
    'quickstart.yaml',
  );
  const r = run(three, '--out', out);
  assert.equal(r.status, 2);
  assert.equal(
    r.stderr,
    `svcsim: ${three}:13:15: replications: expected a number above 0, found -1\n` +
      `${three}:14:11: duration: expected a duration with a unit (ns, us, ms, s, m, h), such as "250ms", found "30 parsecs"\n` +
      `${three}:21:3: proxy.minSyncPerod: expected a field of proxy: mode, minSyncPeriod, syncPeriod, syncFailureProbability, iptablesBackend, ipvsScheduler, masqueradeAll, masqueradeBit, conntrack, found unknown field 'minSyncPerod' (did you mean 'minSyncPeriod'?)\n`,
  );
  assert.equal(r.stdout, '');
  assert.equal(existsSync(out), false);

  // A file that loads but names a metric the runs do not write, and a file that does not load: both.
  const metric = scenarioFile(dir, TINY.replace('y: firstPacketLatency.p99', 'y: firstPaketLatency.p99'), 'metric.yaml');
  const both = run(metric, three, '--out', out, '--seed', 'x', '--jobs', '0');
  assert.equal(both.status, 2);
  assert.deepEqual(both.stderr.split('\n'), ['svcsim: --jobs: expected a whole number, at least 1, found "0"', '--seed: expected a whole number (0 or more), found "x"', '']);
  const files = run(metric, three, '--out', out);
  assert.equal(files.status, 2);
  const lines = files.stderr.split('\n');
  assert.equal(lines.length, 5);
  assert.match(lines[0]!, /^svcsim: .*metric\.yaml:15:56: charts\[0\]\.y: expected a metric/);
  assert.match(lines[1]!, /quickstart\.yaml:13:15: replications/);
  assert.equal(existsSync(out), false);
});
