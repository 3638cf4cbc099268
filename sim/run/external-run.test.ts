import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SECOND } from '../engine/time.ts';
import { runMain } from '../cli/testing/run-main.ts';
import { loadScenario, loadScenarioText } from '../scenario/load.ts';
import { modelConfig, runPoint } from '../scenario/run-point.ts';
import { runStudy } from '../scenario/runner.ts';
import { MODEL_URL } from '../scenario/run-point-contract.ts';
import { modelMetricNames, modelSeries } from './metric-names.ts';
import { runModel } from './run-model.ts';
import type { ExternalConnectionRecord } from './external-traffic.ts';

const BASE = `name: t\nquestion: q\nduration: 3s\nwarmup: 1s\ntraffic: { connectionsPerSecond: 50 }\n`;

function point(text: string, base = BASE) {
  const p = loadScenarioText(base + text, 'external-run-test.yaml').points[0]!;
  return { scenario: p.scenario, point: p.params, replication: 0, seed: 1 };
}

test('a run with external clients writes exactly the catalogued metric and series names', () => {
  const out = runPoint(point('cluster: { nodes: 3, services: { count: 4, endpointsPerService: 2, loadBalancer: 0.5, nodePort: 0.25 } }\nexternal: { connectionsPerSecond: 100 }\n'));
  assert.deepEqual(Object.keys(out.metrics).sort(), modelMetricNames({ churn: false, external: true }));
  assert.deepEqual([...new Set(out.timeseries.map((r) => r.series))].sort(), [...modelSeries({ churn: false, external: true })].sort());
  assert.ok(out.metrics['external.connections.total']! > 50);
});

test('Service types without external clients, or none at all, leave the config without north-south fields', () => {
  const plain = modelConfig(point('cluster: { nodes: 2, services: { count: 3, endpointsPerService: 2 } }\n'));
  assert.equal(plain.cluster.serviceTypes, undefined);
  assert.equal(plain.external, undefined);
  const typed = modelConfig(point('cluster: { nodes: 2, services: { count: 4, endpointsPerService: 2, loadBalancer: 0.5, externalTrafficPolicy: Local } }\n'));
  assert.deepEqual(typed.cluster.serviceTypes, { nodePort: 0, loadBalancer: 0.5, externalIPs: 0, externalTrafficPolicy: 'Local', loadBalancerSourceRanges: [] });
  assert.equal(typed.external, undefined);
});

test('a node drain behind the gcp load balancer (eTP Cluster): the drained node gets no new connection from 3 failed /healthz probes on', () => {
  const config = modelConfig(
    point(
      'duration: 60s\nwarmup: 0s\ncluster: { nodes: 4, services: { count: 2, endpointsPerService: 4, loadBalancer: 1 } }\nexternal: { connectionsPerSecond: 200 }\nchurn: { kind: node-drain, start: 5s, every: 10m, count: 1, deleteAfter: 40s }\n',
      'name: t\nquestion: q\ntraffic: { connectionsPerSecond: 50 }\n',
    ),
  );
  const last = new Map<number, number>();
  runModel(config, { external: (r: ExternalConnectionRecord) => r.entry === 'loadBalancer' && r.node !== null && last.set(r.node, r.now) });
  const drained = [...last].filter(([, t]) => t < 50 * SECOND);
  assert.equal(drained.length, 1, `one node drained: ${JSON.stringify([...last])}`);
  const t = drained[0]![1];
  // Tainted at 5 s; gcp's shared check: 8 s interval, 3 failures.
  assert.ok(t >= 5 * SECOND + 16 * SECOND - SECOND && t <= 5 * SECOND + 24 * SECOND + SECOND, `last connection at ${t / SECOND} s`);
});

test('external results do not depend on --jobs', async () => {
  const text = `name: ext-jobs\nquestion: q\nreplications: 2\nduration: 6s\nwarmup: 1s\ncluster: { nodes: 5, services: { count: 4, endpointsPerService: 2, loadBalancer: 0.5, externalTrafficPolicy: "\${externalTrafficPolicy}" } }\ntraffic: { connectionsPerSecond: 20 }\nexternal: { connectionsPerSecond: 200, nodePortShare: 0.2 }\nchurn: { kind: rolling-update, every: 2s, fraction: 0.5 }\nsweep: { externalTrafficPolicy: [Cluster, Local] }\n`;
  const loaded = loadScenarioText(text, 'ext-jobs.yaml');
  const one = await runStudy(loaded, { jobs: 1, modelUrl: MODEL_URL });
  const two = await runStudy(loaded, { jobs: 2, modelUrl: MODEL_URL });
  assert.deepEqual(
    two.runs.map((r) => r.result),
    one.runs.map((r) => r.result),
  );
  assert.ok(one.runs.some((r) => r.result!.metrics['external.connections.dropped']! > 0), 'eTP Local drops some');
});

