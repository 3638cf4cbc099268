import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InputError } from '../../engine/input-error.ts';
import { SECOND } from '../../engine/time.ts';
import { loadScenarioText } from '../load.ts';
import { modelConfig } from './run-point.ts';

/** The model's config for a one-point scenario whose cluster.services carry `services` (YAML flow text). */
function configOf(services: string, extra = '') {
  const text = `name: t\nquestion: q\nduration: 2s\nwarmup: 1s\ncluster:\n  nodes: 2\n  services: { count: 3, endpointsPerService: 2${services} }\n${extra}`;
  const point = loadScenarioText(text, 'run-point-test.yaml').points[0]!;
  return modelConfig({ scenario: point.scenario, point: point.params, replication: 0, seed: 1 });
}

function refused(services: string, field: string) {
  assert.throws(() => configOf(services), (e: unknown) => e instanceof InputError && e.where === field, field);
}

test('sessionAffinity ClientIP reaches the model with its timeout (default 10800 s)', () => {
  assert.equal(configOf('').cluster.sessionAffinity, 'None');
  const c = configOf(', sessionAffinity: ClientIP');
  assert.equal(c.cluster.sessionAffinity, 'ClientIP');
  assert.equal(c.cluster.sessionAffinityTimeoutNs, 10800 * SECOND);
  assert.equal(configOf(', sessionAffinity: ClientIP, sessionAffinityTimeout: 30s').cluster.sessionAffinityTimeoutNs, 30 * SECOND);
});

test('an affinity timeout Kubernetes would not accept is refused, naming the field', () => {
  refused(', sessionAffinity: ClientIP, sessionAffinityTimeout: 1500ms', 'cluster.services.sessionAffinityTimeout');
  refused(', sessionAffinity: ClientIP, sessionAffinityTimeout: 25h', 'cluster.services.sessionAffinityTimeout');
});

test('ports per Service reach the model', () => {
  assert.equal(configOf('').cluster.portsPerService, 1);
  assert.equal(configOf(', ports: 3').cluster.portsPerService, 3);
});

test('internalTrafficPolicy Local reaches the model, except with the userspace proxy, which never had it', () => {
  assert.equal(configOf('').cluster.trafficPolicy, 'Cluster');
  assert.equal(configOf(', trafficPolicy: Local').cluster.trafficPolicy, 'Local');
  assert.throws(() => configOf(', trafficPolicy: Local', 'proxy: { mode: userspace }\n'), (e: unknown) => e instanceof InputError && e.where === 'cluster.services.trafficPolicy');
});
