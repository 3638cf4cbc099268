import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InputError } from '../io/input-error.ts';
import { SECOND } from '../engine/time.ts';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadScenario, loadScenarioText } from './load.ts';
import { modelConfig, runPoint } from './run-point.ts';
import { runModel } from '../run/run-model.ts';

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

const MANIFESTS = `apiVersion: v1
kind: Node
metadata: { name: worker-a }
---
apiVersion: v1
kind: Node
metadata: { name: worker-b }
---
apiVersion: v1
kind: Service
metadata: { name: web, namespace: shop }
spec:
  clusterIP: 10.96.0.20
  POLICY
  ports: [{ name: http, port: 80, targetPort: 8080 }, { name: admin, port: 81, targetPort: 9090 }]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: web-1, namespace: shop, labels: { kubernetes.io/service-name: web } }
addressType: IPv4
endpoints:
  - { addresses: [10.244.1.5], nodeName: worker-a }
  - { addresses: [10.244.1.6], nodeName: worker-a }
ports: [{ name: http, port: 8080, protocol: TCP }, { name: admin, port: 9090, protocol: TCP }]
---
apiVersion: v1
kind: Service
metadata: { name: db, namespace: shop }
spec:
  clusterIP: 10.96.0.21
  POLICY
  ports: [{ name: pg, port: 5432 }]
EXTRA`;

/** A scenario file next to a manifests file in a fresh folder; returns the model config of its point. */
function fromManifests(policy = '', extra = '', scenarioExtra = '') {
  const dir = mkdtempSync(join(tmpdir(), 'svcsim-manifests-'));
  writeFileSync(join(dir, 'cluster.yaml'), MANIFESTS.replaceAll('POLICY', policy).replace('EXTRA', extra));
  const file = join(dir, 'study.yaml');
  writeFileSync(file, `name: t\nquestion: q\nduration: 3s\nwarmup: 1s\ncluster: { manifests: cluster.yaml }\ntraffic: { connectionsPerSecond: 300 }\n${scenarioExtra}`);
  const point = loadScenario(file).points[0]!;
  return { input: { scenario: point.scenario, point: point.params, replication: 0, seed: 1 }, dir };
}