/** `svcsim scenario FILE` on `text`: the exit status and stderr. */
async function scenarioCli(text: string): Promise<{ code: number; err: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'svcsim-external-'));
  const file = join(dir, 's.yaml');
  writeFileSync(file, `name: bad\nquestion: q\nduration: 2s\n${text}`);
  try {
    const { code, err } = await runMain(['scenario', file, '--out', join(dir, 'out')]);
    return { code, err };
  } finally {
    rmSync(dir, { recursive: true });
  }
}

test('bad north-south fields exit 2 naming the field', async () => {
  const cases: [string, RegExp][] = [
    ['cluster: { services: { count: 2, endpointsPerService: 1, externalTrafficPolicy: Locl } }\n', /cluster\.services\.externalTrafficPolicy/],
    ['cluster: { services: { count: 2, endpointsPerService: 1, loadBalancer: 0.7, nodePort: 0.5 } }\n', /cluster\.services\.externalIPs.*at most 1/],
    ['cluster: { services: { count: 2, endpointsPerService: 1, loadBalancer: 1, loadBalancerSourceRanges: [10.0.0.0] } }\n', /cluster\.services\.loadBalancerSourceRanges\.0|loadBalancerSourceRanges\[0\]/],
    ['cluster: { services: { count: 2, endpointsPerService: 1, loadBalancer: 1 } }\nexternal: { connectionsPerSecond: 10, provider: gke }\n', /external\.provider/],
    ['cluster: { services: { count: 2, endpointsPerService: 1, loadBalancer: 1 } }\nexternal: { connectionsPerSecond: 0 }\n', /external\.connectionsPerSecond/],
    ['cluster: { services: { count: 2, endpointsPerService: 1 } }\nexternal: { connectionsPerSecond: 10 }\n', /external.*reachable from outside/],
    ['cluster: { services: { count: 2, endpointsPerService: 1, loadBalancer: 1 } }\nproxy: { mode: ebpf }\nexternal: { connectionsPerSecond: 10 }\n', /external.*iptables, nftables or ipvs/],
  ];
  for (const [text, field] of cases) {
    const { code, err } = await scenarioCli(text);
    assert.equal(code, 2, err);
    assert.match(err, field);
  }
});

const LB_MANIFESTS = `apiVersion: v1
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
  type: LoadBalancer
  clusterIP: 10.96.0.20
  externalTrafficPolicy: Local
  healthCheckNodePort: 32100
  ports: [{ name: http, port: 80, targetPort: 8080, nodePort: 30080 }]
status: { loadBalancer: { ingress: [{ ip: 203.0.113.10 }] } }
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: web-1, namespace: shop, labels: { kubernetes.io/service-name: web } }
addressType: IPv4
endpoints:
  - { addresses: [10.244.1.5], nodeName: worker-a }
ports: [{ name: http, port: 8080, protocol: TCP }]
`;

test('a LoadBalancer Service from manifests with eTP Local: after its health check, only the node with the endpoint gets connections', () => {
  const dir = mkdtempSync(join(tmpdir(), 'svcsim-external-manifests-'));
  try {
    writeFileSync(join(dir, 'cluster.yaml'), LB_MANIFESTS);
    writeFileSync(join(dir, 'study.yaml'), 'name: t\nquestion: q\nduration: 20s\nwarmup: 10s\ncluster: { manifests: cluster.yaml }\ntraffic: { connectionsPerSecond: 10 }\nexternal: { connectionsPerSecond: 100 }\n');
    const p = loadScenario(join(dir, 'study.yaml')).points[0]!;
    const config = modelConfig({ scenario: p.scenario, point: p.params, replication: 0, seed: 1 });
    const nodes = new Set<number>();
    const m = runModel(config, { external: (r) => r.now >= 10 * SECOND && r.node !== null && nodes.add(r.node) }).metrics;
    assert.deepEqual([...nodes], [config.cluster.manifest!.nodeNames.indexOf('worker-a')]);
    assert.equal(m['external.connections.ok'], m['external.connections.total']);
    assert.equal(m['external.clientIPPreserved.rate'], 1);
  } finally {
    rmSync(dir, { recursive: true });
  }
});
