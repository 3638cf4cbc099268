import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InputError } from '../io/input-error.ts';
import { loadScenarioText } from './load.ts';
import { modelConfig } from './run-point.ts';
import { SECOND } from '../engine/time.ts';
import { topologyAssumptions } from './run-point-topology.ts';

/** Zones and policy mixes: what a study says reaches the model; a mistake is refused with its place (exit 2). */
function configOf(cluster: string, extra = '') {
  const point = loadScenarioText(`name: t\nquestion: q\ncluster:\n${cluster}\n${extra}`, 'topology.yaml').points[0]!;
  return modelConfig({ scenario: point.scenario, point: point.params, replication: 0, seed: 1 });
}

function refused(cluster: string, where: RegExp, what: RegExp, extra = ''): void {
  assert.throws(
    () => configOf(cluster, extra),
    (e: unknown) => {
      assert.ok(e instanceof InputError, String(e));
      assert.equal(e.exitCode, 2);
      assert.match(e.message, where);
      assert.match(e.message, what);
      return true;
    },
  );
}

const SERVICES = '  services: { count: 4, endpointsPerService: 3 }';

test('zones: nodes numbered zone by zone, the rest of cluster.nodes shared, CPU and shares per node', () => {
  const c = configOf(`  nodes: 6\n  cpusPerNode: 8\n  zones: [{ name: a, nodes: 3, cpusPerNode: 2, clients: 0.5 }, { name: b }, { name: c }]\n${SERVICES}`).cluster;
  assert.deepEqual(c.zones!.nodeZones, ['a', 'a', 'a', 'b', 'b', 'c']);
  assert.deepEqual(c.zones!.nodeCpuMilli, [2000, 2000, 2000, 8000, 8000, 8000]);
  // Zone a has half the clients; b and c share the other half by their nodes (2 and 1).
  assert.deepEqual(c.zones!.clientWeights!.map((w) => Math.round(w * 1e6) / 1e6), [0.166667, 0.166667, 0.166667, 0.166667, 0.166667, 0.166667]);
  // Each Service's pods spread over the zones by their nodes (3, 2, 1).
  assert.deepEqual(c.zones!.endpointShares, [3 / 6, 2 / 6, 1 / 6]);
  assert.equal(c.policies, undefined, 'no policy: Services alike');
});

test('policy fields: one value keeps the single-valued config; shares give each Service its own, in index order', () => {
  const one = configOf(`  nodes: 2\n  services: { count: 4, endpointsPerService: 2, sessionAffinity: ClientIP, trafficPolicy: Local }`).cluster;
  assert.equal(one.sessionAffinity, 'ClientIP');
  assert.equal(one.trafficPolicy, 'Local');
  assert.equal(one.policies, undefined);
  const mix = configOf(`  nodes: 2\n  zones: [{ name: a }, { name: b }]\n  services: { count: 4, endpointsPerService: 2, sessionAffinity: { ClientIP: 0.25 }, sessionAffinityTimeout: 60s, trafficPolicy: { Local: "50%" }, trafficDistribution: { PreferClose: 0.5, PreferSameNode: 0.25 }, topologyMode: { Auto: 0.25 } }`).cluster;
  assert.equal(mix.sessionAffinity, 'None');
  assert.deepEqual(
    mix.policies!.map((p) => [p.affinitySeconds, p.internalLocal, p.topology]),
    [
      [60, true, 'Auto'],
      [0, true, 'PreferClose'],
      [0, false, 'PreferSameNode'],
      [0, false, 'none'],
    ],
  );
  assert.equal(mix.sessionAffinityTimeoutNs, 60 * SECOND);
});

