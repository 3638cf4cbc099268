import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InputError } from '../io/input-error.ts';
import { loadScenarioText } from './load.ts';
import { modelConfig } from './run-point.ts';

/** The model's config of a one-point scenario with `dataPlane` and the given extra YAML. */
function configOf(dataPlane: string, services = '', extra = '') {
  const text = `name: t\nquestion: q\nduration: 2s\nwarmup: 1s\ndataPlane: ${dataPlane}\ncluster:\n  nodes: 2\n  services: { count: 3, endpointsPerService: 2${services} }\n${extra}`;
  const point = loadScenarioText(text, 'data-plane-test.yaml').points[0]!;
  return modelConfig({ scenario: point.scenario, point: point.params, replication: 0, seed: 1 });
}

function refused(run: () => unknown, found: RegExp) {
  assert.throws(run, (e: unknown) => e instanceof InputError && e.where === 'dataPlane' && e.exitCode === 2 && found.test(e.message), String(found));
}

test('dataPlane: formula leaves the config as it was; rules sets it', () => {
  assert.equal(configOf('formula').dataPlane, undefined);
  assert.equal(configOf('rules').dataPlane, 'rules');
  const { dataPlane: _, ...rest } = configOf('rules');
  assert.deepEqual(rest, configOf('formula'));
});

test('dataPlane: rules refuses what the walk does not cover, naming the field', () => {
  refused(() => configOf('rules', '', 'dns: {}\n'), /dns/);
  refused(() => configOf('rules', ', loadBalancer: 1'), /loadBalancer/);
  refused(() => configOf('rules', ', nodePort: 0.5', 'external: { connectionsPerSecond: 10 }\n'), /with external set/);
});

test('dataPlane: rules refuses more than 5000 service ports', () => {
  const big = () => {
    const text = 'name: t\nquestion: q\nduration: 2s\nwarmup: 1s\ndataPlane: rules\ncluster:\n  nodes: 2\n  clusterCIDR: 10.128.0.0/9\n  services: { count: 2600, endpointsPerService: 1, ports: 2 }\n';
    const point = loadScenarioText(text, 'data-plane-test.yaml').points[0]!;
    return modelConfig({ scenario: point.scenario, point: point.params, replication: 0, seed: 1 });
  };
  refused(big, /5200 service ports/);
});

test('an unknown dataPlane is refused by the schema with the choices', () => {
  assert.throws(() => configOf('walk'), (e: unknown) => e instanceof InputError && /formula/.test(e.message) && /rules/.test(e.message) && /walk/.test(e.message));
});
