import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SECOND } from '../engine/time.ts';
import { InputError } from '../io/input-error.ts';
import { loadScenarioText } from './load.ts';
import { modelConfig } from './run-point.ts';

const HEAD = `name: t
question: q
cluster:
  services: { count: 10, endpointsPerService: 2 }
`;

function churnOf(text: string) {
  const point = loadScenarioText(HEAD + text, 'case.yaml').points[0]!;
  return modelConfig({ scenario: point.scenario, point: point.params, replication: 0, seed: 1 }).churn;
}

function rejects(text: string, message: string): void {
  assert.throws(
    () => loadScenarioText(HEAD + text, 'case.yaml'),
    (e: unknown) => {
      assert.ok(e instanceof InputError, `not an InputError: ${String(e)}`);
      assert.equal(e.exitCode, 2);
      assert.equal(e.message, message);
      return true;
    },
  );
}

test('a node-drain entry maps its delays, count and grace onto the run', () => {
  const [c] = churnOf('churn:\n  - { kind: node-drain, every: 2m, count: 3, taintAfter: 5s, evictAfter: 10s, deleteAfter: 90s, terminationGracePeriod: 45s }\n');
  assert.deepEqual(
    { kind: c!.kind, every: c!.every, count: c!.count, taintAfter: c!.taintAfter, evictAfter: c!.evictAfter, deleteAfter: c!.deleteAfter, grace: c!.terminationGracePeriod },
    { kind: 'node-drain', every: 120 * SECOND, count: 3, taintAfter: 5 * SECOND, evictAfter: 10 * SECOND, deleteAfter: 90 * SECOND, grace: 45 * SECOND },
  );
});

test('a node-drain entry without delays leaves them to the drainer, and other kinds carry no drain fields', () => {
  const [drain] = churnOf('churn:\n  - { kind: node-drain }\n');
  for (const f of ['count', 'taintAfter', 'evictAfter', 'deleteAfter'] as const) assert.equal(f in drain!, false, f);
  const [kill] = churnOf('churn:\n  - { kind: pod-kill, ratePerMinute: 1 }\n');
  assert.equal('deleteAfter' in kill!, false);
});

test('drain fields on another kind, and bad values, are refused with the field', () => {
  rejects('churn:\n  - { kind: pod-kill, ratePerMinute: 1, deleteAfter: 10s }\n', 'case.yaml:6:54: churn[0].deleteAfter: expected deleteAfter only with kind node-drain (this entry is pod-kill)');
  assert.throws(() => loadScenarioText(HEAD + 'churn:\n  - { kind: node-drain, count: 0 }\n', 'case.yaml'), (e: unknown) => e instanceof InputError && /churn\[0\]\.count/.test(e.message));
  assert.throws(() => loadScenarioText(HEAD + 'churn:\n  - { kind: node-drain, taintAfter: soon }\n', 'case.yaml'), (e: unknown) => e instanceof InputError && /churn\[0\]\.taintAfter/.test(e.message));
  assert.throws(() => loadScenarioText(HEAD + 'churn:\n  - { kind: node-dran }\n', 'case.yaml'), (e: unknown) => e instanceof InputError && /node-drain/.test(e.message));
});

test('churn deployments and selector: parsed onto the run, refused on kinds that do not read them', () => {
  const [roll, kill] = churnOf('churn:\n  - { kind: rolling-update, deployments: [default/svc-1, default/svc-2] }\n  - { kind: pod-kill, ratePerMinute: 1, selector: "app=svc-1,tier=web" }\n');
  assert.deepEqual(roll!.deployments, ['default/svc-1', 'default/svc-2']);
  assert.deepEqual(kill!.selector, { app: 'svc-1', tier: 'web' });
  assert.deepEqual(churnOf('churn:\n  - { kind: container-crash, ratePerMinute: 1, selector: { app: svc-0 } }\n')[0]!.selector, { app: 'svc-0' });
  // A synthetic cluster keeps the study's rollout defaults.
  assert.deepEqual([roll!.maxSurge, roll!.maxUnavailable, roll!.terminationGracePeriod], ['25%', '25%', 30 * SECOND]);
  rejects('churn:\n  - { kind: node-drain, deployments: [default/svc-1] }\n', 'case.yaml:6:38: churn[0].deployments: expected deployments only with kind rolling-update, scale, pod-kill, container-crash (this entry is node-drain)');
  rejects('churn:\n  - { kind: rolling-update, selector: { app: a } }\n', 'case.yaml:6:39: churn[0].selector: expected selector only with kind pod-kill or container-crash (this entry is rolling-update)');
  assert.throws(() => loadScenarioText(HEAD + 'churn:\n  - { kind: scale, deployments: [svc-1] }\n', 'case.yaml'), (e: unknown) => e instanceof InputError && /churn\[0\]\.deployments\[0\].*NAMESPACE\/NAME/.test(e.message));
  assert.throws(() => loadScenarioText(HEAD + 'churn:\n  - { kind: pod-kill, ratePerMinute: 1, selector: "app" }\n', 'case.yaml'), (e: unknown) => e instanceof InputError && /churn\[0\]\.selector/.test(e.message));
});
