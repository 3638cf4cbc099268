import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runModel } from '../run/run-model.ts';
import { loadScenarioText } from './load.ts';
import { modelConfig } from './run-point.ts';

/**
 * dataPlane rules against the formula in runs with zones and per-Service policies: each node's
 * proxier is given its name and zone, so its rules hold the endpoints CategorizeEndpoints leaves it
 * (hints for its zone or node, its own under internalTrafficPolicy Local), and the walk must reach
 * the endpoint the run chose from its per-node list (NodeEndpoints) for every connection. A
 * shortened scenarios/topology.yaml cluster: 9 nodes in 3 zones (zone-a twice the CPU), 60 / 30 / 10%
 * of the clients, readiness flaps every second (metrics.programmingProbe) so nodes run partial syncs.
 */
function study(mode: string, services: string, extra = ''): string {
  return `
name: t
question: Does the walk agree with the formula?
seed: 3
duration: 4s
warmup: 1s
cluster:
  nodes: 9
  cpusPerNode: 4
  zones:
    - { name: zone-a, nodes: 3, cpusPerNode: 8, clients: 0.6 }
    - { name: zone-b, nodes: 3, clients: 0.3 }
    - { name: zone-c, nodes: 3, clients: 0.1 }
  services: { count: 12, ${services} }
proxy: { mode: ${mode} }
traffic: { connectionsPerSecond: 1000 }
${extra}`;
}

interface Connection {
  node: number;
  service: number;
  ep: number | null;
  outcome: string;
  now: number;
}

function run(text: string, dataPlane: 'formula' | 'rules') {
  const p = loadScenarioText(text, 'topology-agreement.yaml').points[0]!;
  const connections: Connection[] = [];
  const config = modelConfig({ scenario: { ...p.scenario, dataPlane }, point: p.params, replication: 0, seed: 3 });
  const out = runModel(config, { connection: (node, service, ep, outcome, now) => connections.push({ node, service, ep, outcome, now }) });
  return { connections, metrics: out.metrics };
}

const EQUAL = /^(connections|failedConnections|drops|affinity|crossZone|loadImbalance|topology)\.|^sim\.events$/;

/** Runs `text` both ways and requires the same connections, counts and topology figures, and first-packet costs within 1%. */
function agree(label: string, text: string) {
  const formula = run(text, 'formula');
  const rules = run(text, 'rules');
  assert.ok(formula.connections.length > 1500, `${label}: ${formula.connections.length} connections`);
  assert.deepEqual(rules.connections, formula.connections, `${label}: the same connections, endpoints and outcomes`);
  const equal = (m: Record<string, number>) => Object.fromEntries(Object.entries(m).filter(([k]) => EQUAL.test(k)));
  assert.deepEqual(equal(rules.metrics), equal(formula.metrics), `${label}: counts, crossZone and loadImbalance`);
  assert.ok(Object.keys(equal(formula.metrics)).some((k) => k.startsWith('crossZone.')), `${label}: a run with topology figures`);
  assert.equal(rules.metrics['dataPlane.walked'], 1, label);
  for (const stat of ['mean', 'p50', 'p99']) {
    const f = formula.metrics[`firstPacketLatency.${stat}`]!;
    const r = rules.metrics[`firstPacketLatency.${stat}`]!;
    assert.ok(Math.abs(r - f) <= 0.01 * f, `${label}: firstPacketLatency.${stat} ${r} (rules) vs ${f} (formula)`);
  }
  return formula.metrics;
}

for (const mode of ['iptables', 'nftables']) {
  test(`${mode}: PreferClose and PreferSameNode with skewed clients walk to the run's endpoints`, () => {
    const close = agree(`${mode} PreferClose`, study(mode, 'endpointsPerService: 6, trafficDistribution: PreferClose'));
    assert.equal(close['crossZone.rate'], 0, 'an endpoint in every zone keeps every connection in its zone');
    assert.ok(close['loadImbalance.mean']! > 1.2, `zone-a's clients load its endpoints: ${close['loadImbalance.mean']}`);
    const node = agree(`${mode} PreferSameNode`, study(mode, 'endpointsPerService: 12, trafficDistribution: PreferSameNode'));
    assert.equal(node['crossZone.rate'], 0);
  });

  test(`${mode}: topology-mode Auto with hints and without (too few endpoints for the zones)`, () => {
    const hinted = agree(`${mode} Auto 12`, study(mode, 'endpointsPerService: 12, topologyMode: Auto'));
    assert.equal(hinted['topology.fallbackRate'], 0);
    const fallback = agree(`${mode} Auto 2`, study(mode, 'endpointsPerService: 2, topologyMode: Auto'));
    assert.equal(fallback['topology.fallbackRate'], 1);
    assert.ok(fallback['crossZone.rate']! > 0.3, `cluster-wide routing crosses zones: ${fallback['crossZone.rate']}`);
  });

  test(`${mode}: a mix of ClientIP affinity, Local and PreferClose Services`, () => {
    const m = agree(`${mode} mix`, study(mode, 'endpointsPerService: 4, sessionAffinity: { ClientIP: 0.4 }, sessionAffinityTimeout: 30s, trafficPolicy: { Local: 0.3 }, trafficDistribution: { PreferClose: 0.5 }'));
    assert.ok(m['affinity.hits']! > 100, `affinity hits ${m['affinity.hits']}`);
    assert.ok(m['failedConnections.count']! > 0, 'clients of Local Services on nodes without an endpoint are dropped');
  });

  test(`${mode}: every Service Local in a cluster with zones drops where a node has no endpoint`, () => {
    const m = agree(`${mode} Local`, study(mode, 'endpointsPerService: 2, trafficPolicy: Local'));
    assert.ok(m['localPolicy.drops']! > 0, `drops ${m['localPolicy.drops']}`);
    assert.equal(m['crossZone.rate'], 0, 'a Local Service never leaves the node');
  });

  test(`${mode}: hints the EndpointSlice controller rewrites through a rolling update`, () => {
    const churn = 'churn: { kind: rolling-update, every: 1s }';
    const m = agree(`${mode} churn`, study(mode, 'endpointsPerService: 6, trafficDistribution: { PreferSameNode: 0.5, PreferClose: 0.5 }, trafficPolicy: { Local: 0.25 }, sessionAffinity: { ClientIP: 0.5 }', churn));
    assert.ok(m['topology.servicesWithHints']! > 0 && m['topology.fallbackConnections']! > 0, 'hinted routing and fallback while pods move');
  });
}