test('a cluster from manifests: its ClusterIP service ports, endpoints and nodes, static', () => {
  const { input, dir } = fromManifests();
  try {
    const c = modelConfig(input);
    assert.equal(c.cluster.services, 3, 'web:http, web:admin, db:pg');
    assert.equal(c.cluster.nodes, 2);
    assert.deepEqual(c.cluster.manifest!.endpoints.map((l) => l.map((e) => e.endpoint)), [[], ['10.244.1.5:9090', '10.244.1.6:9090'], ['10.244.1.5:8080', '10.244.1.6:8080']]);
    const m = runPoint(input).metrics;
    // db has no endpoints: its third of the connections is rejected.
    const total = m['connections.total']!;
    assert.ok(m['connections.refused']! > 0.25 * total && m['connections.refused']! < 0.42 * total, `${m['connections.refused']} of ${total}`);
    assert.equal(m['connections.ok']! + m['connections.refused']!, total);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('manifests: Local Services drop clients on nodes without their pods; Services that differ in policy run each with its own', () => {
  const local = fromManifests('internalTrafficPolicy: Local');
  try {
    const m = runPoint(local.input).metrics;
    assert.ok(m['drops.no_local_endpoints']! > 0, 'clients on worker-b have no local web pod');
  } finally {
    rmSync(local.dir, { recursive: true });
  }
  // Churn runs the manifests live; with no Deployment in them there is nothing to churn.
  const churn = fromManifests('', '', 'churn: [{ kind: pod-kill, every: 10s, ratePerMinute: 1 }]\n');
  try {
    assert.ok(modelConfig(churn.input).cluster.manifest!.live, 'churn makes the cluster live');
    assert.throws(() => runPoint(churn.input), (e: unknown) => e instanceof InputError && e.where === 'churn[0]' && /Deployments/.test(e.message));
  } finally {
    rmSync(churn.dir, { recursive: true });
  }
  // A sticky Service beside the others: no refusal; its port alone has affinity in the run.
  const mixed = fromManifests('', '---\napiVersion: v1\nkind: Service\nmetadata: { name: sticky }\nspec: { clusterIP: 10.96.0.30, sessionAffinity: ClientIP, ports: [{ port: 80 }] }\n');
  try {
    const c = modelConfig(mixed.input);
    assert.equal(c.cluster.manifest!.perService, true);
    assert.deepEqual(c.cluster.manifest!.ports.map((p) => p.sessionAffinity), ['ClientIP', 'None', 'None', 'None']);
    assert.ok(runPoint(mixed.input).metrics['connections.total']! > 0);
  } finally {
    rmSync(mixed.dir, { recursive: true });
  }
});

test('kube-proxy settings a run cannot honour are refused, naming the field; the defaults pass', () => {
  const proxyRefused = (proxy: string, field: string) =>
    assert.throws(() => configOf('', `proxy: { ${proxy} }\n`), (e: unknown) => e instanceof InputError && e.where === field && e.exitCode === 2, field);
  assert.doesNotThrow(() => configOf('', 'proxy: { mode: ipvs, ipvsScheduler: rr, masqueradeAll: false, masqueradeBit: 14 }\n'));
  proxyRefused('mode: ipvs, ipvsScheduler: wlc', 'proxy.ipvsScheduler');
  proxyRefused('masqueradeAll: true', 'proxy.masqueradeAll');
  proxyRefused('masqueradeBit: 15', 'proxy.masqueradeBit');
});

test('the schema accepts the IPVS schedulers render accepts, and no others', () => {
  assert.throws(() => configOf('', 'proxy: { mode: ipvs, ipvsScheduler: lblc }\n'), /ipvsScheduler/);
});

test('proxy.syncFailureProbability reaches the agents (default 0)', () => {
  assert.equal(configOf('').proxy.syncFailureProbability, 0);
  assert.equal(configOf('', 'proxy: { syncFailureProbability: 0.25 }\n').proxy.syncFailureProbability, 0.25);
  assert.throws(() => configOf('', 'proxy: { syncFailureProbability: 1.5 }\n'), /syncFailureProbability/);
  for (const mode of ['ebpf', 'userspace'])
    assert.throws(() => configOf('', `proxy: { mode: ${mode}, syncFailureProbability: 0.25 }\n`), (e: unknown) => e instanceof InputError && e.where === 'proxy.syncFailureProbability', mode);
  assert.equal(configOf('', 'proxy: { mode: ebpf }\n').proxy.syncFailureProbability, 0);
});

test('traffic.services: weights per Service over its ports reach the model and steer the connections', () => {
  const c = configOf(', ports: 2', 'traffic: { connectionsPerSecond: 2000, services: { default/svc-0: 3, default/svc-2: 1 } }\n');
  assert.deepEqual(c.traffic.serviceWeights, [1.5, 1.5, 0, 0, 0.5, 0.5]);
  assert.equal(configOf('').traffic.serviceWeights, undefined, 'uniform without the field');
  const perService = [0, 0, 0];
  runModel(c, { connection: (_node, service) => perService[Math.floor(service / 2)]!++ });
  const total = perService[0]! + perService[1]! + perService[2]!;
  assert.equal(perService[1], 0, 'svc-1 is not listed');
  assert.ok(Math.abs(perService[0]! / total - 0.75) < 0.05, `svc-0 got ${perService[0]} of ${total}`);
  const wrong = (extra: string, where: string) => assert.throws(() => configOf('', extra), (e: unknown) => e instanceof InputError && e.where.endsWith(where), where);
  wrong('traffic: { services: { shop/web: 1 } }\n', 'traffic.services.shop/web');
  wrong('traffic: { services: { default/svc-0: 0 } }\n', 'traffic.services');
  wrong('traffic: { services: { default/svc-0: 1 }, targetServices: 2 }\n', 'traffic.services');
});

test('traffic.sourceNodes by name: clients only on those nodes; unknown names exit 2', () => {
  const c = configOf('', 'traffic: { connectionsPerSecond: 1000, sourceNodes: [node-1] }\n');
  assert.deepEqual([c.traffic.sourceNodes, c.traffic.sourceNodeIndexes], [1, [1]]);
  const nodes = new Set<number>();
  runModel(c, { connection: (node) => nodes.add(node) });
  assert.deepEqual([...nodes], [1]);
  assert.throws(() => configOf('', 'traffic: { sourceNodes: [node-1, worker-9] }\n'), (e: unknown) => e instanceof InputError && e.where === 'traffic.sourceNodes[1]' && /node-0, node-1/.test(e.message));
});