test('connectSetup uses the cluster\'s zones; a different connectSetup.zones contradicts them', () => {
  const c = configOf(`  nodes: 3\n  zones: [{ name: a, nodes: 2 }, { name: b }]\n${SERVICES}`);
  assert.deepEqual(c.connectSetup!.nodeZones, ['a', 'a', 'b']);
  assert.deepEqual(configOf(`  nodes: 3\n  zones: [{ name: a, nodes: 2 }, { name: b }]\n${SERVICES}`, 'connectSetup: { zones: 2 }\n').connectSetup!.nodeZones, ['a', 'a', 'b']);
  refused(`  nodes: 3\n  zones: [{ name: a, nodes: 2 }, { name: b }]\n${SERVICES}`, /connectSetup\.zones/, /number of zones/, 'connectSetup: { zones: 3 }\n');
});

test('bad zones are refused with their place', () => {
  refused(`  nodes: 3\n  zones: [{ name: a, nodes: 2 }, { name: b, nodes: 2 }]\n${SERVICES}`, /topology\.yaml:5:\d+/, /add up to cluster\.nodes \(3\)/);
  refused(`  nodes: 2\n  zones: [{ name: a }, { name: a }]\n${SERVICES}`, /zones\[1\]\.name|topology\.yaml:5/, /not used before/);
  refused(`  nodes: 2\n  zones: [{ name: a, nodes: 2 }, { name: b }]\n${SERVICES}`, /topology\.yaml:5/, /at least one node/);
  refused(`  nodes: 2\n  zones: [{ name: a, clients: 0.7 }, { name: b, clients: 0.7 }]\n${SERVICES}`, /topology\.yaml:5/, /clients shares adding up to 1/);
  refused(`  nodes: 2\n  zones: [{ name: a, endpoints: 1.5 }, { name: b }]\n${SERVICES}`, /zones\[0\]\.endpoints/, /at most 1/);
  refused(`  nodes: 2\n  zones: []\n${SERVICES}`, /zones/, /at least 1/);
  refused(`  nodes: 2\n  zones: [{ name: a, clients: 0.5 }, { name: b }]\n${SERVICES}`, /zones\[0\]\.clients/, /traffic\.sourceNodes/, 'traffic: { sourceNodes: 1 }\n');
  refused(`  nodes: 2\n  zones: [{ name: a, endpoints: 0.5 }, { name: b }]\n${SERVICES}`, /zones\[0\]\.endpoints/, /scheduler/, 'churn: { kind: pod-kill, ratePerMinute: 1 }\n');
});

test('bad policy fields are refused with their place', () => {
  refused(`  nodes: 2\n  zones: [{ name: a }, { name: b }]\n  services: { count: 4, endpointsPerService: 2, trafficDistribution: PreferCloser }`, /trafficDistribution/, /PreferClose/);
  refused(`  nodes: 2\n  zones: [{ name: a }, { name: b }]\n  services: { count: 4, endpointsPerService: 2, trafficDistribution: { PreferClose: 0.6, PreferSameNode: 0.6 } }`, /trafficDistribution/, /at most 1/);
  refused(`  nodes: 2\n  services: { count: 4, endpointsPerService: 2, sessionAffinity: { ClientIP: 0.5 }, sessionAffinityTimeout: 1500ms }`, /sessionAffinityTimeout/, /whole seconds/);
  refused(`  nodes: 2\n  services: { count: 4, endpointsPerService: 2, trafficPolicy: { Local: 0.5 } }`, /trafficPolicy/, /userspace/, 'proxy: { mode: userspace }\n');
});

test('the report states the bytes model as an assumption when a study with zones leaves it out', () => {
  const points = (text: string) => loadScenarioText(`name: t\nquestion: q\ncluster:\n${text}`, 'topology.yaml').points;
  const zones = `  nodes: 2\n  zones: [{ name: a }, { name: b }]\n${SERVICES}\n`;
  assert.match(topologyAssumptions(points(zones)).join(''), /1024 bytes per request and 4096 per response/);
  assert.deepEqual(topologyAssumptions(points(`${zones}traffic: { requestBytes: 10, responseBytes: 20 }\n`)), []);
  assert.deepEqual(topologyAssumptions(points(`  nodes: 2\n${SERVICES}\n`)), [], 'no zones, no topology figures');
});
