import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadScenario } from '../scenario/load.ts';
import { modelConfig, runPoint } from '../scenario/run-point.ts';

/** A static cluster from manifests: zones from the Nodes' labels, each Service with its own policy, the slices' hints. */
const MANIFESTS = `apiVersion: v1
kind: Node
metadata: { name: worker-a, labels: { topology.kubernetes.io/zone: zone-a } }
status: { allocatable: { cpu: "4" } }
---
apiVersion: v1
kind: Node
metadata: { name: worker-b, labels: { topology.kubernetes.io/zone: zone-b } }
status: { allocatable: { cpu: 3500m } }
---
apiVersion: v1
kind: Service
metadata: { name: web, namespace: shop }
spec: { clusterIP: 10.96.0.20, trafficDistribution: PreferClose, ports: [{ name: http, port: 80, targetPort: 8080 }] }
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: web-1, namespace: shop, labels: { kubernetes.io/service-name: web } }
addressType: IPv4
endpoints:
  - { addresses: [10.244.1.5], nodeName: worker-a, zone: zone-a, hints: { forZones: [{ name: zone-a }] } }
  - { addresses: [10.244.2.5], nodeName: worker-b, zone: zone-b, hints: { forZones: [{ name: zone-b }] } }
ports: [{ name: http, port: 8080, protocol: TCP }]
---
apiVersion: v1
kind: Service
metadata: { name: db, namespace: shop }
spec: { clusterIP: 10.96.0.21, internalTrafficPolicy: Local, ports: [{ name: pg, port: 5432 }] }
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: db-1, namespace: shop, labels: { kubernetes.io/service-name: db } }
addressType: IPv4
endpoints:
  - { addresses: [10.244.1.9], nodeName: worker-a, zone: zone-a }
ports: [{ name: pg, port: 5432, protocol: TCP }]
`;

test('manifests: zones from node labels, hints from the slices, a Local Service beside a PreferClose one', () => {
  const dir = mkdtempSync(join(tmpdir(), 'svcsim-topology-'));
  try {
    writeFileSync(join(dir, 'cluster.yaml'), MANIFESTS);
    const file = join(dir, 'study.yaml');
    writeFileSync(file, 'name: t\nquestion: q\nduration: 4s\nwarmup: 1s\nmetrics: { programmingProbe: 0s }\ncluster: { manifests: cluster.yaml }\ntraffic: { connectionsPerSecond: 400 }\n');
    const point = loadScenario(file).points[0]!;
    const input = { scenario: point.scenario, point: point.params, replication: 0, seed: 1 };
    const c = modelConfig(input).cluster;
    assert.deepEqual(c.zones!.nodeZones, ['zone-a', 'zone-b']);
    assert.deepEqual(c.zones!.nodeCpuMilli, [4000, 3500]);
    assert.equal(c.manifest!.perService, true);
    assert.deepEqual(c.manifest!.topology, ['none', 'PreferClose']);
    const m = runPoint(input).metrics;
    // web stays in each client's zone; db is served on worker-a only, so worker-b's clients are dropped.
    assert.equal(m['crossZone.rate'], 0);
    assert.ok(m['localPolicy.drops']! > 0);
    assert.ok(Math.abs(m['localPolicy.dropRate']! - 0.5) < 0.1, String(m['localPolicy.dropRate']));
    assert.equal(m['topology.fallbackConnections'], 0);
  } finally {
    rmSync(dir, { recursive: true });
  }
});
