import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isInputError } from '../io/input-error.ts';
import { loadScenarioText } from './load.ts';
import { runStudy, type ProgressSink } from './runner.ts';

/** The runner against testing/deterministic-model.ts: a pure function of (seed, point, replication). */
const MODEL = new URL('./testing/deterministic-model.ts', import.meta.url).href;

const STUDY = `
name: runner-test
question: Does the runner place results by run index whatever the pool does?
replications: 3
duration: 3s
cluster: { nodes: 2, services: { count: "\${services}", endpointsPerService: 2 } }
proxy: { mode: "\${mode}" }
sweep:
  mode: [iptables, nftables]
  services: [10, 100, 1000]
`;

function load(text: string) {
  return loadScenarioText(text, 'runner-test.yaml');
}

test('results are identical with --jobs 1 and --jobs 2', async () => {
  const loaded = load(STUDY);
  const one = await runStudy(loaded, { jobs: 1, modelUrl: MODEL });
  const two = await runStudy(loaded, { jobs: 2, modelUrl: MODEL });
  assert.equal(one.partial, false);
  assert.equal(one.runs.length, 2 * 3 * 3);
  assert.deepEqual(
    one.runs.map((r) => r.spec.index),
    one.runs.map((_, i) => i),
  );
  assert.equal(JSON.stringify(one), JSON.stringify(two));
  // Replications really differ (distinct seeds), so the equality above is not trivially true.
  const p99 = one.runs.slice(0, 3).map((r) => r.result.metrics['firstPacketLatency.p99']);
  assert.equal(new Set(p99).size, 3);
});

test('an abort stops the study and keeps the runs that finished, marked partial', { timeout: 120_000 }, async () => {
  // Runs of the second point block for 10 minutes each: the abort after the first point's runs must
  // not wait for them (if it did, the test would hit its timeout).
  const loaded = load(`
name: interrupted
question: Are finished runs kept when the study is stopped?
assumptions: "each run of the slow point blocks for \${sleepMs} ms"
replications: 2
cluster: { services: { count: 10, endpointsPerService: 1 } }
sweep:
  sleepMs: [0, 600000]
`);
  const controller = new AbortController();
  const progress: ProgressSink = {
    start() {},
    runDone(done) {
      if (done === 2) controller.abort();
    },
    stop() {},
  };
  const study = await runStudy(loaded, { jobs: 2, modelUrl: MODEL, signal: controller.signal, progress });
  assert.equal(study.partial, true);
  assert.equal(study.planned, 4);
  assert.deepEqual(
    study.runs.map((r) => r.spec.index),
    [0, 1],
  );
});

test('an abort before the start runs nothing', async () => {
  const loaded = load(STUDY);
  const study = await runStudy(loaded, { jobs: 2, modelUrl: MODEL, signal: AbortSignal.abort() });
  assert.equal(study.partial, true);
  assert.equal(study.runs.length, 0);
});

test('an InputError thrown in a worker reaches the caller as the same InputError', async () => {
  const loaded = load(`
name: refused
question: Does a model's refusal keep its message?
assumptions: "\${fail}"
replications: 1
cluster: { services: { count: 10, endpointsPerService: 1 } }
proxy: { mode: ipvs }
sweep:
  fail: [none, input]
`);
  await assert.rejects(runStudy(loaded, { jobs: 2, modelUrl: MODEL }), (e: unknown) => {
    assert.ok(isInputError(e));
    assert.equal(e.message, 'proxy.mode: expected a mode this model simulates, found "ipvs" (on purpose)');
    return true;
  });
});

test('several InputErrors a model throws as one list reach the caller, every problem', async () => {
  const loaded = load(`
name: refused
question: Does a model's refusal keep all its problems?
assumptions: "\${fail}"
replications: 1
cluster: { services: { count: 10, endpointsPerService: 1 } }
proxy: { mode: ipvs }
sweep:
  fail: [inputs]
`);
  await assert.rejects(runStudy(loaded, { jobs: 1, modelUrl: MODEL }), (e: unknown) => {
    assert.ok(isInputError(e));
    assert.equal(e.message, 'proxy.mode: expected a mode this model simulates, found "ipvs"\ncluster.nodes: expected at most 2 nodes, found 3');
    return true;
  });
});

test('a bug in the model fails the study with the run named', async () => {
  const loaded = load(`
name: bug
question: Is a model bug reported as one?
assumptions: "\${fail}"
replications: 1
cluster: { services: { count: 10, endpointsPerService: 1 } }
sweep:
  fail: [bug]
`);
  await assert.rejects(runStudy(loaded, { jobs: 1, modelUrl: MODEL }), /run 0 failed in the model:\nError: model bug on purpose/);
});
